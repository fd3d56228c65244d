"""The seams where a shared backend plugs in: small protocols, no I/O, no imports above leaves.

The library ships one in-process implementation of each, the default. An implementation that
needs I/O (a pacer shared through Redis, a status board another process feeds, a lock that
holds across machines) plugs in here without touching the session, waiter or fleet code.

- :class:`Pacer`: the client-wide pace. Each request attempt takes a turn; the pacer hears of
  successes and 429s. In process: ``_ratelimit.RateLimiter``.
- :class:`StatusSource`: "the statuses of these servers now", for the shared watcher. In process:
  sweeps of the list endpoint and GETs by the watcher itself.
- :class:`CreateLock`: held per server name from the lookup before a reconciling create until
  its outcome is known, so that two creators of one name never both create it. In process:
  :class:`LocalCreateLocks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Collection, Mapping
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ._models import Server

__all__ = ["CreateLock", "LocalCreateLocks", "Pacer", "StatusSource"]


@runtime_checkable
class Pacer(Protocol):
    """Paces every request attempt of a client (and, shared, of many clients)."""

    async def wait_turn(self, deadline: float) -> None:
        """Return when this attempt may go; take nothing and raise rather than wait past
        ``deadline`` (a time on the client's clock).

        Raises:
            _ratelimit.DeadlineWouldPass: the turn (or a 429's pause) comes after ``deadline``.
        """

    def on_success(self) -> None:
        """An attempt got its answer (not a 429): the pace may recover."""

    def on_throttle(self, retry_after: float | None) -> None:
        """An attempt got a 429: pause everyone by ``retry_after`` and slow down."""


@runtime_checkable
class StatusSource(Protocol):
    """Where a watcher learns the statuses of the servers it waits for."""

    async def statuses(
        self, server_ids: Collection[int], *, location: str | None, deadline: float
    ) -> Mapping[int, Server | None]:
        """The servers of ``server_ids`` as seen now, by id.

        An id mapped to None was seen to be absent (deleted); an id left out was not seen this
        time (ask again later). Never runs past ``deadline`` (a time on the client's clock).
        """


@runtime_checkable
class CreateLock(Protocol):
    """Excludes other creators of the same server name while one decides whether to create."""

    def hold(self, name: str, *, timeout: float) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the lock of ``name`` for the ``async with`` block; wait at most ``timeout``.

        Raises:
            TimeoutError: the lock was not free within ``timeout``.
        """


class LocalCreateLocks:
    """The in-process :class:`CreateLock`: one ``asyncio.Lock`` per name while it is wanted."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._wanted: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        """See :meth:`CreateLock.hold`."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._wanted[name] = self._wanted.get(name, 0) + 1
        try:
            async with asyncio.timeout(None if math.isinf(timeout) else timeout):
                await lock.acquire()
            try:
                yield
            finally:
                lock.release()
        finally:
            self._wanted[name] -= 1
            if not self._wanted[name]:  # nobody else waits for it: forget it
                del self._wanted[name], self._locks[name]
