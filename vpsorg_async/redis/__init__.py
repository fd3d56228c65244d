"""Many processes and machines sharing one budget, through Redis (``pip install 'vpsorg-async[redis]'``).

::

    import redis.asyncio as redis
    from vpsorg_async import Client, fleet
    from vpsorg_async.redis import RedisCoordinator

    coordinator = RedisCoordinator(redis.from_url("redis://cache:6379/0"), namespace="acme-prod")
    async with Client(rate_limit=50, coordinator=coordinator) as client:  # 50/s across ALL processes
        mine = fleet.shard(server_ids, index=worker_index, count=worker_count)
        result = await fleet.start(client, mine, wait=True)

:class:`RedisCoordinator` plugs into the client's seams (``vpsorg_async._seams``): a pace shared
by every process (``_pacer``: GCRA in one Lua script on Redis's clock, a 429 anywhere pauses and
slows everyone, a lost Redis falls back to pacing alone), create locks shared by every process
(``_locks``: leases with fencing tokens), and the waiters' status source. ``_link`` is the one
connection they share. The client, the waiters and the fleets never import this package.
"""

from __future__ import annotations

try:
    import redis as _redis  # noqa: F401 - only to say what is missing
except ImportError as exc:  # pragma: no cover - the test extra installs redis
    raise ImportError(
        "vpsorg_async.redis needs the redis package: pip install 'vpsorg-async[redis]'"
    ) from exc

from ._coordinator import RedisCoordinator

__all__ = ["RedisCoordinator"]
