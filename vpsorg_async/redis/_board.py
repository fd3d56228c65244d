"""``RedisStatusBoard``: the shared watcher. One process of a namespace sweeps; all read Redis.

Every process's watcher asks its board instead of the API. The board registers the servers asked
about in Redis, says it wants a sweep, and reads what the last sweep saw. One board per namespace
is the *leader*, elected by a lease; each beat it sweeps, at most once per tick and only when
someone wanted a sweep since the last, asking its own in-process source
(``waiters._sweep.ApiStatusSource``) about every server registered by any process, and publishes
what it saw. The cluster pays one sweep per tick, not one per process.

The keys, under ``vpsorg:<namespace>:watch:``:

- ``lease``: the leader's token (``SET NX PX``). The leader renews it every beat with a script
  that checks the token; a leader that died (SIGKILL) stops renewing, and a follower, which bids
  every beat, takes over within ``BOARD_LEASE_TICKS`` + one beat: 2 ticks.
- ``asks``: a hash ``"<board>:<server id>"`` -> the server's location, deadline (on Redis time,
  so clocks of different machines never meet) and whether an unlisted server is gone. The leader
  drops a registration past its deadline; a board drops its own when its wait ends.
- ``wanted``: the Redis time of the last ask; ``swept`` and ``ended``: the Redis times the last
  sweep began and ended. The next sweep waits for a tick after the end of the last.
- ``seen``: a hash server id -> the sighting (``_sightings``), stamped with its sweep's start.
  The leader publishes through a script that checks its token first: a leader that lost its
  lease mid-sweep publishes nothing.

A sighting counts for an ask when its sweep began after the ask was first registered and at most
one tick before the ask: a follower never judges a wait by a status older than the wait itself.
Short of one, it waits for the next sweep (at most ``BOARD_WAIT_TICKS``, never past a deadline),
then answers :class:`~vpsorg_async._seams.Unseen`.

When Redis fails (down, restarted, too slow), the board answers from its own source, as the
process would alone; it warns once, and reads the board again as soon as Redis answers. A Redis
restarted empty loses nothing: every board registers its asks again on its next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from .. import _policy as policy
from .._errors import ValidationError
from .._redact import bounded
from .._seams import Ask, Sighting, StatusSource, Unseen
from ._sightings import BoardStaleError, dump_ask, dump_sighting, load_ask, load_sighting, merge

__all__ = ["BoardStats", "RedisStatusBoard"]

logger = logging.getLogger("vpsorg_async")

#: What losing Redis looks like: its own errors, a socket's, or our per-command timeout.
LOST = (RedisError, OSError, TimeoutError)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
# KEYS: lease, seen, swept, ended; ARGV: token, sweep start, sweep end, then field/value pairs
_PUBLISH = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 4, #ARGV, 2 do redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('set', KEYS[3], ARGV[2])
redis.call('set', KEYS[4], ARGV[3])
return 1
"""


@attrs.define
class BoardStats:
    """What one board did, for tests, benchmarks and the demo.

    Attributes:
        sweeps: sweeps it made as the leader (and published).
        takeovers: times it took the lease.
        fallbacks: calls it answered from its own source because Redis failed.
    """

    sweeps: int = 0
    takeovers: int = 0
    fallbacks: int = 0


