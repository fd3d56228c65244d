"""The client's gate of ``max_connections`` slots: FIFO, within deadlines, never losing a slot."""

from __future__ import annotations

import asyncio
import math

import pytest
from aiohttp import web

from vpsorg_async import Client, RequestTimeoutError
from vpsorg_async._slots import Slots


async def test_free_slots_are_taken_at_once_then_callers_wait_in_turn() -> None:
    slots = Slots(2)
    assert slots.take_now()
    assert slots.take_now()
    assert not slots.take_now()
    order: list[int] = []

    async def wait(n: int) -> None:
        assert await slots.take(math.inf)
        order.append(n)

    waiters = [asyncio.create_task(wait(n)) for n in range(3)]
    await asyncio.sleep(0)
    slots.give()
    slots.give()
    await asyncio.sleep(0)
    assert order == [0, 1]
    slots.give()
    await asyncio.gather(*waiters)
    assert order == [0, 1, 2]


async def test_a_wait_past_its_timeout_gives_up_and_takes_nothing() -> None:
    slots = Slots(1)
    assert slots.take_now()
    assert not await slots.take(0.01)
    slots.give()
    assert slots.take_now()  # the slot went back to the pool, not to the waiter that gave up


async def test_waits_due_within_one_grain_share_one_timer_and_leave_none_behind() -> None:
    slots = Slots(1)
    assert slots.take_now()
    loop = asyncio.get_running_loop()
    timers_before = len(loop._scheduled)  # type: ignore[attr-defined]
    waits = [asyncio.create_task(slots.take(30.0)) for _ in range(100)]
    await asyncio.sleep(0)
    assert len(slots._due) <= 2
    assert len(loop._scheduled) - timers_before == len(slots._due)  # type: ignore[attr-defined]
    for _ in range(100):
        slots.give()
    assert all(await asyncio.gather(*waits))
    assert slots._due == {}


async def test_a_wait_timed_out_then_cancelled_hands_on_no_slot_it_never_had() -> None:
    slots = Slots(1)
    assert slots.take_now()
    wait = asyncio.create_task(slots.take(30.0))
    await asyncio.sleep(0)
    (key,) = slots._due
    slots._expire(key)
    wait.cancel()  # ...and a cancel arrives before the wait runs again
    with pytest.raises(asyncio.CancelledError):
        await wait
    assert not slots.take_now()  # the one slot is still held: none was made up
    slots.give()
    assert slots.take_now()


async def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on() -> None:
    slots = Slots(1)
    assert slots.take_now()
    first = asyncio.create_task(slots.take(math.inf))
    second = asyncio.create_task(slots.take(math.inf))
    await asyncio.sleep(0)
    slots.give()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it runs again
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second  # so the slot went on to `second`
    assert not slots.take_now()


async def test_calls_beyond_the_pool_wait_for_a_slot_within_their_deadline() -> None:
    in_flight = peak = 0
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1
        return web.json_response({"count": 0, "results": []})

    app = web.Application()
    app.router.add_get("/api/v1/servers/", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with Client(
            "t0k3n", base_url=f"http://127.0.0.1:{port}/api/v1", max_connections=2, max_retries=0
        ) as client:
            calls = [asyncio.create_task(client.list_servers(timeout=5)) for _ in range(5)]
            late = asyncio.create_task(client.list_servers(timeout=0.2))
            with pytest.raises(RequestTimeoutError) as info:
                await late  # waited for a slot that never came: nothing was sent
            assert info.value.sent is False
            assert "no free connection" in str(info.value)
            release.set()
            pages = await asyncio.gather(*calls)
        assert [page.count for page in pages] == [0] * 5
        assert peak == 2
    finally:
        await runner.cleanup()
