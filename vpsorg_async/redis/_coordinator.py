"""``RedisCoordinator``: the pace, the create locks and the statuses of many processes, on Redis."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, TypedDict, Unpack

from .. import _policy as policy
from .._deadline import Clock, Sleep
from .._errors import ConfigurationError, ValidationError
from .._seams import StatusSource
from ._board import RedisStatusBoard
from ._link import Link, check_namespace
from ._locks import RedisCreateLocks
from ._pacer import PACE_SCRIPT, RedisPacer

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisCoordinator"]


class RedisTuning(TypedDict, total=False):
    """The optional settings of :class:`RedisCoordinator` (as its constructor), for ``from_url``."""

    expected_processes: int
    burst: float
    board_tick: float


class RedisCoordinator:
    """Shares one Redis among every process of a namespace (``Client(coordinator=...)``).

    Each client given it takes its request turns from the namespace's shared pace (its
    ``rate_limit`` is then the budget of all the processes together, and a 429 anywhere pauses
    and slows them all) and holds its create locks there. Processes of one namespace should share
    one API token: the namespace is the budget the provider counts.

    Args:
        redis: a ``redis.asyncio.Redis`` client (``redis.asyncio.from_url("redis://...")``).
        namespace: the name shared by every process of one budget (1-100 letters, digits and
            ``._:/-``); its keys are ``vpsorg:{namespace}:...``.
        expected_processes: how many processes share the namespace. With Redis lost, each paces
            itself at ``rate_limit / expected_processes`` until Redis is back (default 8).
        burst: the shared pace's burst, in seconds of the rate (default 0.2).
        board_tick: how often the elected process sweeps for every process of the namespace
            (the shared watcher's tick, default 1 s: the waiters' first poll interval).

    Raises:
        ValidationError: a bad namespace, ``expected_processes`` or ``burst``.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        namespace: str,
        expected_processes: int = policy.REDIS_EXPECTED_PROCESSES,
        burst: float = policy.REDIS_BURST,
        board_tick: float = policy.BOARD_TICK,
    ) -> None:
        if type(expected_processes) is not int or expected_processes < 1:
            raise ValidationError("expected_processes", "must be a positive integer")
        if type(burst) not in (int, float) or not 0 <= burst < math.inf:
            raise ValidationError("burst", "must be a number of seconds, 0 or more")
        self._link = Link(redis, check_namespace(namespace))
        self.expected_processes = expected_processes
        self.burst = float(burst)
        self.board_tick = board_tick
        self._pace_script = redis.register_script(PACE_SCRIPT)
        self._locks: RedisCreateLocks | None = None
        self._owns_redis = False  # from_url made the client: aclose closes it

    @classmethod
    def from_url(
        cls, url: str, *, namespace: str, **tuning: Unpack[RedisTuning]
    ) -> RedisCoordinator:
        """A coordinator on a new client for ``url`` (``redis://[:password@]host:port/db``).

        ``namespace``, ``expected_processes``, ``burst`` and ``board_tick`` as the constructor.

        Raises:
            ConfigurationError: ``url`` is not a Redis URL (the message never quotes it).
        """
        import redis.asyncio

        try:
            client = redis.asyncio.from_url(url)
        except ValueError as exc:
            raise ConfigurationError(
                f"not a Redis URL: use redis://, rediss:// or unix:// ({type(exc).__name__})"
            ) from None
        made = cls(client, namespace=namespace, **tuning)
        made._owns_redis = True
        return made

    @property
    def namespace(self) -> str:
        """The namespace every process of this budget shares."""
        return self._link.namespace

    def __repr__(self) -> str:
        return f"<RedisCoordinator {self._link.address} namespace={self.namespace!r}>"

    async def open(self) -> None:
        """Check that Redis answers (``async with Client(...)`` calls this).

        Raises:
            ConfigurationError: Redis cannot be reached or refuses us (the message names its
                host, never a password).
        """
        from redis import exceptions as redis_errors

        try:  # not through the link: no "lost" warning for a Redis that never was there
            async with asyncio.timeout(policy.REDIS_TIMEOUT):
                await self._link.redis.ping()
        except (redis_errors.RedisError, OSError, TimeoutError) as exc:
            raise ConfigurationError(
                f"cannot reach Redis at {self._link.address}: {self._link.describe(exc)}"
            ) from None

    async def aclose(self) -> None:
        """Close the Redis client if :meth:`from_url` made it (one you passed stays yours)."""
        if self._owns_redis:
            await self._link.redis.aclose()

    def pacer(self, rate: float | None, *, clock: Clock, sleep: Sleep) -> RedisPacer:
        """The pacer of one client: ``rate`` requests per second across every process."""
        return RedisPacer(
            self._link,
            self._pace_script,
            rate,
            clock=clock,
            sleep=sleep,
            burst=self.burst,
            expected_processes=self.expected_processes,
        )

    def create_lock(self) -> RedisCreateLocks:
        """The namespace's create locks (one per coordinator, shared by its clients)."""
        if self._locks is None:
            self._locks = RedisCreateLocks(self._link)
        return self._locks

    def status_source(self, own: StatusSource, *, clock: Clock, sleep: Sleep) -> StatusSource:
        """The status source of one watcher: the namespace's shared board
        (:class:`~vpsorg_async.redis._board.RedisStatusBoard`), which falls back to ``own``
        (the watcher's own sweeps) while Redis is lost."""
        return RedisStatusBoard(
            self._link.redis,
            namespace=self.namespace,
            own=own,
            tick=self.board_tick,
            clock=clock,
            sleep=sleep,
        )
