"""Question 2: what does ``fleet.start(..., wait=True)`` cost in time, API requests and memory?

The simulator runs in its own process with N stopped servers whose start takes 1-3 s (uniform
jitter, seeded). A fresh client process runs ``fleet.start(client, ids, wait=True)`` once with
coalesced polling (``coalesce=True``: one list request per tick) and once with per-server polling
forced (``coalesce=False``: one GET per pending server per tick), each against a fresh
simulator. Reported per run: wall time, the simulator ledger's request count (by endpoint),
requests per server, the number of polling ticks, and the client process's peak RSS.

Ticks are read from the fleet's ``StatusWatcher`` (``watcher.stats``, and each tick's start and
end); ``fleet.start`` does not return them, so the client process wraps the watcher it enters. Targets checked:

- coalesced: requests <= N + 3 x ticks;
- wall time <= 1.5 x the slowest transition (3 s) + the time the requests themselves take. The
  simulator imposes no rate limit here, so that time is the request phase: from the call until
  the API accepted the last start.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import _harness

__all__ = ["markdown", "measure", "run"]

#: Start takes this long on the simulator (min, max seconds), drawn uniformly per server.
START_DELAY = (1.0, 3.0)
CONCURRENCY = 32
#: A bound on every fleet call, far above what any run here should take.
FLEET_TIMEOUT = 300.0


def measure(
    url: str,
    token: str,
    count: int,
    coalesce: bool,
    concurrency: int,
    poll_interval: float,
    max_poll_interval: float,
) -> dict[str, Any]:
    """Client-process entry point: one ``fleet.start(..., wait=True)`` of ``count`` servers."""
    from vpsorg_async import Client, fleet
    from vpsorg_async.waiters import StatusWatcher

    watchers: list[StatusWatcher] = []
    ticks: list[tuple[float, float]] = []  # (start, end) of each tick, from the fleet's start
    enter = StatusWatcher.__aenter__
    origin = [0.0]

    async def recording_enter(self: StatusWatcher) -> StatusWatcher:
        watchers.append(self)
        tick = self._tick

        async def timed_tick(pending: Any) -> None:
            t0 = time.perf_counter() - origin[0]
            await tick(pending)
            ticks.append((t0, time.perf_counter() - origin[0]))

        self._tick = timed_tick  # type: ignore[method-assign]
        return await enter(self)

    StatusWatcher.__aenter__ = recording_enter  # type: ignore[method-assign]
    requested: list[float] = []

    async def main() -> dict[str, Any]:
        ids = _harness.simulated_ids(count)
        async with Client(token, base_url=url) as client:
            baseline = _harness.current_rss_kib()
            started = origin[0] = time.perf_counter()

            def progress(event: fleet.FleetEvent[int]) -> None:
                if event.phase == "requested":
                    requested.append(time.perf_counter() - started)

            result = await fleet.start(
                client,
                ids,
                concurrency=concurrency,
                wait=True,
                timeout=FLEET_TIMEOUT,
                coalesce=coalesce,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                on_progress=progress,
            )
            wall = time.perf_counter() - started
        failures = [repr(o.error) for o in result.failed][:3]
        stats = watchers[0].stats if watchers else None
        return {
            "servers": count,
            "coalesce": coalesce,
            "concurrency": concurrency,
            "wall_s": wall,
            "request_phase_s": max(requested) if requested else 0.0,
            "ok": len(result.succeeded),
            "failed": len(result.failed),
            "failures": failures,
            "ticks": stats.ticks if stats else None,
            "watcher_list_requests": stats.list_requests if stats else None,
            "watcher_get_requests": stats.get_requests if stats else None,
            "tick_times_s": [[round(a, 3), round(b, 3)] for a, b in ticks],
            "longest_tick_s": max((b - a for a, b in ticks), default=0.0),
            "baseline_rss_kib": baseline,
        }

    out = asyncio.run(main())
    out["peak_rss_kib"] = _harness.peak_rss_kib()
    return out


def _one(count: int, coalesce: bool, p: dict[str, Any]) -> dict[str, Any]:
    delays = {"start": list(START_DELAY if not p["quick"] else p["start_delay"])}
    with _harness.simulator(stopped=count, delays=delays) as sim:
        _harness.admin(sim, "POST", "/_sim/reset-ledger")
        run = _harness.run_child(
            "benchmarks.fleet_cost:measure",
            {
                "url": sim.url,
                "token": sim.token,
                "count": count,
                "coalesce": coalesce,
                "concurrency": CONCURRENCY,
                "poll_interval": p["poll_interval"],
                "max_poll_interval": p["max_poll_interval"],
            },
            timeout=FLEET_TIMEOUT + 60,
        )
        ledger = _harness.admin(sim, "GET", "/_sim/ledger")
        states = _harness.admin(sim, "GET", "/_sim/state")
    run["requests"] = ledger["total"]
    run["requests_by_endpoint"] = ledger["requests"]
    run["requests_per_server"] = ledger["total"] / count
    run["final_states"] = states["by_status"]
    run["slowest_transition_s"] = delays["start"][1]
    return run


FULL: dict[str, Any] = {
    "quick": False,
    "sizes": [1000, 10_000],
    "per_server_sizes": [1000, 10_000],
    # The wall-time target of the largest coalesced fleet is judged over several runs: one
    # lucky run proves little on a shared machine.
    "coalesced_repeats": {10_000: 3},
    "poll_interval": 1.0,
    "max_poll_interval": 15.0,
}
QUICK: dict[str, Any] = {
    "quick": True,
    "sizes": [40],
    "per_server_sizes": [40],
    "start_delay": [0.2, 0.5],
    "poll_interval": 0.2,
    "max_poll_interval": 1.0,
}


def run(*, quick: bool) -> dict[str, Any]:
    """Coalesced and per-server runs at each size, each against a fresh simulator."""
    p = QUICK if quick else FULL
    runs = []
    for count in p["sizes"]:
        for _ in range(p.get("coalesced_repeats", {}).get(count, 1)):
            runs.append(_one(count, True, p))
        if count in p["per_server_sizes"]:
            runs.append(_one(count, False, p))
    result: dict[str, Any] = {
        "start_delay_s": p.get("start_delay", list(START_DELAY)),
        "poll_interval": p["poll_interval"],
        "max_poll_interval": p["max_poll_interval"],
        "runs": runs,
    }
    result["targets"] = _targets(result)
    return result


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in result["runs"]:
        n, mode = r["servers"], "coalesced" if r["coalesce"] else "per-server"
        if r["coalesce"]:
            bound = n + 3 * r["ticks"]
            rows.append(
                _harness.target(
                    f"fleet.start {_harness.fmt(n)}, coalesced: requests",
                    "<= N + 3 x ticks",
                    f"{_harness.fmt(r['requests'])} <= {_harness.fmt(bound)} ({r['ticks']} ticks)",
                    r["requests"] <= bound and r["failed"] == 0,
                    "" if r["failed"] == 0 else f"{r['failed']} servers failed",
                )
            )
    walls: dict[tuple[int, str], list[tuple[float, float, bool]]] = {}
    for r in result["runs"]:
        n, mode = r["servers"], "coalesced" if r["coalesce"] else "per-server"
        limit = 1.5 * r["slowest_transition_s"] + r["request_phase_s"]
        met = r["wall_s"] <= limit and r["failed"] == 0
        walls.setdefault((n, mode), []).append((r["wall_s"], limit, met))
    for (n, mode), seen in walls.items():
        met = sum(ok for *_, ok in seen)
        rows.append(
            _harness.target(
                f"fleet.start {_harness.fmt(n)}, {mode}: wall time",
                "<= 1.5 x slowest transition + request phase"
                + (f", in {len(seen)} of {len(seen)} runs" if len(seen) > 1 else ""),
                "; ".join(f"{wall:.1f} s vs {limit:.1f} s" for wall, limit, _ in seen)
                + (f" ({met} of {len(seen)} met)" if len(seen) > 1 else ""),
                met == len(seen),
                "no rate limit",
            )
        )
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The section of the report for this question."""
    rows = []
    for r in result["runs"]:
        by = r["requests_by_endpoint"]
        lists = sum(by.get("list_servers", {}).values())
        gets = sum(by.get("get_server", {}).values())
        starts = sum(by.get("start_server", {}).values())
        rows.append(
            [
                _harness.fmt(r["servers"]),
                "coalesced" if r["coalesce"] else "per-server",
                f"{r['wall_s']:.1f}",
                f"{r['request_phase_s']:.1f}",
                _harness.fmt(r["requests"]),
                f"{starts:,} / {lists:,} / {gets:,}",
                f"{r['requests_per_server']:.2f}",
                str(r["ticks"]),
                f"{r['tick_times_s'][-1][0]:.1f}" if r["tick_times_s"] else "-",
                f"{r['longest_tick_s']:.2f}",
                f"{r['peak_rss_kib'] / 1024:.0f}",
                f"{r['ok']:,} ok, {r['failed']:,} failed",
            ]
        )
    return _harness.markdown_table(
        [
            "servers",
            "polling",
            "wall s",
            "request phase s",
            "API requests",
            "start / list / get",
            "req/server",
            "ticks",
            "last tick at s",
            "longest tick s",
            "peak RSS MiB",
            "outcome",
        ],
        rows,
    ) + (
        f"\n\nStart takes {result['start_delay_s'][0]:g}-{result['start_delay_s'][1]:g} s per "
        f"server (uniform); shared polling pauses 0.4 of the time waited, from "
        f"{result['poll_interval']:g} s to {result['max_poll_interval']:g} s; concurrency "
        f"{CONCURRENCY}; a fresh simulator "
        "process per run, its ledger counting the requests."
    )
