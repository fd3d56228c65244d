"""The multi-process acceptance test at CI size: 4 worker processes, a simulator process with a
per-token rate limit, and a real Redis; 400 servers (``make cluster-soak`` runs 2,000).

See ``tests/cluster.py`` for the harness. Each scenario takes about 10 s.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from vpsorg_async import _policy as policy

pytest.importorskip("redis")
from cluster import Cluster, Figures, cluster, run_creates, run_cycle
from redis_server import redis_binary

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="no redis-server")

SERVERS = 400
RATE = 200.0
TICK = 0.2


@pytest.fixture(scope="module")
def running() -> Iterator[Cluster]:
    with cluster(servers=SERVERS, rate=RATE, tick=TICK) as c:
        yield c


def finished(figures: Figures) -> None:
    assert figures.failed == {}
    assert figures.all_active  # every server of every shard reached the goal
    assert figures.throttled == 0


def test_the_cluster_pays_one_sweep_per_tick(running: Cluster) -> None:
    figures = run_cycle(running, namespace="plain")
    finished(figures)
    assert figures.sweeps >= 3  # the waits really went through the board
    assert figures.fallbacks == 0
    # no two sweeps' pages within a tick, across all four processes (each process sweeping
    # alone puts up to four in one: see the Redis-stopped scenario)
    assert figures.list_per_tick_max <= figures.sweep_pages
    assert figures.list_requests <= figures.sweeps * figures.sweep_pages


def test_a_killed_leader_is_replaced_within_two_ticks_and_every_fleet_finishes(
    running: Cluster,
) -> None:
    figures = run_cycle(running, namespace="kill", kill_leader=True)
    finished(figures)
    assert figures.takeover_s is not None
    assert figures.takeover_s <= 2 * TICK + 0.05  # 0.05 s: processes scheduled on a busy CI
    assert figures.list_per_tick_max <= figures.sweep_pages


def test_with_redis_stopped_every_process_finishes_on_its_own_sweeps(running: Cluster) -> None:
    figures = run_cycle(running, namespace="stop", stop_redis=True)
    finished(figures)
    assert figures.fallbacks > 0  # they really ran without the board


def test_the_shared_rate_holds_across_processes(running: Cluster) -> None:
    figures = run_cycle(running, namespace="rate")
    finished(figures)
    assert figures.shared_pacer
    # the budget plus its burst (REDIS_BURST seconds of it) in any 1-second window of the
    # simulator's ledger, plus 3% for the jitter between a turn and its arrival there (4 workers
    # at their own rate would send 4x; the 2,000-server soak measured 245 against 240)
    assert figures.busiest_second <= math.ceil(RATE * (1 + policy.REDIS_BURST) * 1.03)
    assert figures.throttled == 0


def test_four_processes_creating_the_same_names_make_each_once(
    running: Cluster,
) -> None:
    seen = run_creates(running, names=200)
    assert seen["created"] == 200
    assert seen["duplicates"] == {}
    assert all(seen["workers_ok"])
