"""At most ``max_connections`` requests in flight per client; the rest wait here, small.

aiohttp queues a request beyond its pool only after building it (the request object, its
headers, its timer, its writer), so 10,000 waiters polling at once held 10,000 built requests.
Here a request beyond the pool waits as a suspended coroutine and one future, in arrival order,
within its own deadline, and is built only when a connection is free for it. The deadlines of
the waits share timers, one per ``TIMEOUT_GRAIN`` (as the attempts' do, ``_attempt_timer``): a
wait holds no timer, timeout context or copied context of its own, so 10,000 queued polls cost
a few timers, not 10,000. A wait may outlast its deadline by at most one grain.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

from . import _policy as policy

__all__ = ["Slots"]

Waiter = asyncio.Future[None]


class Slots:
    """A FIFO counting gate. Not thread-safe: one event loop."""

    __slots__ = ("_due", "_free", "_waiting")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[Waiter] = deque()
        # rounded deadline -> the waits still due then, and the one timer that ends them
        self._due: dict[int, tuple[set[Waiter], asyncio.TimerHandle]] = {}

    def take_now(self) -> bool:
        """Take a slot if one is free and nobody waits before us (the common, cheap case)."""
        if self._free and not self._waiting:
            self._free -= 1
            return True
        return False

    async def take(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a slot, in turn; False when none came in time.

        A slot handed over just as the wait is cancelled or times out is passed on, never lost.
        """
        if self.take_now():
            return True
        loop = asyncio.get_running_loop()
        waiter: Waiter = loop.create_future()
        self._waiting.append(waiter)
        key = None if math.isinf(timeout) else self._end_by(loop, loop.time() + timeout, waiter)
        try:
            await waiter
        except TimeoutError:  # set by _expire: the deadline came first, and no slot
            return False
        except BaseException:  # cancelled: CancelledError goes on
            self._pass_on(waiter)
            raise
        finally:
            if key is not None:
                self._forget(key, waiter)
        return True

    def give(self) -> None:
        """Give a slot back: to the first live waiter, or to the pool."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _pass_on(self, waiter: Waiter) -> None:
        if not waiter.done():
            waiter.cancel()  # give() skips it
        elif not waiter.cancelled() and waiter.exception() is None:
            self.give()  # a slot was handed to us, but we no longer want it

    def _end_by(self, loop: asyncio.AbstractEventLoop, when: float, waiter: Waiter) -> int:
        """Have ``waiter`` ended at ``when`` (rounded up to the grain) unless it gets a slot."""
        key = math.ceil(when / policy.TIMEOUT_GRAIN)
        due = self._due.get(key)
        if due is None:
            handle = loop.call_at(key * policy.TIMEOUT_GRAIN, self._expire, key)
            due = self._due[key] = (set(), handle)
        due[0].add(waiter)
        return key

    def _forget(self, key: int, waiter: Waiter) -> None:
        due = self._due.get(key)
        if due is not None:
            due[0].discard(waiter)
            if not due[0]:  # nobody left to end at that time: drop the timer too
                del self._due[key]
                due[1].cancel()

    def _expire(self, key: int) -> None:
        waits, _ = self._due.pop(key, (set(), None))
        for waiter in waits:
            if not waiter.done():  # still in line: out of it, with the deadline's error
                waiter.set_exception(TimeoutError())
