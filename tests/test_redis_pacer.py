"""The shared pace's Lua script, fast, on fakeredis (``fakeredis[lua]``) with Redis time in hand.

One ManualClock is both the clients' clock and Redis's ``TIME``, so every wait here is exact.
The same rules run against a real redis-server in ``test_redis_real.py``.
"""

from __future__ import annotations

import logging
import types

import pytest

pytest.importorskip("redis")
fakeredis = pytest.importorskip("fakeredis")
pytest.importorskip("lupa")

from fakeredis.commands_mixins import server_mixin  # noqa: E402

from vpsorg_async import ValidationError, _policy  # noqa: E402
from vpsorg_async._ratelimit import DeadlineWouldPass  # noqa: E402
from vpsorg_async.redis import RedisCoordinator  # noqa: E402
from vpsorg_async.redis._pacer import RedisPacer  # noqa: E402
from vpsorg_async.testing import ManualClock  # noqa: E402

#: Redis's epoch time when the ManualClock reads 0.
EPOCH = 1_800_000_000.0
KEY = "vpsorg:{ns}:pace"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ManualClock:
    """The clients' clock, which fakeredis's TIME reads too."""
    manual = ManualClock()
    monkeypatch.setattr(
        server_mixin, "time", types.SimpleNamespace(time=lambda: EPOCH + manual.now)
    )
    return manual


@pytest.fixture
def coordinator(clock: ManualClock) -> RedisCoordinator:
    """A coordinator on one fakeredis server (every coordinator made from it shares it)."""
    return RedisCoordinator(fakeredis.FakeAsyncRedis(), namespace="ns", burst=0.0)


def pacer(c: RedisCoordinator, clock: ManualClock, rate: float | None = 10.0) -> RedisPacer:
    return c.pacer(rate, clock=clock, sleep=clock.sleep)


@pytest.fixture
def paced(coordinator: RedisCoordinator, clock: ManualClock) -> RedisPacer:
    """One client's pacer at 10 requests a second, on ``coordinator`` and ``clock``."""
    return pacer(coordinator, clock)


async def throttle(p: RedisPacer, retry_after: float | None) -> None:
    """A 429 heard by ``p`` and told to Redis before this returns (``on_throttle`` tells it in a
    task of its own, which a test would have to wait for)."""
    p.on_throttle(retry_after)
    await p._tell()


async def state(c: RedisCoordinator) -> dict[str, float]:
    raw = await c._link.redis.hgetall(KEY)
    return {str(k, "ascii") if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}


async def test_turns_are_spaced_by_the_rate_on_redis_time(
    clock: ManualClock, paced: RedisPacer
) -> None:
    for _ in range(4):
        await paced.wait_turn(100.0)
    assert clock.sleeps == pytest.approx([0.1, 0.1, 0.1])  # the first goes at once


async def test_two_pacers_share_one_pace(coordinator: RedisCoordinator, clock: ManualClock) -> None:
    other = RedisCoordinator(coordinator._link.redis, namespace="ns", burst=0.0)
    a, b = pacer(coordinator, clock), pacer(other, clock)
    for p in (a, b, a, b):
        await p.wait_turn(100.0)
    assert clock.now == pytest.approx(0.3)  # four turns of one 10/s pace, not two of two


async def test_other_namespaces_do_not_share(
    coordinator: RedisCoordinator, clock: ManualClock
) -> None:
    other = RedisCoordinator(coordinator._link.redis, namespace="elsewhere", burst=0.0)
    for p in (pacer(coordinator, clock), pacer(other, clock)):
        await p.wait_turn(100.0)
    assert clock.sleeps == []


async def test_the_burst_is_seconds_and_keeps_its_size_when_the_rate_is_cut(
    clock: ManualClock,
) -> None:
    c = RedisCoordinator(fakeredis.FakeAsyncRedis(), namespace="ns", burst=0.3)
    p = pacer(c, clock)
    for _ in range(4):  # 0.3 s of a 10/s pace go at once, plus the one that starts the pace
        await p.wait_turn(100.0)
    assert clock.sleeps == []
    await p.wait_turn(100.0)
    assert clock.sleeps == pytest.approx([0.1])
    p.on_throttle(None)  # the rate becomes 7/s; the burst is still 0.3 s
    clock.advance(10.0)
    clock.sleeps.clear()
    for _ in range(4):
        await p.wait_turn(100.0)
    # 3 go at once; the 4th goes when the pace is no more than 0.3 s ahead: at 3/7 - 0.3
    assert clock.sleeps == pytest.approx([3 / 7 - 0.3], abs=1e-5)  # Redis keeps microseconds


async def test_a_turn_past_the_deadline_is_refused_and_reserves_nothing(
    coordinator: RedisCoordinator, clock: ManualClock, paced: RedisPacer
) -> None:
    await paced.wait_turn(100.0)
    before = await state(coordinator)
    with pytest.raises(DeadlineWouldPass) as caught:
        await paced.wait_turn(0.05)  # the next turn is at 0.1
    assert caught.value.wait == pytest.approx(0.1)
    assert caught.value.pause == 0.0
    assert (await state(coordinator))["tat"] == before["tat"]
    await paced.wait_turn(0.1 + 1e-6)  # a turn before the deadline goes
    assert clock.sleeps == pytest.approx([0.1])