def _raise_if_cancelled(exc: BaseException | None) -> None:
    """Raise ``CancelledError`` if this task is being cancelled: redis-py may turn a cancel that
    lands mid-command into a connection error (or swallow it), and a beat or a call that carried
    on would never end."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from exc


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class RedisStatusBoard:
    """A :class:`~vpsorg_async._seams.StatusSource` shared by every process of a namespace.

    ``RedisCoordinator.status_source(own)`` returns one for each watcher. The watcher enters it
    (``async with``) for its lifetime: inside, a beat every ``tick / BOARD_BEATS`` bids for the
    lease, renews it, and sweeps when it leads; on the way out it gives the lease up (another
    board takes over at its next beat) and withdraws its registrations. Used without
    ``async with``, each call beats once itself.

    Args:
        redis: an asyncio Redis client (``redis.asyncio.Redis``), shared by the process.
        namespace: the cluster's name: boards of one namespace share a leader and a board.
        own: the source this process would use alone (it sweeps when this board leads, and
            answers every call while Redis is lost).
        tick: how often the leader may sweep, in seconds.
        clock: the clock of the asks' deadlines (the client's, ``time.monotonic`` by default).
        sleep: how to wait (tests pass a fast one).
        redis_timeout: the longest one Redis command may take before Redis counts as lost.

    Raises:
        ValidationError: an empty namespace or a tick that is not a positive number.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        own: StatusSource,
        tick: float = policy.BOARD_TICK,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        redis_timeout: float = policy.BOARD_REDIS_TIMEOUT,
    ) -> None:
        if not isinstance(namespace, str) or not namespace:
            raise ValidationError("namespace", "must be a non-empty string")
        if not tick > 0 or not redis_timeout > 0:
            raise ValidationError("tick", "tick and redis_timeout must be positive numbers")
        self.stats = BoardStats()
        self._redis = redis
        self._own = own
        self._tick = tick
        self._clock = clock
        self._sleep = sleep
        self._timeout = redis_timeout
        prefix = f"vpsorg:{namespace}:watch:"
        self._lease, self._asks, self._seen = prefix + "lease", prefix + "asks", prefix + "seen"
        self._wanted, self._swept, self._ended = (
            prefix + "wanted",
            prefix + "swept",
            prefix + "ended",
        )
        # this board's lease token and registration prefix: who holds the lease, for people
        # (``GET vpsorg:<namespace>:watch:lease``), and a random part no other board has
        self._token = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        self._leading = False
        self._registered: set[str] = set()  # the fields of ``asks`` this board wrote
        self._starts: dict[tuple[int, float], float] = {}  # (id, deadline) -> first registered
        self._lost = False  # Redis failed; warned once; cleared when it answers again
        self._task: asyncio.Task[None] | None = None
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._publish = redis.register_script(_PUBLISH)

    def __repr__(self) -> str:
        role = "leader" if self._leading else "follower"
        return f"<RedisStatusBoard {self._lease.removesuffix(':watch:lease')!r} {role}>"

    @property
    def leading(self) -> bool:
        """Whether this board held the lease at its last beat."""
        return self._leading

    async def __aenter__(self) -> RedisStatusBoard:
        if self._task is not None:
            raise RuntimeError("a RedisStatusBoard can be entered only once")
        self._task = asyncio.create_task(self._run(), name="vpsorg-status-board")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None, "not entered"
        self._task.cancel()
        await asyncio.wait([self._task])
        # best effort: a board that cannot reach Redis leaves the lease to expire and its
        # registrations to their deadlines
        with contextlib.suppress(*LOST):
            async with asyncio.timeout(self._timeout):
                if self._leading:
                    await self._release(keys=[self._lease], args=[self._token])
                if self._registered:
                    await self._redis.hdel(self._asks, *self._registered)
        self._leading = False
        self._registered.clear()

    # -- answering a watcher ----------------------------------------------------------------------

    async def statuses(self, asks: Sequence[Ask]) -> Mapping[int, Sighting]:
        """See :meth:`~vpsorg_async._seams.StatusSource.statuses`: read from the board, or from
        the own source while Redis is lost."""
        seen: dict[int, Sighting] = {}
        if not asks:
            return seen
        try:
            await self._from_board(asks, seen)
        except LOST as exc:
            _raise_if_cancelled(exc)
            self._lose(exc)
            self.stats.fallbacks += 1
            rest = [ask for ask in asks if ask.server_id not in seen]
            seen.update(await self._own.statuses(rest))
        return seen

    async def _from_board(self, asks: Sequence[Ask], seen: dict[int, Sighting]) -> None:
        called = self._clock()
        now = await self._now()
        fields: dict[str, str] = {}
        need: dict[int, float] = {}
        starts: dict[tuple[int, float], float] = {}
        for ask in asks:
            key = (ask.server_id, ask.deadline)
            starts[key] = self._starts.get(key, now)
            need[ask.server_id] = max(starts[key], now - self._tick)
            shared = ask.deadline - called + now  # the deadline on Redis time
            fields[f"{self._token}:{ask.server_id}"] = dump_ask(ask, deadline=shared)
        ids = [ask.server_id for ask in asks]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._asks, mapping=fields)  # type: ignore[arg-type]
            if dropped := self._registered - fields.keys():
                pipe.hdel(self._asks, *dropped)
            pipe.set(self._wanted, repr(now))
            pipe.hmget(self._seen, ids)
            async with asyncio.timeout(self._timeout):
                results = await pipe.execute()
        self._starts, self._registered = starts, set(fields)
        self._found()
        pending = self._take(asks, results[-1], need, seen)
        if pending:
            until = min(
                called + policy.BOARD_WAIT_TICKS * self._tick, *(a.deadline for a in pending)
            )
            while pending and (left := until - self._clock()) > 0:
                if self._task is None:  # not entered: no beat runs unless this call beats
                    await self._beat()
                await self._sleep(min(self._tick / policy.BOARD_BEATS, left))
                async with asyncio.timeout(self._timeout):
                    values = await self._redis.hmget(self._seen, [a.server_id for a in pending])
                pending = self._take(pending, values, need, seen)
        for ask in pending:
            seen[ask.server_id] = Unseen(
                BoardStaleError(
                    f"no sweep of server {ask.server_id} on the shared board since it was asked"
                )
            )

    def _take(
        self,
        asks: Sequence[Ask],
        values: Sequence[Any],
        need: Mapping[int, float],
        seen: dict[int, Sighting],
    ) -> list[Ask]:
        """Put the fresh sightings of ``values`` (one per ask) into ``seen``; return the rest."""
        pending = []
        for ask, value in zip(asks, values, strict=True):
            try:
                at, sighting = load_sighting(value) if value is not None else (None, None)
            except ValueError:
                at = None  # not ours, or garbled: not seen
            if at is not None and at >= need[ask.server_id]:
                seen[ask.server_id] = sighting
            else:
                pending.append(ask)
        return pending

    def _lose(self, exc: BaseException) -> None:
        self._leading = False
        if not self._lost:
            self._lost = True
            logger.warning(
                "the shared status board in Redis cannot be used (%s: %s); this process polls "
                "the API itself until Redis answers again",
                type(exc).__name__,
                bounded(str(exc), policy.WIRE_MESSAGE_CHARS),
            )

    def _found(self) -> None:
        if self._lost:
            self._lost = False
            logger.warning("the shared status board in Redis answers again; reading it")

    async def _now(self) -> float:
        """Redis's time: one clock for every machine of the cluster."""
        async with asyncio.timeout(self._timeout):
            seconds, micros = await self._redis.time()
        return float(seconds) + float(micros) / 1e6

    # -- the beat: the lease, and the leader's sweeps ---------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._beat()
            except LOST as exc:  # the calls warn and fall back; the beat just tries again
                _raise_if_cancelled(exc)
                self._leading = False
                logger.debug("status board beat failed: %s", exc)
            _raise_if_cancelled(None)
            await self._sleep(self._tick / policy.BOARD_BEATS)

    async def _beat(self) -> None:
        """Renew the lease (or bid for it), then sweep if leading and a sweep is due."""
        ttl = max(1, round(policy.BOARD_LEASE_TICKS * self._tick * 1000))
        async with asyncio.timeout(self._timeout):
            if self._leading:
                self._leading = bool(await self._renew(keys=[self._lease], args=[self._token, ttl]))
                if not self._leading:
                    logger.info("status board: lease lost; following")
            elif await self._redis.set(self._lease, self._token, nx=True, px=ttl):
                self._leading = True
                self.stats.takeovers += 1
                logger.info("status board: took the lease; sweeping for the namespace")
        if self._leading:
            await self._sweep()

    async def _sweep(self) -> None:
        async with asyncio.timeout(self._timeout), self._redis.pipeline(transaction=True) as pipe:
            pipe.time()
            pipe.get(self._wanted)
            pipe.get(self._swept)
            pipe.get(self._ended)
            pipe.hgetall(self._asks)
            pipe.hkeys(self._seen)
            (seconds, micros), wanted, swept, ended, stored, known = await pipe.execute()
        now = float(seconds) + float(micros) / 1e6
        wanted, swept, ended = _float(wanted), _float(swept), _float(ended)
        if wanted is None or (swept is not None and wanted <= swept):
            return  # nobody asked since the last sweep began
        if ended is not None and now - ended < self._tick:
            # a tick from the end of the last sweep, not its start: a sweep whose pages waited
            # for the pacer never lands next to the next one
            return
        registered, expired = [], []
        for field, value in stored.items():
            try:
                entry = load_ask(field, value)
            except ValueError:
                entry = None  # not a registration a board wrote: drop it
            if entry is not None and entry.deadline >= now:
                registered.append(entry)
            else:
                expired.append(field)
        wanted_ids = {str(entry.server_id) for entry in registered}
        # forget sightings nobody waits for any more, and registrations past their deadline
        forgotten = [key for key in known if key.decode() not in wanted_ids]
        async with asyncio.timeout(self._timeout), self._redis.pipeline() as pipe:
            if expired:
                pipe.hdel(self._asks, *expired)
            if forgotten:
                pipe.hdel(self._seen, *forgotten)
            await pipe.execute()
        local = self._clock()
        horizon = local + self._tick  # a sweep never outlives the lease it began under
        asks = [
            Ask(r.server_id, min(r.deadline - now + local, horizon), r.location, r.unlisted_is_gone)
            for r in merge(registered)
        ]
        sightings = await self._own.statuses(asks) if asks else {}
        pairs: list[str] = []
        for server_id, sighting in sightings.items():
            pairs += [str(server_id), dump_sighting(sighting, at=now)]
        ended = await self._now()
        async with asyncio.timeout(self._timeout):
            published = await self._publish(
                keys=[self._lease, self._seen, self._swept, self._ended],
                args=[self._token, repr(now), repr(ended), *pairs],
            )
        if not published:
            self._leading = False
            logger.info("status board: lease lost during a sweep; its sightings were dropped")
            return
        self.stats.sweeps += 1
