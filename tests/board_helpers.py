"""Test-only coordinators: the client's in-process parts, and the shared board around them.

``LocalCoordinator`` is the one fake of the ``Coordinator`` protocol the tests build on;
``BoardCoordinator`` adds the board from Redis to it, so that the board can be tested through
``Client(coordinator=...)``, watchers and fleets (with the pacer and locks in process, unlike
``vpsorg_async.redis.RedisCoordinator``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
import redis.asyncio as aioredis

from vpsorg_async import ConfigurationError
from vpsorg_async._ratelimit import RateLimiter
from vpsorg_async._seams import CreateLock, LocalCreateLocks, Pacer, StatusSource
from vpsorg_async.redis._board import RedisStatusBoard

__all__ = ["BoardCoordinator", "LocalCoordinator"]


@attrs.define(eq=False)
class LocalCoordinator:
    """A ``Coordinator`` of the client's own in-process parts; a test replaces what it needs.

    The pacer is the client's ``RateLimiter``, the create locks ``LocalCreateLocks``, and the
    status source the watcher's own. Subclasses take the parts they pass through (a pacer's or a
    source's clock and sleep) as ``**parts``.

    Attributes:
        locks: the create locks every client of this coordinator holds.
    """

    locks: LocalCreateLocks = attrs.field(factory=LocalCreateLocks, init=False)

    async def open(self) -> None:
        """Nothing to reach: every part is in this process."""

    def pacer(self, rate: float | None, **parts: Any) -> Pacer:
        return RateLimiter(rate, **parts)

    def create_lock(self) -> CreateLock:
        return self.locks

    def status_source(self, own: StatusSource, **parts: Any) -> StatusSource:
        return own


@attrs.define(eq=False)
class BoardCoordinator(LocalCoordinator):
    """The shared board from Redis; an in-process pacer and create locks.

    Attributes:
        boards: every board handed out, in order (their ``stats`` tell what they did).
    """

    redis: aioredis.Redis
    namespace: str = attrs.field(kw_only=True)
    tick: float = attrs.field(kw_only=True)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, kw_only=True)
    boards: list[RedisStatusBoard] = attrs.field(factory=list, init=False)

    async def open(self) -> None:
        try:
            await self.redis.ping()
        except Exception as exc:
            raise ConfigurationError(f"Redis cannot be reached: {type(exc).__name__}") from exc

    def status_source(self, own: StatusSource, **parts: Any) -> StatusSource:
        # the board keeps this coordinator's clock: the tests drive its sweeps on fake time
        board = RedisStatusBoard(
            self.redis, namespace=self.namespace, own=own, tick=self.tick, clock=self.clock
        )
        self.boards.append(board)
        return board
