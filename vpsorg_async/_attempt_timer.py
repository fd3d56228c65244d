"""Attempt deadlines held by one shared timer per 10 ms of deadlines, not one timer per request.

An attempt (connection wait, send, headers, body) must end by its call's deadline. aiohttp's own
``ClientTimeout(total=...)`` would do it, but it builds a timer per request: a ``TimerHandle``
(with a copy of the context) pushed on the loop's heap and cancelled again, a ``TimeoutHandle``
with its callback list, and a timer context entered and left around each read. That costs about
26,000 instructions per request, more than the whole of this library's own path (measured with
callgrind, ``benchmarks/README.md``).

Here deadlines are rounded up to ``TIMEOUT_GRAIN`` and attempts that share one rounded deadline
share one bucket and its one loop timer. An attempt adds its task to the bucket and takes it out
again: two dict operations. When a bucket's time comes, its timer cancels the tasks still in it,
and each one's attempt turns that cancellation into ``TimeoutError``, as ``asyncio.timeout``
does: by the task's cancel count, so a cancellation from anyone else still goes through. A
bucket that empties is dropped with its timer once a later one exists (new attempts join the
latest), so the live timers are about those of the attempts in flight, not one per 10 ms of
the last minute.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from typing import Any

from . import _policy as policy

__all__ = ["AttemptTimers", "Bucket"]


class _Home(threading.local):
    """Per thread: the event loop of the last attempt made in it."""

    loop: asyncio.AbstractEventLoop | None = None


_home = _Home()
if hasattr(os, "register_at_fork"):  # a forked child's loops are new: forget the parent's
    os.register_at_fork(after_in_child=lambda: setattr(_home, "loop", None))


def _running_task() -> asyncio.Task[object] | None:
    """The running task, found through the running loop, which this thread then remembers."""
    try:
        loop = _home.loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return asyncio.current_task(loop)


class Bucket:
    """The attempts due at one rounded deadline: task -> its cancel count when it came in."""

    __slots__ = ("fired", "key", "tasks")

    def __init__(self, key: int) -> None:
        self.key = key
        self.tasks: dict[asyncio.Task[object], int] = {}
        self.fired = False


class AttemptTimers:
    """The attempt deadlines of one client, on the running loop's clock. One event loop."""

    __slots__ = ("_buckets", "_handles", "_latest", "_loop")

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._latest = 0  # the key of the latest bucket made
        self._buckets: dict[int, Bucket] = {}
        self._handles: dict[int, asyncio.TimerHandle] = {}

    def enter(self, remaining: float) -> tuple[Any, Bucket | None]:
        """Bound the running task's attempt to ``remaining`` seconds from now (rounded up to
        ``TIMEOUT_GRAIN``): that task and its bucket, for ``leave`` and ``expired``; no bucket
        (nothing to leave) when that is beyond ``UNBOUNDED_TIMEOUT``.

        The task is not found with ``asyncio.current_task()``: that first looks up the running
        loop, and on Linux the lookup makes a ``getpid()`` system call (CPython checks that the
        loop was not inherited across a fork). Two such lookups per request were about 6 µs of
        system time, 7% of a request's CPU at 64 in flight (strace; ``benchmarks/README.md``).
        The loop of this thread's last attempt is asked instead: it has a current task only
        while it runs, and only one loop runs in a thread at a time. The running loop is looked
        up when it has none (the first attempt in this thread, or a new loop).
        """
        if remaining > policy.UNBOUNDED_TIMEOUT:
            return None, None
        home = _home.loop
        task = None if home is None else asyncio.current_task(home)
        if task is None:
            task = _running_task()
            if task is None:
                raise RuntimeError("an attempt outside an asyncio task")
        loop = task.get_loop()
        if loop is not self._loop:  # the first attempt, or a client used on a new loop
            self._loop = loop
            self._buckets.clear()  # the old loop's timers never run again
            self._handles.clear()
            self._latest = 0
        key = math.ceil((loop.time() + remaining) / policy.TIMEOUT_GRAIN)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(key)
            self._handles[key] = loop.call_at(key * policy.TIMEOUT_GRAIN, self._fire, key)
            if key > self._latest:
                latest = self._buckets.get(self._latest)
                if latest is not None and not latest.tasks:  # emptied while it was the latest
                    self._drop(self._latest)
                self._latest = key
        bucket.tasks[task] = task.cancelling()
        return task, bucket

    def leave(self, task: Any, bucket: Bucket | None) -> None:
        """``task``'s attempt ended (answered or failed): out of its bucket."""
        if bucket is None or bucket.tasks.pop(task, None) is None:
            return
        if bucket.fired:
            task.uncancel()  # the timer's cancel was swallowed on the way: withdraw it
        elif not bucket.tasks and bucket.key < self._latest:  # nobody joins it any more
            self._drop(bucket.key)

    def expired(self, task: Any, bucket: Bucket | None) -> bool:
        """On ``CancelledError`` in ``task``'s attempt: True when it was the bucket's timer
        alone (the attempt timed out), False when anyone else asked for it too (it goes on)."""
        if bucket is None or not bucket.fired:
            return False
        entered = bucket.tasks.pop(task, None)
        return entered is not None and task.uncancel() <= entered

    def close(self) -> None:
        """The client is closed: drop the timers no attempt waits on any more."""
        for key in [key for key, bucket in self._buckets.items() if not bucket.tasks]:
            self._drop(key)

    def _drop(self, key: int) -> None:
        del self._buckets[key]
        self._handles.pop(key).cancel()

    def _fire(self, key: int) -> None:
        self._handles.pop(key, None)
        bucket = self._buckets.pop(key, None)
        if bucket is not None:
            bucket.fired = True
            for task in bucket.tasks:
                task.cancel()
