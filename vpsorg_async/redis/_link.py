"""The one connection every part of a coordinator shares: its keys, its time bound, its health.

Every Redis command of the pacer and the locks (and the watcher's board) goes through
:meth:`Link.run`, which bounds it by ``REDIS_TIMEOUT`` and turns "Redis is not there" (refused,
reset, timed out, still loading after a restart) into :class:`RedisLost`. The link notices when
Redis goes away and when it comes back: one warning per outage, not one per request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from redis import exceptions as redis_errors

from .. import _policy as policy
from .._errors import ValidationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["LOGGER", "Link", "RedisLost", "check_namespace", "safe_address"]

T = TypeVar("T")
LOGGER = logging.getLogger("vpsorg_async.redis")
#: A namespace goes inside a Redis Cluster hash tag (``{...}``), so it may not hold braces.
_NAMESPACE = re.compile(r"[A-Za-z0-9._:/-]{1,100}")
#: What "Redis is not there" looks like: redis-py's connection errors (which include a server
#: still loading its data), its timeouts, our own time bound, and the socket's errors.
_LOST = (redis_errors.ConnectionError, redis_errors.TimeoutError, TimeoutError, OSError)


class RedisLost(Exception):
    """Redis did not answer (the cause says why); callers fall back to what they do alone."""


def check_namespace(namespace: object) -> str:
    """``namespace`` if it is a usable one.

    Raises:
        ValidationError: not 1-100 characters of letters, digits and ``._:/-``.
    """
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValidationError(
            "namespace", "must be 1-100 characters of letters, digits and . _ : / -"
        )
    return namespace


def safe_address(redis: Redis) -> str:
    """Where ``redis`` connects, for messages and reprs: never its user or password."""
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    scheme = "rediss" if "SSL" in redis.connection_pool.connection_class.__name__ else "redis"
    return f"{scheme}://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


class Link:
    """A Redis client, the keys of one namespace, and whether Redis is there."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace
        self.address = safe_address(redis)
        self.lost = False

    def key(self, *parts: str) -> str:
        """``vpsorg:{namespace}:part:...``; the hash tag keeps a namespace on one cluster slot."""
        return ":".join(["vpsorg", f"{{{self.namespace}}}", *parts])

    async def run(self, command: Awaitable[T]) -> T:
        """Await ``command`` within ``REDIS_TIMEOUT``; note whether Redis answered.

        Raises:
            RedisLost: Redis did not answer (any other Redis error goes on as it is).
        """
        try:
            async with asyncio.timeout(policy.REDIS_TIMEOUT):
                answer = await command
        except _LOST as exc:
            self.lose(exc)
            raise RedisLost(self.describe(exc)) from None
        if self.lost:
            self.lost = False
            LOGGER.warning("Redis at %s is back: sharing again", self.address)
        return answer

    def lose(self, exc: BaseException) -> None:
        """Redis went away: warn, once per outage."""
        if not self.lost:
            self.lost = True
            LOGGER.warning(
                "Redis at %s is lost (%s): this process paces itself until it returns",
                self.address,
                self.describe(exc),
            )

    def describe(self, exc: BaseException) -> str:
        """A one-line account of ``exc`` with any password of the connection blanked out."""
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        password = self.redis.connection_pool.connection_kwargs.get("password")
        return text.replace(password, "***") if password else text
