"""Create locks every process of a namespace shares: a lease per server name in Redis.

``hold(name)`` takes the name's lease with ``SET key owner NX PX lease``. The owner value is a
fencing token (an ``INCR`` counter of the namespace: holders of one name are strictly ordered)
and a random part, so only the holder can renew or release it: renewing and releasing are
compare-then-act Lua scripts. One task renews every lease the process holds, all in one script
call, every third of the lease, so a lease lapses only when its holder died or lost Redis.

The VPS API cannot check a fencing token, so the token guards only the lock itself: a holder
whose lease lapsed anyway (Redis lost for a whole lease) is told by a warning, not stopped.
Waiting for a lease other processes hold is polling (``CREATE_LOCK_POLL_*``); tasks of one
process queue on an in-process lock first, so only one of them polls Redis per name. With Redis
lost, ``hold`` keeps trying until its timeout rather than creating unguarded: a duplicate server
is worse than a create that waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from .. import _policy as policy
from .._seams import LocalCreateLocks
from ._link import LOGGER, Link, RedisLost

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["RedisCreateLocks"]

#: KEYS: lease keys; ARGV[1]: the lease in ms, then one owner per key. Renews the keys still
#: owned; returns the 1-based positions of those that were not (lapsed, or taken since).
RENEW_SCRIPT = """
local lost = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
  else
    table.insert(lost, i)
  end
end
return lost
"""
#: KEYS[1]: a lease key; ARGV[1]: its owner. Deletes it only if still owned; 1 if deleted.
RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisCreateLocks:
    """The ``_seams.CreateLock`` of a namespace: per-name leases in Redis."""

    def __init__(
        self,
        link: Link,
        *,
        lease: float = policy.CREATE_LOCK_LEASE,
        poll_first: float = policy.CREATE_LOCK_POLL_FIRST,
        poll_max: float = policy.CREATE_LOCK_POLL_MAX,
    ) -> None:
        self._link = link
        self._lease_ms = max(int(lease * 1000), 1)
        self._poll = (poll_first, poll_max)
        self._renew_script: AsyncScript = link.redis.register_script(RENEW_SCRIPT)
        self._release_script: AsyncScript = link.redis.register_script(RELEASE_SCRIPT)
        self._local = LocalCreateLocks()
        self._held: dict[str, str] = {}  # lease key -> owner value, while held here
        self._renewer: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()  # set when nothing is held: the renewer then ends

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        """See ``_seams.CreateLock.hold``: the name's lease, renewed while the block runs.

        Raises:
            TimeoutError: other holders (or a lost Redis) kept it past ``timeout``.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if not math.isinf(timeout) else math.inf
        async with self._local.hold(name, timeout=timeout):
            key = self._link.key("create", name)
            owner = await self._acquire(key, deadline)
            self._held[key] = owner
            self._idle.clear()
            if self._renewer is None or self._renewer.done():
                self._renewer = loop.create_task(self._renew_while_held())
            try:
                yield
            finally:
                self._held.pop(key, None)
                if not self._held:
                    self._idle.set()  # woken, not cancelled: never cut off in a command
                await self._release(key, owner)

    async def _acquire(self, key: str, deadline: float) -> str:
        loop = asyncio.get_running_loop()
        delay = self._poll[0]
        while True:
            try:
                token = await self._link.run(self._link.redis.incr(self._link.key("fence")))
                owner = f"{token}:{secrets.token_hex(8)}"
                if await self._link.run(
                    self._link.redis.set(key, owner, nx=True, px=self._lease_ms)
                ):
                    return owner
            except RedisLost:
                pass  # Redis warned once; keep trying until the deadline
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"the create lock {key!r} was not free in time")
            await asyncio.sleep(min(random.uniform(delay / 2, delay), left))
            delay = min(delay * 2, self._poll[1])

    async def _release(self, key: str, owner: str) -> None:
        """Give the lease back if still ours; with Redis lost it lapses by itself."""
        with contextlib.suppress(RedisLost):
            await self._link.run(self._release_script(keys=[key], args=[owner]))

    async def _renew_while_held(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._lease_ms / 3000):
                    await self._idle.wait()
            held = dict(self._held)
            if not held:
                return
            try:
                lost = await self._link.run(
                    self._renew_script(keys=list(held), args=[self._lease_ms, *held.values()])
                )
            except RedisLost:
                continue  # the lease may lapse; the next round tries again
            keys = list(held)
            for position in lost:
                self._held.pop(keys[int(position) - 1], None)  # nothing left to renew
                LOGGER.warning(
                    "the create lock %s lapsed while held (Redis was away longer than its "
                    "lease): another process may create the same name",
                    keys[int(position) - 1],
                )
