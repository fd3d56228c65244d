"""What every benchmark shares: child processes, loopback servers, statistics, machine facts, tables.

Each benchmark runs its server and its client in separate processes, so the two never share an
event loop or a core's worth of GIL. Both are started through this module's command line::

    python -m benchmarks._harness serve MODULE:FUNC '{"kwarg": ...}'         # prints url=... first
    python -m benchmarks._harness run   MODULE:FUNC '{"kwarg": ...}' OUT.json

``serve`` calls ``FUNC(**kwargs)``, which must print ``url=<base url> token=<token>`` as its first
line and serve until terminated. ``run`` calls ``FUNC(**kwargs)``, which returns a JSON-able dict;
the peak RSS of that child process (``ru_maxrss``) is added and the dict is written to ``OUT.json``.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

# the id the simulator gives its first server (cheap: no aiohttp, no simulator server code)
from vpsorg_async.testing._state import FIRST_ID as SIMULATOR_FIRST_ID

__all__ = [
    "REPO",
    "SIMULATOR_FIRST_ID",
    "ServerProcess",
    "admin",
    "child_env",
    "cpu_window",
    "current_rss_kib",
    "fmt",
    "machine_facts",
    "markdown_table",
    "peak_rss_kib",
    "run_child",
    "serve_simulator",
    "simulated_ids",
    "simulator",
    "stats",
    "target",
]

#: The repository root: children run there so ``benchmarks`` and ``vpsorg_async`` import.
REPO = Path(__file__).resolve().parent.parent
#: How long a server may take to print its first line (imports on a busy machine are slow).
SERVER_START_TIMEOUT = 60.0
#: Seconds to let a server exit on SIGTERM before it is killed.
SERVER_STOP_TIMEOUT = 5.0


def child_env() -> dict[str, str]:
    """The environment of every child: this one, with the repository importable first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("PYTHONWARNINGS", None)
    return env


# -- statistics ---------------------------------------------------------------------------------


def stats(samples: Sequence[float]) -> dict[str, float]:
    """Median, min, max and inter-quartile range of ``samples`` (at least one)."""
    if not samples:
        raise ValueError("no samples")
    values = sorted(samples)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return {
        "median": statistics.median(values),
        "min": values[0],
        "max": values[-1],
        "q1": q1,
        "q3": q3,
        "n": float(len(values)),
    }


def fmt(value: float, digits: int = 0) -> str:
    """A number with thousands separators and ``digits`` decimals."""
    return f"{value:,.{digits}f}"


