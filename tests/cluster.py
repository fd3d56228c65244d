"""The cluster run: 4 OS processes, one simulator process, one real Redis, one fleet in shards.

Every worker (``tests/cluster_worker.py``) stops its shard of the fleet and starts it again,
waiting through the shared board. The simulator enforces a per-token rate limit; the cluster's
budget is below it. From the simulator's ledger (every request with its wall time) and the
workers' reports, a run yields :class:`Figures`; ``tests/test_cluster.py`` asserts on them at CI
size, and ``make cluster-soak`` (``python -m tests.cluster``) prints them at full size.

Scenarios: ``kill_leader`` SIGKILLs the process holding the board's lease once the waits are
underway, times the takeover from Redis, and starts a replacement on the killed shard (as a
Kubernetes Job restarts a pod); ``stop_redis`` stops Redis mid-run (every process finishes on
its own sweeps) and starts it again a second later. :func:`run_creates` has every worker
create the same names at once.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import redis as syncredis

sys.path.insert(0, str(Path(__file__).resolve().parent))  # as ``python -m tests.cluster`` too
from redis_server import RedisServer

WORKER = str(Path(__file__).resolve().parent / "cluster_worker.py")
#: Page size of a sweep (``SWEEP_PAGE_SIZE``): a sweep of N servers is ceil(N / 1000) pages.
SWEEP_PAGE = 1000


@attrs.frozen
class Figures:
    """What one cluster run measured."""

    servers: int
    workers: int
    wall_s: float
    requests: int
    requests_per_server: float
    list_requests: int
    sweeps: int
    #: most list requests in any window of 0.9 tick; a sweep's pages when one process sweeps
    list_per_tick_max: int
    sweep_pages: int
    throttled: int
    #: most requests in any 1-second window
    busiest_second: int
    fallbacks: int
    takeover_s: float | None
    all_active: bool
    failed: dict[str, str]
    shared_pacer: bool


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _most_within(times: list[float], window: float) -> int:
    """The most events of ``times`` (sorted) in any half-open window of ``window`` seconds."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


