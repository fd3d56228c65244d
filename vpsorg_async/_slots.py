"""At most ``max_connections`` requests in flight per client; the rest wait here, small.

aiohttp queues a request beyond its pool only after building it (the request object, its
headers, its timer, its writer), so 10,000 waiters polling at once held 10,000 built requests.
Here a request beyond the pool waits as a suspended coroutine and one future, in arrival order,
within its own deadline, and is built only when a connection is free for it.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque

__all__ = ["Slots"]


class Slots:
    """A FIFO counting gate. Not thread-safe: one event loop."""

    __slots__ = ("_free", "_waiting")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

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
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        try:
            async with asyncio.timeout(None if math.isinf(timeout) else timeout):
                await waiter
        except TimeoutError:
            self._pass_on(waiter)
            return False
        except BaseException:  # cancelled: CancelledError goes on
            self._pass_on(waiter)
            raise
        return True

    def give(self) -> None:
        """Give a slot back: to the first live waiter, or to the pool."""
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def _pass_on(self, waiter: asyncio.Future[None]) -> None:
        if waiter.done() and not waiter.cancelled():  # it was ours, but we no longer want it
            self.give()
        else:
            waiter.cancel()  # give() skips it
