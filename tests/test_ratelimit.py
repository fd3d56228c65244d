"""The client-wide pacer: pace, pause after a 429, adaptive slow-down and recovery, deadlines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aioresponses import aioresponses
from yarl import URL

from vpsorg_async import RateLimitError, RequestTimeoutError
from vpsorg_async._ratelimit import (
    DECREASE_FACTOR,
    INCREASE_SHARE,
    MIN_RATE,
    DeadlineWouldPass,
    RateLimiter,
)
from vpsorg_async._seams import Pacer
from vpsorg_async.testing.examples import DETAIL_RESPONSE

if TYPE_CHECKING:
    from conftest import MakeClient, Stall

    from vpsorg_async.testing import ManualClock

FAR = 1e12  # a deadline that never matters
ITEM = "https://admin.vps.org/api/v1/servers/12345/"


def limiter(fake_time: ManualClock, rate: float | None = None) -> RateLimiter:
    return RateLimiter(rate, clock=fake_time, sleep=fake_time.sleep)


async def turn(pacer: Pacer, deadline: float) -> None:
    """Take a turn as the session does: await only what ``wait_turn`` gives to await."""
    waiting = pacer.wait_turn(deadline)
    if waiting is not None:
        await waiting


async def test_unpaced_never_waits(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time)
    for _ in range(100):
        assert pacer.wait_turn(FAR) is None  # a turn taken at once: no coroutine to await
    assert fake_time.sleeps == []
    assert pacer.rate is None


async def test_a_paced_turn_is_an_awaitable_sleep(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time, rate=2.0)
    assert pacer.wait_turn(FAR) is None  # the first turn is free
    waiting = pacer.wait_turn(FAR)
    assert waiting is not None
    assert fake_time.sleeps == []  # nothing slept until the turn is awaited
    await waiting
    assert fake_time.sleeps == [pytest.approx(0.5)]


async def test_a_pace_spaces_requests_evenly(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time, rate=2.0)
    for _ in range(4):
        await turn(pacer, FAR)
    assert fake_time.sleeps == [0.5, 0.5, 0.5]
    fake_time.advance(10)  # idle time is not banked as a burst beyond one slot
    await turn(pacer, FAR)
    await turn(pacer, FAR)
    assert fake_time.sleeps == [0.5, 0.5, 0.5, 0.5]


async def test_a_wait_past_the_deadline_is_refused(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time, rate=1.0)
    await turn(pacer, FAR)
    with pytest.raises(DeadlineWouldPass, match="past the call's deadline") as info:
        await turn(pacer, fake_time.now + 0.5)
    assert info.value.wait == 1.0
    assert fake_time.sleeps == []
    await turn(pacer, FAR)  # the refused request reserved no slot
    assert fake_time.sleeps == [1.0]


async def test_a_throttle_pauses_everyone_until_retry_after(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time)
    pacer.on_throttle(5.0)
    pacer.on_throttle(2.0)  # a shorter hint does not shorten the pause
    await turn(pacer, FAR)
    assert fake_time.sleeps == [5.0]
    pacer.on_throttle(30.0)
    with pytest.raises(DeadlineWouldPass):
        await turn(pacer, fake_time.now + 10)


@pytest.mark.parametrize("retry_after", [None, 0.0, -3.0])
async def test_a_throttle_without_a_hint_does_not_pause(
    fake_time: ManualClock, retry_after: float | None
) -> None:
    pacer = limiter(fake_time)
    pacer.on_throttle(retry_after)
    await turn(pacer, FAR)
    assert fake_time.sleeps == []
    assert pacer.rate == MIN_RATE  # nothing measured yet: the slowest pace


async def test_throttling_lowers_a_configured_pace_but_not_below_the_minimum(
    fake_time: ManualClock,
) -> None:
    pacer = limiter(fake_time, rate=10.0)
    pacer.on_throttle(None)
    assert pacer.rate == pytest.approx(10.0 * DECREASE_FACTOR)
    pacer.on_throttle(None)
    assert pacer.rate == pytest.approx(10.0 * DECREASE_FACTOR**2)
    for _ in range(50):
        pacer.on_throttle(None)
    assert pacer.rate == MIN_RATE


async def test_a_configured_pace_recovers_to_its_limit(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time, rate=10.0)
    pacer.on_throttle(None)
    successes = 0
    while pacer.rate != 10.0:
        pacer.on_success()
        successes += 1
        assert successes < 100
    # 7 -> 10 in steps of 2% of the 10/s at which throttling began (one more for float rounding)
    assert round(3 / (INCREASE_SHARE * 10)) <= successes <= round(3 / (INCREASE_SHARE * 10)) + 1
    rate = pacer.rate
    pacer.on_success()  # not throttled any more: nothing changes
    assert pacer.rate == rate


async def test_an_unconfigured_pace_is_measured_and_lifted_again(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time)
    for _ in range(5):
        await turn(pacer, FAR)
    pacer.on_throttle(None)  # five requests within the first second: 5/s
    assert pacer.rate == pytest.approx(5 * DECREASE_FACTOR)
    for _ in range(100):
        pacer.on_success()
        if pacer.rate is None:
            break
    assert pacer.rate is None  # recovered to twice the throttled rate: unpaced again


async def test_the_rate_is_measured_over_one_second_windows(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time)
    for _ in range(8):
        await turn(pacer, FAR)
    fake_time.advance(2.0)
    await turn(pacer, FAR)  # closes the window: 8 requests in 2 s
    pacer.on_throttle(None)
    assert pacer.rate == pytest.approx(4 * DECREASE_FACTOR)


async def test_on_success_without_throttling_is_a_no_op(fake_time: ManualClock) -> None:
    pacer = limiter(fake_time, rate=3.0)
    pacer.on_success()
    assert pacer.rate == 3.0


# --- through a Client ----------------------------------------------------------------------------


async def test_a_client_rate_limit_paces_its_calls(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(rate_limit=4)
    mocked.get(ITEM, payload=DETAIL_RESPONSE, repeat=True)
    for _ in range(3):
        await client.get_server(12345)
    assert fake_time.sleeps == [0.25, 0.25]


async def test_a_429_pauses_the_next_call_of_the_whole_client(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(max_retries=0)
    mocked.get(ITEM, status=429, headers={"Retry-After": "10"})
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    with pytest.raises(RateLimitError):
        await client.get_server(12345)
    assert fake_time.sleeps == []
    await client.get_server(12345)
    assert fake_time.sleeps == [10.0]
    pacer = client._session._pacer
    assert isinstance(pacer, RateLimiter)
    assert pacer.rate is not None  # and it slowed down


async def test_a_pace_that_would_pass_the_deadline_is_a_timeout(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(rate_limit=0.5)
    mocked.get(ITEM, payload=DETAIL_RESPONSE, repeat=True)
    await client.get_server(12345)
    with pytest.raises(RequestTimeoutError, match="rate limit") as info:
        await client.get_server(12345, timeout=1)
    assert info.value.sent is False
    assert len(mocked.requests[("GET", URL(ITEM))]) == 1
    assert fake_time.sleeps == []


async def test_cancel_while_paused(
    mocked: aioresponses, make_client: MakeClient, stall: Stall
) -> None:
    client = make_client(max_retries=0, sleep=stall)
    mocked.get(ITEM, status=429, headers={"Retry-After": "10"})
    mocked.get(ITEM, payload=DETAIL_RESPONSE, repeat=True)
    with pytest.raises(RateLimitError):
        await client.get_server(12345)
    assert not stall.started.is_set()  # the 429 itself is not retried; the next call pauses
    await stall.cancel_in_sleep(client.get_server(12345))
    assert len(mocked.requests[("GET", URL(ITEM))]) == 1  # the paused call sent nothing
