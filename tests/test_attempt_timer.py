"""Attempt timers: one shared timer per grain of timers, timeouts told apart from cancels."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from typing import TYPE_CHECKING

import aiohttp
import pytest

from vpsorg_async import Client, RequestTimeoutError, _attempt_timer
from vpsorg_async import _policy as policy
from vpsorg_async._attempt_timer import AttemptTimers

if TYPE_CHECKING:
    from conftest import Hanging


def _task() -> asyncio.Task[object]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def _attempt(timers: AttemptTimers, remaining: float, hold: asyncio.Event) -> str:
    """What Session.call does around one attempt, with ``hold`` standing in for the network."""
    task, bucket = timers.enter(remaining)
    assert task is _task()
    try:
        await hold.wait()
    except asyncio.CancelledError:
        if not timers.expired(task, bucket):
            raise
        return "timed out"
    finally:
        timers.leave(task, bucket)
    return "answered"


async def test_attempts_due_within_one_grain_share_one_timer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    timers, hold = AttemptTimers(), asyncio.Event()
    # The hundred enter at one instant, mid-grain: real time could cross a grain's edge between
    # two of them, and they would then rightly be due in two grains.
    loop = asyncio.get_running_loop()
    grain = policy.TIMEOUT_GRAIN
    instant = (loop.time() // grain + 0.5) * grain
    monkeypatch.setattr(loop, "time", lambda: instant)
    many = [asyncio.create_task(_attempt(timers, 30.0, hold)) for _ in range(100)]
    later = asyncio.create_task(_attempt(timers, 30.0 + 3 * grain, hold))
    await asyncio.sleep(0)
    assert len(timers._handles) == 2  # one for the hundred, one for the later deadline
    monkeypatch.undo()
    hold.set()
    assert await asyncio.gather(*many, later) == ["answered"] * 101
    assert len(timers._handles) == 1  # the hundred's emptied one went; the latest stays
    timers.close()
    assert not timers._handles  # nobody waits on them any more: cancelled


async def test_the_timer_times_out_only_the_attempts_still_in_its_bucket() -> None:
    timers = AttemptTimers()
    slow, quick = asyncio.Event(), asyncio.Event()
    stays = asyncio.create_task(_attempt(timers, 0.02, slow))
    leaves = asyncio.create_task(_attempt(timers, 0.02, quick))
    await asyncio.sleep(0)
    quick.set()
    assert await leaves == "answered"
    started = time.monotonic()
    assert await stays == "timed out"
    assert time.monotonic() - started < 1
    assert stays.cancelling() == 0  # the timer's cancel was withdrawn: nothing leaks out
    assert not timers._handles
    assert not timers._buckets


async def test_anyone_elses_cancel_goes_on_even_when_the_timer_fired_too() -> None:
    timers = AttemptTimers()
    task = asyncio.create_task(_attempt(timers, 0.01, asyncio.Event()))
    await asyncio.sleep(0)
    [key] = timers._buckets
    timers._fire(key)  # the deadline passes...
    task.cancel()  # ...and the caller cancels in the same turn
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_swallowed_timeout_cancel_is_withdrawn_when_the_attempt_leaves() -> None:
    timers = AttemptTimers()

    async def swallowing() -> int:
        task, bucket = timers.enter(0.01)
        try:
            with contextlib.suppress(asyncio.CancelledError):  # something on the way caught it
                await asyncio.sleep(1)
        finally:
            timers.leave(task, bucket)
            timers.leave(task, bucket)  # leaving twice withdraws nothing more
        await asyncio.sleep(0)  # no cancel is pending any more
        return int(task.cancelling())

    assert await asyncio.create_task(swallowing()) == 0


async def test_an_unbounded_deadline_sets_no_timer() -> None:
    timers = AttemptTimers()
    task = _task()
    assert timers.enter(policy.UNBOUNDED_TIMEOUT * 2) == (None, None)
    assert not timers._handles
    timers.leave(task, None)
    assert not timers.expired(task, None)


def test_a_new_loop_starts_afresh() -> None:
    timers = AttemptTimers()

    async def enter_once() -> int:
        timers.enter(60.0)
        return len(timers._handles)

    assert asyncio.run(enter_once()) == 1
    assert asyncio.run(enter_once()) == 1  # the closed loop's timer is forgotten, not counted


async def test_a_borrowed_sessions_shorter_total_bounds_the_attempt(
    hanging: Hanging, token: str
) -> None:
    short = aiohttp.ClientTimeout(total=0.05)
    async with (
        aiohttp.ClientSession(timeout=short) as http,
        Client(token, base_url=hanging.base_url, session=http, timeout=60) as client,
    ):
        started = time.monotonic()
        with pytest.raises(RequestTimeoutError):
            await client.get_server(1)
        assert time.monotonic() - started < 2
    assert hanging.counts == {"GET /api/v1/servers/1/": 1}


async def test_a_timed_out_attempt_leaves_its_task_uncancelled(
    hanging: Hanging, token: str
) -> None:
    async with Client(token, base_url=hanging.base_url) as client:
        with pytest.raises(RequestTimeoutError):
            await client.get_server(1, timeout=0.05)
        assert _task().cancelling() == 0
        await asyncio.sleep(0.03)  # no stray cancel is pending either


async def test_live_timers_follow_the_attempts_in_flight_not_the_last_minute() -> None:
    timers, task = AttemptTimers(), _task()
    for step in range(200):  # one attempt after another, each due one grain later
        entered, bucket = timers.enter(30.0 + step * policy.TIMEOUT_GRAIN)
        assert entered is task
        timers.leave(task, bucket)
    assert len(timers._handles) == 1  # the latest only; 199 emptied ones were dropped
    release = asyncio.Event()

    async def hold(later: float) -> None:  # an attempt in flight until released
        _, bucket = timers.enter(60.0 + later)
        assert bucket is not None
        await release.wait()

    holders = [asyncio.create_task(hold(i)) for i in range(3)]
    await asyncio.sleep(0)  # each has entered
    assert len(timers._handles) == 3  # in flight: kept (the latest empty one went)
    release.set()
    await asyncio.gather(*holders)
    for t in list(timers._handles):
        timers._handles[t].cancel()


def _entered() -> object:
    """The task an attempt made now is bound to (entered and left at once)."""
    timers = AttemptTimers()
    task, bucket = timers.enter(60.0)
    timers.leave(task, bucket)
    timers.close()
    return task


async def test_the_current_task_is_found_without_looking_up_the_running_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Looking up the running loop costs a getpid() system call on Linux, and asyncio's own
    # current_task() does it each time: once per request was 7% of a request's CPU.
    assert _entered() is asyncio.current_task()  # the first attempt learns this thread's loop
    lookups = []

    def counted() -> asyncio.AbstractEventLoop:
        lookups.append(1)
        return loop

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(asyncio, "get_running_loop", counted)
    monkeypatch.setattr(asyncio.events, "get_running_loop", counted)
    for _ in range(10):
        assert _entered() is asyncio.current_task(loop)
    assert lookups == []


def test_each_loop_and_each_thread_gets_its_own_task() -> None:
    async def same() -> bool:
        await asyncio.sleep(0)
        return _entered() is asyncio.current_task()

    assert asyncio.run(same())
    assert asyncio.run(same())  # a new loop in the same thread: the old one has no task now
    learned, checked = threading.Event(), threading.Event()
    found: list[bool] = []

    async def busy() -> None:  # the other thread's loop, held busy inside its task meanwhile
        found.append(_entered() is asyncio.current_task())
        learned.set()
        checked.wait(5)

    async def alongside() -> bool:
        thread = threading.Thread(target=asyncio.run, args=(busy(),))
        thread.start()
        await asyncio.to_thread(learned.wait, 5)
        try:
            return _entered() is asyncio.current_task()  # not the other thread's task
        finally:
            checked.set()
            thread.join(5)

    assert asyncio.run(alongside())
    assert found == [True]
    with pytest.raises(RuntimeError, match="outside an asyncio task"):
        AttemptTimers().enter(60.0)  # no loop runs here now


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_forked_child_forgets_the_parents_loop() -> None:
    async def learn() -> int:
        assert _entered() is asyncio.current_task()
        pid = os.fork()  # inside a running task: the child's copy of the loop looks busy
        if pid == 0:  # pragma: no cover (the child exits without reporting coverage)
            os._exit(0 if _attempt_timer._home.loop is None else 1)
        return pid

    pid = asyncio.run(learn())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