class Cluster:
    """A simulator process and a Redis, and the workers run against them."""

    def __init__(self, *, servers: int, rate: float, tick: float, delay_scale: float) -> None:
        self.servers, self.rate, self.tick = servers, rate, tick
        self._dir = tempfile.TemporaryDirectory(prefix="vpsorg-cluster-")
        self.redis = RedisServer()
        sim_limit = rate * 1.25  # the provider's limit, above the cluster's budget
        self._sim = subprocess.Popen(
            [
                sys.executable, "-m", "vpsorg_async.testing", "--port", "0",
                "--servers", str(servers), "--delay-scale", str(delay_scale),
                "--rate-limit", str(sim_limit),
            ],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self._sim.stdout is not None
        first = self._sim.stdout.readline().split()
        fields = dict(part.split("=", 1) for part in first)
        self.url, self.token = fields["url"], fields["token"]
        parts = urllib.parse.urlsplit(self.url)
        self.root = f"{parts.scheme}://{parts.netloc}"  # where the admin routes are
        self.redis.start()

    def close(self) -> None:
        self._sim.send_signal(signal.SIGTERM)
        self._sim.communicate(timeout=10)
        self.redis.__exit__(None, None, None)  # stopped, its directory removed
        self._dir.cleanup()

    def ids(self) -> list[int]:
        found: list[int] = []
        url: str | None = f"{self.url}/servers/?page_size=1000"
        while url:
            page = _get(url, self.token)
            found += [server["id"] for server in page["results"]]
            url = page.get("next")
        return found

    def ledger(self) -> dict[str, Any]:
        return dict(_get(f"{self.root}/_sim/ledger?times=1", self.token))

    def by_status(self) -> dict[str, int]:
        return dict(_get(f"{self.root}/_sim/state", self.token)["by_status"])

    def reset_ledger(self) -> None:
        request = urllib.request.Request(
            f"{self.root}/_sim/reset-ledger",
            method="POST",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        urllib.request.urlopen(request, timeout=30).close()

    def worker(self, namespace: str, workers: int, *extra: str) -> subprocess.Popen[str]:
        args = [
            sys.executable, WORKER, "--url", self.url, "--token", self.token,
            "--redis", self.redis.url, "--namespace", namespace, "--tick", str(self.tick),
            "--rate", str(self.rate), "--workers", str(workers), "--shared", *extra,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        return subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)

    def shard_file(self, ids: list[int], index: int, count: int) -> str:
        # a simple stable rule until fleet.shard exists: the id modulo the count
        path = Path(self._dir.name) / f"shard-{index}-of-{count}.txt"
        path.write_text("\n".join(str(i) for i in ids if i % count == index))
        return str(path)


@contextmanager
def cluster(
    *, servers: int, rate: float = 200.0, tick: float = 0.2, delay_scale: float = 1.0
) -> Iterator[Cluster]:
    """A running :class:`Cluster`, stopped afterwards."""
    running = Cluster(servers=servers, rate=rate, tick=tick, delay_scale=delay_scale)
    try:
        yield running
    finally:
        running.close()


def _report(proc: subprocess.Popen[str], timeout: float) -> dict[str, Any] | None:
    out, _ = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        return None
    report: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return report


def _wait_for_sweeps(redis: syncredis.Redis, namespace: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if redis.get(f"vpsorg:{namespace}:watch:swept") is not None:
            return
        time.sleep(0.01)
    raise RuntimeError("no sweep on the board")


def run_cycle(
    c: Cluster,
    *,
    workers: int = 4,
    namespace: str = "cycle",
    kill_leader: bool = False,
    stop_redis: bool = False,
    timeout: float = 300.0,
) -> Figures:
    """Every worker stops and starts its shard; measure it (see the module docstring)."""
    ids = c.ids()
    c.reset_ledger()
    shards = [c.shard_file(ids, i, workers) for i in range(workers)]
    began = time.time()
    procs = [c.worker(namespace, workers, "--job", "cycle", "--ids", s) for s in shards]
    lease_key = f"vpsorg:{namespace}:watch:lease"
    takeover_s = None
    redis = syncredis.Redis.from_url(c.redis.url, decode_responses=True)
    deadline = time.monotonic() + timeout
    if kill_leader:
        _wait_for_sweeps(redis, namespace, deadline)
        holder = str(redis.get(lease_key))
        pid = int(holder.split(":")[1])
        index = next(i for i, p in enumerate(procs) if p.pid == pid)
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while redis.get(lease_key) in (None, holder):
            if time.monotonic() > deadline:
                raise RuntimeError("nobody took the lease over")
            time.sleep(0.002)
        takeover_s = time.monotonic() - killed_at
        procs[index].communicate()  # reaped, its pipe closed
        procs[index] = c.worker(namespace, workers, "--job", "cycle", "--ids", shards[index])
    if stop_redis:
        _wait_for_sweeps(redis, namespace, deadline)
        c.redis.stop()
        time.sleep(1.0)
        c.redis.start()
    redis.close()
    reports = [_report(p, max(deadline - time.monotonic(), 1)) for p in procs]
    wall = time.time() - began
    return _figures(c, reports, ids, workers, wall, takeover_s)


def _figures(
    c: Cluster,
    reports: list[dict[str, Any] | None],
    ids: list[int],
    workers: int,
    wall: float,
    takeover_s: float | None,
) -> Figures:
    ledger = c.ledger()
    times = ledger["times"]
    lists = sorted(t for t, endpoint, _ in times if endpoint == "list_servers")
    failed: dict[str, str] = {}
    for n, report in enumerate(reports):
        if report is None:
            failed[f"worker {n}"] = "exited with an error"
        else:
            failed.update(report["failed"])
    ok = [r for r in reports if r is not None]
    return Figures(
        servers=len(ids),
        workers=workers,
        wall_s=round(wall, 2),
        requests=ledger["total"],
        requests_per_server=round(ledger["total"] / len(ids), 2),
        list_requests=len(lists),
        sweeps=sum(r["sweeps"] for r in ok),
        list_per_tick_max=_most_within(lists, 0.9 * c.tick),
        sweep_pages=math.ceil(len(ids) / SWEEP_PAGE),
        throttled=sum(n for e in ledger["requests"].values() for s, n in e.items() if s == "429"),
        busiest_second=_most_within(sorted(t for t, _, _ in times), 1.0),
        fallbacks=sum(r["fallbacks"] for r in ok),
        takeover_s=None if takeover_s is None else round(takeover_s, 3),
        all_active=c.by_status() == {"active": c.servers},
        failed=failed,
        shared_pacer=any(r["shared_pacer"] for r in ok),
    )


def run_creates(c: Cluster, *, workers: int = 4, names: int = 200) -> dict[str, Any]:
    """Every worker creates the same ``names`` at once; what the ledger saw of it."""
    c.reset_ledger()
    procs = [
        c.worker("creates", workers, "--job", "create", "--names", str(names))
        for _ in range(workers)
    ]
    reports = [_report(p, 300) for p in procs]
    ledger = c.ledger()
    return {
        "created": len(ledger["creates"]),
        "duplicates": ledger["duplicate_creates"],
        "workers_ok": [r is not None and not r["failed"] for r in reports],
    }


def demo(*, servers: int, workers: int, rate: float, tick: float) -> None:
    """``make demo-cluster``: the workers on shards of one fleet, their combined progress and the
    shared request rate, twice a second, until they are done."""
    with cluster(servers=servers, rate=rate, tick=tick) as c:
        ids = c.ids()
        print(f"redis {c.redis.url}  simulator {c.url}  {servers} servers, {workers} workers")
        print(f"each worker stops, then starts its shard (id % {workers}); budget {rate:.0f} req/s")
        procs = [
            c.worker("demo", workers, "--job", "cycle", "--ids", c.shard_file(ids, i, workers))
            for i in range(workers)
        ]
        redis = syncredis.Redis.from_url(c.redis.url, decode_responses=True)
        began, last_total, last_t = time.monotonic(), 0, time.monotonic()
        while any(p.poll() is None for p in procs):
            time.sleep(0.5)
            total, now = c.ledger()["total"], time.monotonic()
            holder = str(redis.get("vpsorg:demo:watch:lease") or "-:none").split(":")[1]
            state = c.by_status()
            print(
                f"{now - began:5.1f} s  "
                + "  ".join(f"{k} {v}" for k, v in state.items())
                + f"  | {(total - last_total) / (now - last_t):4.0f} req/s"
                + f"  | sweeping: pid {holder}  | workers running "
                + f"{sum(p.poll() is None for p in procs)}/{workers}",
                flush=True,
            )
            last_total, last_t = total, now
        redis.close()
        reports = [_report(p, 10) for p in procs]
        figures = _figures(c, reports, ids, workers, time.monotonic() - began, None)
        print(
            f"done in {figures.wall_s:.1f} s: {figures.requests} requests "
            f"({figures.requests_per_server:.2f} per server), {figures.list_requests} list "
            f"requests, {figures.throttled} answered 429; all active: {figures.all_active}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    parser.add_argument("--servers", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--tick", type=float, default=0.2)
    parser.add_argument("--demo", action="store_true", help="show the progress of one run")
    args = parser.parse_args()
    if args.demo:
        demo(servers=args.servers, workers=args.workers, rate=args.rate, tick=args.tick)
        return
    results: dict[str, Any] = {}
    for name, kwargs in (
        ("plain", {}),
        ("kill_leader", {"kill_leader": True}),
        ("stop_redis", {"stop_redis": True}),
    ):
        with cluster(servers=args.servers, rate=args.rate, tick=args.tick) as c:
            figures = run_cycle(c, workers=args.workers, namespace=name, **kwargs)
        results[name] = attrs.asdict(figures)
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    ok = all(r["all_active"] and not r["failed"] and r["throttled"] == 0 for r in results.values())
    for name in ("plain", "kill_leader"):  # one sweep's pages per tick, whoever sweeps
        ok = ok and results[name]["list_per_tick_max"] <= results[name]["sweep_pages"]
    ok = ok and results["kill_leader"]["takeover_s"] <= 2 * args.tick
    ok = ok and results["stop_redis"]["fallbacks"] > 0
    print("cluster soak", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
