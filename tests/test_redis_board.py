"""The shared watcher on a real Redis: one leader sweeps for every board, the others read.

Each test runs several boards (as several processes would) in one event loop against one
``redis-server`` and one simulator, with a tick of a few tens of milliseconds: nothing sleeps
longer than a tick. The processes-for-real version is ``test_cluster.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence

import pytest

pytest.importorskip("redis")
import redis.asyncio as aioredis
from board_helpers import BoardCoordinator
from redis_server import RedisServer, redis_binary

from vpsorg_async import Client, ValidationError, fleet
from vpsorg_async._errors import ServerError
from vpsorg_async._seams import Ask, Sighting, StatusSource, Unseen
from vpsorg_async.redis._board import RedisStatusBoard
from vpsorg_async.redis._sightings import BoardStaleError, dump_sighting
from vpsorg_async.testing import Delays, Simulator
from vpsorg_async.waiters import WAITERS, StatusWatcher

pytestmark = pytest.mark.skipif(redis_binary() is None, reason="no redis-server")

TICK = 0.05
NS = "test"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer() as running:
        yield running


@pytest.fixture
async def redis(server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    if server.pid is None:  # a test stopped it
        server.start()
    client = aioredis.from_url(server.url)
    await client.flushall()
    yield client
    await client.aclose()


class Scripted:
    """A source that answers from a dict and records what it was asked (a process's own)."""

    def __init__(self, answers: Mapping[int, Sighting] | None = None) -> None:
        self.answers = dict(answers or {})
        self.asked: list[list[Ask]] = []

    async def statuses(self, asks: Sequence[Ask]) -> dict[int, Sighting]:
        self.asked.append(list(asks))
        return {a.server_id: self.answers[a.server_id] for a in asks if a.server_id in self.answers}


def board(
    redis: aioredis.Redis, own: StatusSource, *, redis_timeout: float = 1.0
) -> RedisStatusBoard:
    return RedisStatusBoard(redis, namespace=NS, own=own, tick=TICK, redis_timeout=redis_timeout)


async def until_leading(one: RedisStatusBoard) -> None:
    """Return once ``one`` has taken the lease (its beat sets no event to wait on)."""
    while not one.leading:  # noqa: ASYNC110 - the board's state is read, not signalled
        await asyncio.sleep(TICK / 10)


async def hold_lease(redis: aioredis.Redis, ttl: float) -> None:
    """A leader that will never renew: it died right after taking the lease."""
    await redis.set(f"vpsorg:{NS}:watch:lease", "dead-leader", px=round(ttl * 1000))


async def test_three_processes_share_one_sweep_per_tick(redis: aioredis.Redis) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        groups = [[sim.add_server(status="stopped")["id"] for _ in range(30)] for _ in range(3)]
        coordinators = [BoardCoordinator(redis, namespace=NS, tick=TICK) for _ in groups]
        started = time.monotonic()

        async def one(ids: list[int], coordinator: BoardCoordinator) -> fleet.FleetResult[int]:
            async with Client(sim.token, base_url=sim.url, coordinator=coordinator) as client:
                return await fleet.start(client, ids, poll_interval=TICK)

        results = await asyncio.gather(*map(one, groups, coordinators))
        elapsed = time.monotonic() - started
        assert all(result.ok for result in results)
        for server_id in (i for ids in groups for i in ids):
            record = sim.state.get(server_id)
            assert record is not None
            assert record.status == "active"
        sweeps = sum(b.stats.sweeps for c in coordinators for b in c.boards)
        assert sweeps >= 1
        assert sum(b.stats.fallbacks for c in coordinators for b in c.boards) == 0
        # every list request is a leader's sweep (one page each), and the sweeps come at most
        # one per tick across all three: not one per process
        assert sim.ledger.count("list_servers") == sweeps
        assert sweeps <= elapsed / TICK + 1
        assert sim.ledger.count("get_server") == 0
        # the registrations went with their watchers
        assert await redis.hlen(f"vpsorg:{NS}:watch:asks") == 0


async def test_a_dead_leaders_lease_is_taken_over_within_two_ticks(redis: aioredis.Redis) -> None:
    own = Scripted()
    await hold_lease(redis, 1.5 * TICK)
    held_at = time.monotonic()
    async with board(redis, own) as follower:
        await until_leading(follower)
        took = time.monotonic() - held_at
    assert follower.stats.takeovers == 1
    assert took <= 2 * TICK + 0.02  # 0.02 s: the loop's own scheduling on a busy machine


async def test_a_sighting_from_before_the_ask_is_not_used(redis: aioredis.Redis) -> None:
    await hold_lease(redis, 60)  # nobody sweeps: only what the test writes is on the board
    seen_key = f"vpsorg:{NS}:watch:seen"
    now = time.time()
    old = dump_sighting(None, at=now - 3600)  # an hour-old sweep saw it gone
    await redis.hset(seen_key, "7", old)
    async with board(redis, Scripted()) as follower:
        ask = Ask(7, time.monotonic() + 10 * TICK, unlisted_is_gone=True)
        answer = (await follower.statuses([ask]))[7]
        assert isinstance(answer, Unseen)
        assert isinstance(answer.cause, BoardStaleError)
        seconds, micros = await redis.time()
        await redis.hset(seen_key, "7", dump_sighting(None, at=seconds + micros / 1e6))
        assert (await follower.statuses([ask]))[7] is None


async def test_a_follower_waits_for_the_next_sweep_but_never_past_a_deadline(
    redis: aioredis.Redis,
) -> None:
    await hold_lease(redis, 60)
    async with board(redis, Scripted()) as follower:
        t0 = time.monotonic()
        answer = await follower.statuses([Ask(8, t0 + TICK / 2)])
        waited = time.monotonic() - t0
    assert isinstance(answer[8], Unseen)
    assert TICK / 2 <= waited < TICK / 2 + 0.05


async def test_the_leader_asks_its_own_source_about_every_boards_servers(
    redis: aioredis.Redis,
) -> None:
    gone = ServerError(status=503, method="GET", path="/servers/2/", detail="busy")
    leader_own = Scripted({1: None, 2: Unseen(gone)})
    follower_own = Scripted()
    async with board(redis, leader_own) as leader:
        await until_leading(leader)
        async with board(redis, follower_own) as follower:
            deadline = time.monotonic() + 20 * TICK
            answers = await follower.statuses(
                [Ask(1, deadline, "eu", True), Ask(2, deadline, "eu")]
            )
    assert answers[1] is None
    cause = answers[2].cause if isinstance(answers[2], Unseen) else None
    assert isinstance(cause, ServerError)
    assert cause.status == 503
    assert follower_own.asked == []  # the follower never asked the API
    merged = leader_own.asked[-1]
    assert {(a.server_id, a.location, a.unlisted_is_gone) for a in merged} == {
        (1, "eu", True),
        (2, "eu", False),
    }
    assert all(a.deadline <= time.monotonic() + TICK for a in merged)  # within the lease


async def test_a_leader_that_lost_its_lease_mid_sweep_publishes_nothing(
    redis: aioredis.Redis,
) -> None:
    class Usurped(Scripted):
        async def statuses(self, asks: Sequence[Ask]) -> dict[int, Sighting]:
            await redis.set(f"vpsorg:{NS}:watch:lease", "usurper")
            return await super().statuses(asks)

    async with board(redis, Usurped({3: None})) as leader:
        answer = await leader.statuses([Ask(3, time.monotonic() + 4 * TICK, None, True)])
    assert isinstance(answer[3], Unseen)
    assert leader.stats.sweeps == 0
    assert await redis.hlen(f"vpsorg:{NS}:watch:seen") == 0


async def test_lost_redis_falls_back_warns_once_and_comes_back(
    redis: aioredis.Redis, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    own = Scripted({4: None})
    ask = Ask(4, time.monotonic() + 100 * TICK, None, True)
    async with board(redis, own, redis_timeout=0.5) as one:
        assert (await one.statuses([ask]))[4] is None
        assert own.asked  # it led, and swept through its own source
        own.asked.clear()
        server.stop()
        with caplog.at_level(logging.WARNING, logger="vpsorg_async"):
            for _ in range(3):
                assert (await one.statuses([ask]))[4] is None
            assert one.stats.fallbacks == 3
            assert len(own.asked) == 3  # every call asked its own source
            lost = [r for r in caplog.records if "cannot be used" in r.getMessage()]
            assert len(lost) == 1
            server.start()
            assert (await one.statuses([ask]))[4] is None
            assert one.stats.fallbacks == 3
            assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_scripts_survive_a_script_flush(redis: aioredis.Redis) -> None:
    async with board(redis, Scripted()) as leader:
        await until_leading(leader)
        await redis.script_flush()  # as a restarted Redis would have forgotten them
        await asyncio.sleep(TICK)  # a few renewals
        assert leader.leading
        assert leader.stats.takeovers == 1


async def test_used_without_async_with_each_call_beats_itself(redis: aioredis.Redis) -> None:
    own = Scripted({5: None})
    alone = board(redis, own)
    assert (await alone.statuses([Ask(5, time.monotonic() + 10 * TICK, None, True)]))[5] is None
    assert alone.leading
    assert alone.stats.sweeps == 1
    assert await alone.statuses([]) == {}


async def test_the_leader_drops_registrations_past_their_deadline(redis: aioredis.Redis) -> None:
    asks = f"vpsorg:{NS}:watch:asks"
    await redis.hset(asks, mapping={"x:9": '{"d": 1, "l": null, "g": true}', "junk": "{"})
    own = Scripted({6: None})
    async with board(redis, own) as leader:
        await leader.statuses([Ask(6, time.monotonic() + 10 * TICK, None, True)])
        assert not await redis.hexists(asks, "x:9")
        assert not await redis.hexists(asks, "junk")
    assert {a.server_id for asked in own.asked for a in asked} == {6}


async def test_a_watcher_enters_the_board_it_is_given(redis: aioredis.Redis) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        stopped = sim.add_server(status="active")["id"]
        coordinator = BoardCoordinator(redis, namespace=NS, tick=TICK)
        async with Client(sim.token, base_url=sim.url, coordinator=coordinator) as client:
            async with StatusWatcher(client, poll_interval=TICK) as watcher:
                found = await watcher.wait(stopped, WAITERS["active"], timeout=2)
                assert found is not None
                assert found.id == stopped
                assert coordinator.boards[0].leading
            assert not coordinator.boards[0].leading  # it gave the lease up on the way out
    assert await redis.get(f"vpsorg:{NS}:watch:lease") is None


def test_bad_options_are_refused() -> None:
    fake = aioredis.Redis()
    with pytest.raises(ValidationError, match="namespace"):
        RedisStatusBoard(fake, namespace="", own=Scripted())
    with pytest.raises(ValidationError, match="tick"):
        RedisStatusBoard(fake, namespace="x", own=Scripted(), tick=0)
    assert "follower" in repr(RedisStatusBoard(fake, namespace="x", own=Scripted()))