async def test_a_429_pauses_every_process_and_cuts_the_rate_once_per_window(
    coordinator: RedisCoordinator, clock: ManualClock
) -> None:
    other = RedisCoordinator(coordinator._link.redis, namespace="ns", burst=0.0)
    a, b = pacer(coordinator, clock), pacer(other, clock)
    await a.wait_turn(100.0)
    a.on_throttle(2.0)
    b.on_throttle(2.0)  # the same overload, seen by another process: no second cut
    await a._tell()
    await b._tell()
    shared = await state(coordinator)
    assert shared["rate"] == pytest.approx(7.0)
    assert shared["pause"] == pytest.approx(EPOCH + 2.0)
    with pytest.raises(DeadlineWouldPass) as caught:
        await b.wait_turn(1.0)  # b never saw a 429 itself; the pause is shared
    assert caught.value.pause == pytest.approx(2.0)
    await b.wait_turn(100.0)
    assert clock.now == pytest.approx(2.0)
    clock.advance(2.0)  # past the window: the next 429 is news and cuts again
    await throttle(a, None)
    assert (await state(coordinator))["rate"] == pytest.approx(4.9)


async def test_the_calm_window_is_the_retry_after_when_longer(
    coordinator: RedisCoordinator, clock: ManualClock, paced: RedisPacer
) -> None:
    await throttle(paced, 5.0)
    clock.advance(_policy.THROTTLE_WINDOW + 1)  # within the Retry-After still
    await throttle(paced, None)
    assert (await state(coordinator))["rate"] == pytest.approx(7.0)


async def test_successes_recover_the_rate_riding_on_the_next_turn(
    coordinator: RedisCoordinator, paced: RedisPacer
) -> None:
    await throttle(paced, None)
    calls = 0
    script = paced._script

    async def counting(**kwargs: object) -> object:
        nonlocal calls
        calls += 1
        return await script(**kwargs)  # type: ignore[arg-type]

    paced._script = counting  # type: ignore[assignment]
    for _ in range(10):
        paced.on_success()
    assert calls == 0  # no round-trip of their own
    await paced.wait_turn(100.0)
    assert calls == 1
    assert (await state(coordinator))["rate"] == pytest.approx(7.0 + 10 * 0.02 * 10)
    for _ in range(5):
        paced.on_success()
    await paced.wait_turn(100.0)
    shared = await state(coordinator)
    assert "rate" not in shared  # back at the configured 10/s: nothing throttled any more
    assert "base" not in shared


async def test_an_unpaced_namespace_is_cut_from_its_measured_rate_and_lifted_again(
    coordinator: RedisCoordinator, clock: ManualClock
) -> None:
    p = pacer(coordinator, clock, rate=None)
    for _ in range(40):  # 40 requests/s, unpaced: no waits
        await p.wait_turn(100.0)
        clock.advance(0.025)
    await p.wait_turn(100.0)
    assert clock.sleeps == []
    await throttle(p, None)
    assert (await state(coordinator))["rate"] == pytest.approx(40 * 0.7, rel=0.05)
    for _ in range(200):  # recovering up to twice the rate where throttling began lifts the pace
        p.on_success()
    await p.wait_turn(100.0)
    assert "rate" not in await state(coordinator)


async def test_the_state_expires_when_no_one_uses_the_namespace(
    coordinator: RedisCoordinator, clock: ManualClock
) -> None:
    await pacer(coordinator, clock).wait_turn(100.0)
    ttl = await coordinator._link.redis.pttl(KEY)
    assert 0 < ttl <= _policy.PACE_STATE_TTL * 1000


async def test_redis_lost_falls_back_to_a_share_of_the_rate_and_warns_once(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    server = fakeredis.FakeServer()
    c = RedisCoordinator(
        fakeredis.FakeAsyncRedis(server=server), namespace="ns", burst=0.0, expected_processes=4
    )
    p = pacer(c, clock, rate=20.0)
    await p.wait_turn(100.0)
    server.connected = False
    with caplog.at_level(logging.WARNING, logger="vpsorg_async.redis"):
        for _ in range(3):
            await p.wait_turn(100.0)  # nothing fails: the fallback paces at 20 / 4 per second
        assert not p.shared
        assert clock.sleeps == pytest.approx([0.2, 0.2])
        lost = [r for r in caplog.records if "lost" in r.getMessage()]
        assert len(lost) == 1
        server.connected = True
        clock.advance(_policy.REDIS_RETRY_INTERVAL)
        await p.wait_turn(100.0)
        assert p.shared
        assert [r for r in caplog.records if "back" in r.getMessage()]


def test_bad_arguments_are_refused() -> None:
    redis = fakeredis.FakeAsyncRedis()
    for bad in ("", "a b", "x{y}", "é", 3, "n" * 101):
        with pytest.raises(ValidationError, match="namespace"):
            RedisCoordinator(redis, namespace=bad)  # type: ignore[arg-type]
    for count in (0, -1, 1.5, True):
        with pytest.raises(ValidationError, match="expected_processes"):
            RedisCoordinator(redis, namespace="n", expected_processes=count)  # type: ignore[arg-type]
    for burst in (-0.1, float("inf"), float("nan"), "1"):
        with pytest.raises(ValidationError, match="burst"):
            RedisCoordinator(redis, namespace="n", burst=burst)  # type: ignore[arg-type]
