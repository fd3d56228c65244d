"""The seams where a shared backend plugs in: small protocols, no I/O, nothing above the models.

The library ships one in-process implementation of each, the default. An implementation that
needs I/O (a pacer shared through Redis, a status board another process feeds, a lock that
holds across machines) plugs in here without touching the session, waiter or fleet code.

- :class:`Pacer`: the client-wide pace. Each request attempt takes a turn; the pacer hears of
  successes and 429s. In process: ``_ratelimit.RateLimiter``.
- :class:`StatusSource`: "the statuses of these servers now", for the shared watcher. In process:
  sweeps of the list endpoint and GETs (``waiters._sweep.ApiStatusSource``). It is asked with
  :class:`Ask` values and answers a :data:`Sighting` per server; judging what a sighting means
  for a wait (done, failed, timed out) stays with the watcher.
- :class:`CreateLock`: held per server name from the lookup before a reconciling create until
  its outcome is known, so that two creators of one name never both create it. In process:
  :class:`LocalCreateLocks`.
- :class:`Coordinator`: one backend that hands a client all three, shared by every process that
  uses it (``Client(coordinator=...)``; ``vpsorg_async.redis.RedisCoordinator``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Protocol, TypeAlias, runtime_checkable

import attrs

from ._deadline import Clock, Sleep
from ._models import Server

__all__ = [
    "Ask",
    "Coordinator",
    "CreateLock",
    "LocalCreateLocks",
    "Pacer",
    "Sighting",
    "StatusSource",
    "Unseen",
]


@runtime_checkable
class Pacer(Protocol):
    """Paces every request attempt of a client (and, shared, of many clients)."""

    def wait_turn(self, deadline: float) -> Awaitable[None] | None:
        """Take this attempt's turn: None when it may go now, else an awaitable that returns
        when it may go. Take nothing and raise rather than wait past ``deadline`` (a time on
        the client's clock). An ``async def`` fits; a pacer that can tell at once answers None,
        sparing every unpaced request a coroutine (the in-process pacer does).

        Raises:
            _ratelimit.DeadlineWouldPass: the turn (or a 429's pause) comes after ``deadline``.
        """

    def on_success(self) -> None:
        """An attempt got its answer (not a 429): the pace may recover."""

    def on_throttle(self, retry_after: float | None) -> None:
        """An attempt got a 429: pause everyone by ``retry_after`` and slow down."""


@attrs.frozen
class Ask:
    """One server a watcher asks a :class:`StatusSource` about.

    Attributes:
        server_id: the server.
        deadline: the time (on the client's clock) past which the answer is no longer wanted:
            a request for this server may start no later (the one last look may start at it).
        location: the server's datacenter, if known (a list may be filtered by it).
        unlisted_is_gone: True when a complete list without the server proves it gone (a wait
            for its deletion); False when only the API's own 404 does (the server must exist,
            so an absence is confirmed by asking for the server itself).
    """

    server_id: int
    deadline: float
    location: str | None = None
    unlisted_is_gone: bool = False


@attrs.frozen
class Unseen:
    """Not seen this time, because of ``cause`` (a transient error, a sweep cut short): ask again
    later. ``cause`` becomes the ``__cause__`` of a ``WaiterTimeoutError`` if time runs out."""

    cause: Exception


#: What a source saw of one server: the server; None, seen to be absent (deleted); an exception
#: that asking about it ended with (it ends the wait: a 401, a 403, the API's 404 for a server
#: that must exist); or :class:`Unseen`, not seen this time and why.
Sighting: TypeAlias = Server | Exception | Unseen | None


@runtime_checkable
class StatusSource(Protocol):
    """Where a watcher learns the statuses of the servers it waits for.

    A source that is also an async context manager (a shared board with a beat of its own) is
    entered by its ``StatusWatcher`` for the watcher's lifetime.
    """

    async def statuses(self, asks: Sequence[Ask]) -> Mapping[int, Sighting]:
        """The servers of ``asks`` as seen now: a :data:`Sighting` by server id.

        An id left out was not seen this time (ask again later). Never runs past the deadlines
        of the asks it still has to answer. Failing to ask is answered per server (an exception
        or :class:`Unseen`), never raised: an exception raised here ends the watcher.
        """


@runtime_checkable
class CreateLock(Protocol):
    """Excludes other creators of the same server name while one decides whether to create."""

    def hold(self, name: str, *, timeout: float) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the lock of ``name`` for the ``async with`` block; wait at most ``timeout``.

        Raises:
            TimeoutError: the lock was not free within ``timeout``.
        """


@runtime_checkable
class Coordinator(Protocol):
    """A backend shared by many processes: the pace, the statuses and the create locks of every
    client that uses it (``Client(coordinator=...)``). The client calls it; it never imports
    the client, the waiters or the fleets.
    """

    async def open(self) -> None:
        """Connect (idempotent); ``async with Client(...)`` awaits it.

        Raises:
            ConfigurationError: the backend cannot be reached.
        """

    def pacer(self, rate: float | None, *, clock: Clock, sleep: Sleep) -> Pacer:
        """The pacer of one client: ``rate`` requests per second shared by every process."""

    def create_lock(self) -> CreateLock:
        """The create lock every process shares."""

    def status_source(self, own: StatusSource, *, clock: Clock, sleep: Sleep) -> StatusSource:
        """The status source of one watcher, given the one it would use alone (``own``, which
        asks the API itself): a shared board, falling back to ``own`` when the board cannot
        answer."""


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
