"""Question 4: how long do ``import vpsorg_async`` and the ``vpsorg`` CLI take to start?

Bots and cron jobs start the library often, so its import is paid again and again. Each
statement below runs in fresh interpreters (after one warm-up run, so ``.pyc`` files exist),
the statements interleaved within each run:

- ``python -X importtime -c STATEMENT``: the sum of the cumulative times of the top-level import
  lines that interpreter start-up (``python -c pass``) does not have, median over the runs;
- wall clock of ``python -c STATEMENT`` minus ``python -c pass``, measured in pairs so
  interpreter start-up cancels out; and, when the CLI is installed, ``vpsorg --help``.

``import vpsorg_async`` alone may defer the HTTP stack (``Client`` imported lazily), so what a bot
really pays is measured too: ``from vpsorg_async import Client``. ``aiohttp`` and ``asyncio``
are references: a library that imports them cannot start faster.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ._harness import REPO, child_env, markdown_table, stats, target

__all__ = ["import_us", "markdown", "run"]

#: label -> statement; the references come last.
STATEMENTS = {
    "import vpsorg_async": "import vpsorg_async",
    "from vpsorg_async import Client": "from vpsorg_async import Client",
    "import vpsorg_async.cli": "import vpsorg_async.cli",
    "import aiohttp (reference)": "import aiohttp",
    "import asyncio (reference)": "import asyncio",
}
#: Statements held against the target (the issue's "import vpsorg_async", and what users write).
TARGETED = ("import vpsorg_async", "from vpsorg_async import Client")
WALL = ("import vpsorg_async", "from vpsorg_async import Client")
TARGET_MS = 250.0


def _top_level(stderr: str) -> dict[str, float]:
    """Top-level ``-X importtime`` lines: module -> cumulative µs."""
    found = {}
    for line in stderr.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3:
            name = parts[2].rstrip()
            if name.startswith(" ") and not name.startswith("  ") and parts[1].strip().isdigit():
                found[name.strip()] = float(parts[1])
    return found


def import_us(stderr: str, startup: set[str]) -> float:
    """Microseconds of imports in ``-X importtime`` output that start-up (``startup``) lacks."""
    return sum(us for module, us in _top_level(stderr).items() if module not in startup)


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=child_env(), capture_output=True, text=True
    )


def _importtime_ms(statement: str, startup: set[str]) -> float | None:
    proc = _python("-X", "importtime", "-c", statement)
    if proc.returncode != 0:
        return None
    return import_us(proc.stderr, startup) / 1000


def _wall_ms(cmd: list[str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=child_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return (time.perf_counter() - started) * 1000


def _cli_command() -> list[str] | None:
    script = Path(sys.executable).parent / "vpsorg"
    found = str(script) if script.exists() else shutil.which("vpsorg")
    if found is None or _python("-c", "from vpsorg_async.cli import main").returncode != 0:
        return None
    return [found, "--help"]


def run(*, quick: bool) -> dict[str, Any]:
    """Measure every statement (and the CLI's ``--help``) in fresh interpreters."""
    runs = 1 if quick else 11
    labels = list(TARGETED) if quick else list(STATEMENTS)
    startup = set(_top_level(_python("-X", "importtime", "-c", "pass").stderr))
    # The first run of each also compiles .pyc files; it is not counted.
    available = {label: _importtime_ms(STATEMENTS[label], startup) is not None for label in labels}
    importtime: dict[str, list[float]] = {label: [] for label in labels if available[label]}
    wall: dict[str, list[float]] = {label: [] for label in WALL if available.get(label)}
    bare: list[float] = []
    cli = None if quick else _cli_command()
    cli_ms: list[float] = []
    cli_error = None
    for _ in range(runs):
        for label in importtime:
            value = _importtime_ms(STATEMENTS[label], startup)
            if value is None:
                raise RuntimeError(f"{STATEMENTS[label]!r} stopped working during the run")
            importtime[label].append(value)
        empty = _wall_ms([sys.executable, "-c", "pass"])
        bare.append(empty)
        for label in wall:
            wall[label].append(_wall_ms([sys.executable, "-c", STATEMENTS[label]]) - empty)
        if cli is not None and cli_error is None:
            try:
                cli_ms.append(_wall_ms(cli))
            except RuntimeError as exc:  # a broken CLI is a finding; the imports still count
                cli_error = str(exc)
    result: dict[str, Any] = {
        "runs": runs,
        "importtime_ms": {label: stats(v) for label, v in importtime.items()},
        "unavailable": [label for label, ok in available.items() if not ok],
        "python_pass_wall_ms": stats(bare),
        "wall_minus_pass_ms": {label: stats(v) for label, v in wall.items()},
        "cli_help_wall_ms": stats(cli_ms) if cli_ms else None,
        "cli_help_error": cli_error,
    }
    result["targets"] = [
        target(
            label,
            f"< {TARGET_MS:.0f} ms",
            f"{result['importtime_ms'][label]['median']:.0f} ms (-X importtime; wall "
            f"{result['wall_minus_pass_ms'][label]['median']:.0f} ms over `python -c pass`)",
            result["importtime_ms"][label]["median"] < TARGET_MS,
            _note(label, result["importtime_ms"]),
        )
        for label in TARGETED
        if label in result["importtime_ms"]
    ]
    return result


def _note(label: str, figures: dict[str, dict[str, float]]) -> str:
    if label == "import vpsorg_async":
        return "the package only; Client and aiohttp load on first use"
    reference = figures.get("import aiohttp (reference)")
    if reference is None:
        return "what a bot pays: imports aiohttp"
    return f"what a bot pays; `import aiohttp` alone: {reference['median']:.0f} ms"


def markdown(result: dict[str, Any]) -> str:
    """The section of the report for this question."""
    rows = [
        [f"`-X importtime`: {label}", f"{s['median']:.0f}", f"{s['min']:.0f}-{s['max']:.0f}"]
        for label, s in result["importtime_ms"].items()
    ]
    rows += [
        [
            f"wall, minus `python -c pass`: {label}",
            f"{s['median']:.0f}",
            f"{s['min']:.0f}-{s['max']:.0f}",
        ]
        for label, s in result["wall_minus_pass_ms"].items()
    ]
    s = result["python_pass_wall_ms"]
    rows.append(["wall: `python -c pass`", f"{s['median']:.0f}", f"{s['min']:.0f}-{s['max']:.0f}"])
    if result["cli_help_wall_ms"] is not None:
        s = result["cli_help_wall_ms"]
        rows.append(
            ["wall: `vpsorg --help`", f"{s['median']:.0f}", f"{s['min']:.0f}-{s['max']:.0f}"]
        )
    text = markdown_table(["measure", "median ms", "min-max ms"], rows)
    if result["unavailable"]:
        text += f"\n\nNot importable in this checkout: {', '.join(result['unavailable'])}."
    if result.get("cli_help_error"):
        text += f"\n\n`vpsorg --help` failed: {result['cli_help_error'].splitlines()[-1]}"
    return text
