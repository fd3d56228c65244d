"""A test-only coordinator around the shared board: the board from Redis, the rest in process.

It stands in for ``vpsorg_async.redis.RedisCoordinator`` (built on another branch) so that the
board can be tested through ``Client(coordinator=...)``, watchers and fleets, as users will use it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from vpsorg_async import ConfigurationError
from vpsorg_async._ratelimit import RateLimiter
from vpsorg_async._seams import CreateLock, LocalCreateLocks, Pacer, StatusSource
from vpsorg_async.redis._board import RedisStatusBoard

__all__ = ["BoardCoordinator"]


class BoardCoordinator:
    """The shared board from Redis; an in-process pacer and create locks.

    Attributes:
        boards: every board handed out, in order (their ``stats`` tell what they did).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        tick: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.tick = tick
        self.clock = clock
        self.boards: list[RedisStatusBoard] = []
        self._locks = LocalCreateLocks()

    async def open(self) -> None:
        try:
            await self.redis.ping()
        except Exception as exc:
            raise ConfigurationError(f"Redis cannot be reached: {type(exc).__name__}") from exc

    def pacer(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> Pacer:
        return RateLimiter(rate, clock=clock, sleep=sleep)

    def create_lock(self) -> CreateLock:
        return self._locks

    def status_source(
        self,
        own: StatusSource,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> StatusSource:
        board = RedisStatusBoard(
            self.redis, namespace=self.namespace, own=own, tick=self.tick, clock=self.clock
        )
        self.boards.append(board)
        return board
