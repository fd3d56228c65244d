"""Question 3: what do 10,000 concurrent single-server waiters cost in memory and CPU?

Each waiter is ``waiters.wait_until_active(client, id)`` on a server that stays ``provisioning``
for longer than the measurement, with the default poll schedule (1 s doubling to 15 s, jittered).
Two client processes, each fresh:

- *waiter alone*: a stand-in client whose ``get_server`` returns a freshly decoded
  ``ServerDetail`` without any network, so the figure is the waiter itself (its task, its poll
  schedule, the last server it saw);
- *with HTTP*: the real ``Client`` against the simulator in its own process (10,000 servers stuck
  in ``provisioning``), so aiohttp's per-request state and the first wave of 10,000 queued GETs
  are included.

RSS is sampled every 0.25 s (``/proc/self/statm``) after a baseline taken with everything
imported and the client warm; growth per waiter is (median RSS over the window - baseline) / N.
CPU time is the client process's own (``time.process_time``) over the window.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any

from . import _harness

__all__ = ["markdown", "measure", "run"]

#: Longer than any measurement: nobody's wait ends while we watch.
STUCK = 3600.0
RSS_SAMPLE_S = 0.25


def _idle_client() -> Any:
    """A real ``Client`` whose ``get_server`` answers a fresh ``provisioning`` ServerDetail.

    Subclassing keeps every attribute waiters read (clock, sleep, timeout, ...) as it is in the
    library; only the network is gone. It never opens a session, but is closed all the same.
    """
    from vpsorg_async import Client, ServerDetail
    from vpsorg_async._convert import decode
    from vpsorg_async.testing.examples import DETAIL_RESPONSE

    body = dict(DETAIL_RESPONSE, status="provisioning")

    class IdleClient(Client):
        polls = 0

        async def get_server(self, server_id: int, *, timeout: float | None = None) -> ServerDetail:
            self.polls += 1
            return decode(dict(body, id=server_id), ServerDetail)

    return IdleClient("bench", base_url="http://127.0.0.1:9/api/v1")


async def _watch(client: Any, count: int, window: float, coalesced: bool) -> dict[str, Any]:
    """Start ``count`` waits on ``client``; sample RSS and CPU for ``window`` seconds.

    ``coalesced`` False: one ``wait_until_active`` task per server; True: one ``wait_many``.
    """
    from vpsorg_async import waiters

    ids = _harness.simulated_ids(count)
    gc.collect()
    baseline = _harness.current_rss_kib()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    tasks: list[asyncio.Task[Any]]
    if coalesced:
        tasks = [asyncio.create_task(waiters.wait_many(client, ids, "active", timeout=STUCK))]
    else:
        tasks = [
            asyncio.create_task(waiters.wait_until_active(client, server_id, timeout=STUCK))
            for server_id in ids
        ]
    started_s = time.perf_counter() - wall0
    samples: list[tuple[float, int]] = []
    while (elapsed := time.perf_counter() - wall0) < window:
        await asyncio.sleep(RSS_SAMPLE_S)
        samples.append((elapsed, _harness.current_rss_kib()))
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    alive = sum(not task.done() for task in tasks)
    for task in tasks:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    unexpected = [repr(o) for o in outcomes if not isinstance(o, asyncio.CancelledError)][:3]
    if alive < len(tasks):  # a wait that ended is not a waiter we are measuring
        raise RuntimeError(f"{len(tasks) - alive} waits ended early, e.g. {unexpected}")
    # The first second is the herd of first polls; after it every waiter is mostly asleep.
    settled = [rss for t, rss in samples if t >= min(1.0, window / 2)] or [samples[-1][1]]
    rss = statistics.median(settled)
    return {
        "waiters": count,
        "coalesced": coalesced,
        "window_s": wall,
        "create_s": started_s,
        "tasks_alive_at_end": alive,
        "unexpected_endings": unexpected,
        "baseline_rss_kib": baseline,
        "settled_rss_kib": rss,
        "max_sampled_rss_kib": max(r for _, r in samples),
        "growth_kib_per_waiter": (rss - baseline) / count,
        "cpu_s": cpu,
        "cpu_share": cpu / wall,
    }


def measure(
    count: int,
    window: float,
    url: str | None = None,
    token: str | None = None,
    coalesced: bool = False,
) -> dict[str, Any]:
    """Client-process entry point: the stand-in client without ``url``, else the real Client."""

    async def main() -> dict[str, Any]:
        if url is None:
            async with _idle_client() as idle:
                await idle.get_server(_harness.SIMULATOR_FIRST_ID)  # warm the converter
                result = await _watch(idle, count, window, coalesced=False)
                result["polls"] = idle.polls - 1
                return result
        from vpsorg_async import Client

        async with Client(token, base_url=url) as client:
            await client.get_server(
                _harness.SIMULATOR_FIRST_ID
            )  # open a connection, warm the converter
            await client.list_servers(status="active")  # and the list's decoder (empty answer)
            return await _watch(client, count, window, coalesced)

    result = asyncio.run(main())
    # ru_maxrss is updated lazily by the kernel; a /proc sample may be a few pages above it.
    result["peak_rss_kib"] = max(_harness.peak_rss_kib(), result["max_sampled_rss_kib"])
    return result


VARIANT_LABELS = {
    "alone": "wait_until_active x N, stand-in client (waiter alone)",
    "http": "wait_until_active x N, real Client + simulator",
    "many": "wait_many(N ids), real Client + simulator (for comparison)",
}
FULL = {"count": 10_000, "window_alone": 8.0, "window_http": 15.0}
QUICK = {"count": 300, "window_alone": 0.8, "window_http": 0.8}


def run(*, quick: bool) -> dict[str, Any]:
    """The three variants, each in a fresh client process; the HTTP ones against the simulator."""
    p = QUICK if quick else FULL
    count = int(p["count"])
    timeout = 120 if quick else 300
    result: dict[str, Any] = {
        "alone": _harness.run_child(
            "benchmarks.waiters_scale:measure",
            {"count": count, "window": p["window_alone"]},
            timeout=timeout,
        )
    }
    with _harness.simulator(provisioning=count, delays={"provision": [STUCK, STUCK]}) as sim:
        for key, coalesced in (("http", False), ("many", True)):
            part = _harness.run_child(
                "benchmarks.waiters_scale:measure",
                {
                    "count": count,
                    "window": p["window_http"],
                    "url": sim.url,
                    "token": sim.token,
                    "coalesced": coalesced,
                },
                timeout=timeout,
            )
            part["polls"] = (
                _harness.admin(sim, "GET", "/_sim/ledger")["total"] - 2
            )  # less the warm-ups
            _harness.admin(sim, "POST", "/_sim/reset-ledger")
            result[key] = part
    for part in result.values():
        part["cpu_us_per_poll"] = part["cpu_s"] / max(part["polls"], 1) * 1e6
    result["targets"] = _targets(result)
    return result


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    alone, http, many = result["alone"], result["http"], result["many"]
    n = _harness.fmt(http["waiters"])
    return [
        _harness.target(
            "RSS per idle waiter",
            "< 10 KiB",
            f"{alone['growth_kib_per_waiter']:.1f} KiB",
            alone["growth_kib_per_waiter"] < 10,
            "the waiter alone (stand-in client, no network)",
        ),
        _harness.target(
            f"{n} single waiters, peak RSS of the client process",
            "< 100 MiB",
            f"{http['peak_rss_kib'] / 1024:.0f} MiB",
            http["peak_rss_kib"] / 1024 < 100,
            f"real Client; whole process ({http['baseline_rss_kib'] / 1024:.0f} MiB before the "
            f"waiters), {http['growth_kib_per_waiter']:.1f} KiB per waiter incl. queued requests; "
            f"wait_many: {many['peak_rss_kib'] / 1024:.0f} MiB",
        ),
    ]


def markdown(result: dict[str, Any]) -> str:
    """The section of the report for this question."""
    rows = []
    for key, label in VARIANT_LABELS.items():
        r = result[key]
        rows.append(
            [
                label,
                _harness.fmt(r["waiters"]),
                f"{r['baseline_rss_kib'] / 1024:.0f}",
                f"{r['settled_rss_kib'] / 1024:.0f}",
                f"{r['peak_rss_kib'] / 1024:.0f}",
                f"{r['growth_kib_per_waiter']:.2f}",
                f"{r['cpu_s']:.2f} s in {r['window_s']:.1f} s ({r['cpu_share'] * 100:.0f}%)",
                _harness.fmt(r["polls"]),
                f"{r['cpu_us_per_poll']:.0f}",
            ]
        )
    return _harness.markdown_table(
        [
            "variant",
            "waiters",
            "baseline MiB",
            "settled MiB",
            "peak MiB",
            "KiB/waiter",
            "CPU",
            "polls (requests)",
            "CPU µs/request",
        ],
        rows,
    )