def target(name: str, goal: str, value: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """One row of the targets table; ``met`` None means "not measured"."""
    return {"name": name, "goal": goal, "value": value, "met": met, "note": note}


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


# -- machine ------------------------------------------------------------------------------------


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux
        return []


def machine_facts() -> dict[str, Any]:
    """Cores, CPU model, Python and library versions, load and date of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not on Linux
        pass
    return {
        "date": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "versions": {
            name: _version(name)
            for name in ("vpsorg-async", "aiohttp", "httpx", "attrs", "cattrs", "yarl", "backoff")
        },
        "load_average_at_start": _load(),
    }


# -- child processes ----------------------------------------------------------------------------


def _resolve(spec: str) -> Callable[..., Any]:
    module, _, name = spec.partition(":")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


def run_child(spec: str, params: Mapping[str, Any], *, timeout: float) -> dict[str, Any]:
    """Run ``spec`` (``"module:function"``) with ``params`` in a fresh interpreter; return its dict.

    The dict gains ``ru_maxrss_kib`` (peak RSS of the child) and ``child_wall_s``.
    """
    with tempfile.TemporaryDirectory(prefix="vpsorg-bench-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            "-m",
            "benchmarks._harness",
            "run",
            spec,
            json.dumps(params),
            str(out),
        ]
        started = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0 or not out.exists():
            raise RuntimeError(
                f"benchmark child {spec} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
            )
        result: dict[str, Any] = json.loads(out.read_text())
        result["child_wall_s"] = time.perf_counter() - started
        return result


class ServerProcess:
    """A loopback server in its own process; use as a context manager.

    Attributes:
        url: the API base URL it printed (``http://127.0.0.1:PORT/api/v1``).
        token: the Bearer token it accepts.
        root: ``http://127.0.0.1:PORT``.
    """

    def __init__(self, spec: str, params: Mapping[str, Any] | None = None) -> None:
        """Prepare to run ``spec`` with ``params``; nothing starts until ``__enter__``."""
        self._cmd = [
            sys.executable,
            "-m",
            "benchmarks._harness",
            "serve",
            spec,
            json.dumps(dict(params or {})),
        ]
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="vpsorg-bench-server-")
        self.url = ""
        self.token = ""
        self.root = ""

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self._proc is not None
        return self._proc.pid

    def cpu_seconds(self) -> float:
        """User plus system CPU seconds the server has used so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def __enter__(self) -> ServerProcess:
        out_path = Path(self._tmp.name) / "stdout"
        err_path = Path(self._tmp.name) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            self._proc = subprocess.Popen(
                self._cmd, cwd=REPO, env=child_env(), stdout=out, stderr=err
            )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            first = out_path.read_text().split("\n", 1)
            if len(first) == 2 and first[0].startswith("url="):
                fields = dict(part.split("=", 1) for part in first[0].split())
                self.url, self.token = fields["url"], fields["token"]
                self.root = self.url.split("/api/", 1)[0]
                return self
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError(f"server {self._cmd[4]} did not start:\n{err_path.read_text()[-4000:]}")

    def __exit__(self, *exc_info: object) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(SERVER_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._tmp.cleanup()


@contextmanager
def cpu_window(server: ServerProcess) -> Iterator[dict[str, float]]:
    """Measure the server's CPU share over a ``with`` block (1.0 means one core fully busy)."""
    box: dict[str, float] = {}
    cpu0, wall0 = server.cpu_seconds(), time.perf_counter()
    yield box
    box["cpu_s"] = server.cpu_seconds() - cpu0
    box["wall_s"] = time.perf_counter() - wall0
    box["share"] = box["cpu_s"] / box["wall_s"] if box["wall_s"] else 0.0


def current_rss_kib() -> int:
    """This process's resident set size now, in KiB (Linux ``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kib() -> int:
    """This process's peak resident set size so far, in KiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def serve_simulator(
    *,
    stopped: int = 0,
    provisioning: int = 0,
    delays: dict[str, list[float]] | None = None,
    seed: int = 0,
) -> None:
    """Run the package's simulator with ``stopped`` + ``provisioning`` servers until terminated.

    ``delays`` maps a transition (``start``, ``provision``, ...) to its ``[min, max]`` seconds.
    Pagination is off, as in the API document's list answer (``{count, results}``).
    """
    import asyncio

    from vpsorg_async.testing import Delays, Simulator

    async def main() -> None:
        chosen = {kind: (float(low), float(high)) for kind, (low, high) in (delays or {}).items()}
        sim = Simulator(servers=0, seed=seed, delays=Delays(**chosen))
        for _ in range(stopped):
            sim.add_server(status="stopped")
        for _ in range(provisioning):
            sim.add_server(status="provisioning")
        async with sim:
            print(f"url={sim.url} token={sim.token}", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


def simulated_ids(count: int) -> list[int]:
    """The ids of the ``count`` servers ``serve_simulator`` makes: numbered up from the first."""
    return list(range(SIMULATOR_FIRST_ID, SIMULATOR_FIRST_ID + count))


def simulator(
    *, stopped: int = 0, provisioning: int = 0, delays: dict[str, list[float]] | None = None
) -> ServerProcess:
    """``serve_simulator`` in its own process; use as a context manager (see ``ServerProcess``)."""
    params = {"stopped": stopped, "provisioning": provisioning, "delays": delays}
    return ServerProcess("benchmarks._harness:serve_simulator", params)


def admin(server: ServerProcess, method: str, route: str) -> dict[str, Any]:
    """Call a simulator admin route (``/_sim/...``) from the parent; the JSON answer or {}."""
    import urllib.request

    request = urllib.request.Request(
        server.root + route, method=method, headers={"Authorization": f"Bearer {server.token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        body = resp.read()
    return json.loads(body) if body else {}


def _main(argv: Sequence[str]) -> int:
    if len(argv) < 3 or argv[0] not in ("serve", "run"):
        print(__doc__, file=sys.stderr)
        return 2
    func = _resolve(argv[1])
    params = json.loads(argv[2])
    if argv[0] == "serve":
        # SIGTERM ends the server like Ctrl+C would, so asyncio.run cleans up.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with suppress(KeyboardInterrupt):
            func(**params)
        return 0
    result = dict(func(**params))
    result["ru_maxrss_kib"] = peak_rss_kib()
    Path(argv[3]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
