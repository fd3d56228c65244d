"""The pace shared by every process of a namespace: GCRA in one Lua script, on Redis's clock.

The in-process rules of ``_ratelimit`` (pace, pause on 429, cut to 70%, recover additively) hold
here for the whole namespace, kept in one Redis hash that one atomic script reads and writes:

- **The pace** is GCRA (the generic cell rate algorithm): the hash holds the theoretical arrival
  time ``tat`` of the next free slot; a turn goes at ``max(now, tat - burst)`` and moves ``tat``
  one interval (``1 / rate``) on. ``now`` is Redis's ``TIME``, so clock skew between machines
  does not matter; the burst is in seconds, so cutting the rate does not leave it oversized.
  The script answers with the wait; the process sleeps it on the client's own clock.
- **A 429 anywhere** pauses every process until its ``Retry-After`` (a shared ``pause``) and cuts
  the shared rate. Only the first 429 of a window cuts (``calm``: the later ones answer
  requests sent before the cut), so N processes do not cut it N times.
- **Successes** raise the shared rate again, as in process. They ride on the next turn's script
  call (a count), so recovering costs no round-trip of its own.
- **Redis lost**: the process paces itself with an in-process ``RateLimiter`` at
  ``rate / expected_processes``, which hears every success and 429 all along, and asks Redis
  again at most once per ``REDIS_RETRY_INTERVAL`` of the client's clock. A request never fails
  because Redis did. ``NOSCRIPT`` after a Redis restart is redis-py's ``Script``'s to handle: it
  loads the script again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .. import _policy as policy
from .._deadline import Clock, Sleep
from .._ratelimit import DECREASE_FACTOR, INCREASE_SHARE, MIN_RATE, DeadlineWouldPass, RateLimiter
from ._link import Link, RedisLost

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

__all__ = ["PACE_SCRIPT", "RedisPacer"]

#: Longest wait handed to the script: "no deadline" (math.inf) in a form Lua reads back.
_NO_DEADLINE = 1e9

#: KEYS[1]: the namespace's pace hash. ARGV: take a turn (1/0); the configured rate ('' none);
#: burst s; the longest wait the caller accepts, s; successes since the last call; a 429 came
#: (1/0); its Retry-After s (0 none); the calm window s; MIN_RATE; DECREASE_FACTOR;
#: INCREASE_SHARE; the hash's TTL in ms. Returns {taken 1/0, wait s, pause left s, rate or '',
#: cut 1/0}: numbers as strings, since Redis would truncate a Lua number to an integer.
PACE_SCRIPT = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limit = tonumber(ARGV[2])
local burst, max_wait = tonumber(ARGV[3]), tonumber(ARGV[4])
local min_rate, decrease, share = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local s = redis.call('HMGET', key, 'tat', 'rate', 'pause', 'base', 'calm', 'win', 'cnt', 'measured')
local tat = tonumber(s[1]) or 0
local base = tonumber(s[4])
local rate = limit
if base then rate = tonumber(s[2]) end
local pause = tonumber(s[3]) or 0
local calm = tonumber(s[5]) or 0
local win = tonumber(s[6]) or now
local cnt = tonumber(s[7]) or 0
local measured = tonumber(s[8]) or 0
local cut = 0
if ARGV[6] == '1' then
  local after = tonumber(ARGV[7])
  if after > 0 then pause = math.max(pause, now + after) end
  if now >= calm then
    local current = rate or math.max(measured, cnt / math.max(now - win, 1))
    rate = math.max(min_rate, current * decrease)
    if not base then base = math.max(current, min_rate) end
    calm = now + math.max(tonumber(ARGV[8]), after)
    cut = 1
  end
end
local successes = tonumber(ARGV[5])
if successes > 0 and base then
  local ceiling = limit or 2 * base
  rate = math.min(ceiling, rate + successes * share * base)
  if rate >= ceiling then rate, base = limit, nil end
end
local taken, wait = 0, 0
if ARGV[1] == '1' then
  local start = math.max(now, pause)
  if rate then start = math.max(start, tat - burst) end
  wait = start - now
  if not (wait > 0 and wait >= max_wait) then
    taken = 1
    if rate then tat = math.max(tat, start) + 1 / rate end
    if now - win >= 1 then measured, win, cnt = cnt / (now - win), now, 0 end
    cnt = cnt + 1
  end
end
local f = function(x) return string.format('%.6f', x) end
redis.call('HSET', key, 'tat', f(tat), 'pause', f(pause), 'calm', f(calm), 'win', f(win),
  'cnt', cnt, 'measured', f(measured))
if base then
  redis.call('HSET', key, 'rate', f(rate), 'base', f(base))
else
  redis.call('HDEL', key, 'rate', 'base')
end
redis.call('PEXPIRE', key, ARGV[12])
local shown = ''
if rate then shown = f(rate) end
return {taken, f(wait), f(math.max(pause - now, 0)), shown, cut}
"""


class RedisPacer:
    """One client's pacer over the namespace's shared pace (the ``_seams.Pacer`` protocol)."""

    def __init__(
        self,
        link: Link,
        script: AsyncScript,
        rate: float | None,
        *,
        clock: Clock,
        sleep: Sleep,
        burst: float,
        expected_processes: int,
    ) -> None:
        self._link = link
        self._script = script
        self._key = link.key("pace")
        self._limit = "" if rate is None else repr(float(rate))
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        #: Paces this process alone while Redis is lost; hears every 429 and success all along.
        self.fallback = RateLimiter(
            None if rate is None else rate / expected_processes, clock=clock, sleep=sleep
        )
        self._successes = 0  # successes not yet told to Redis
        self._throttle: float | None = None  # a 429's Retry-After (0: none) not yet told
        self._retry_at = -float("inf")  # when to ask Redis again after losing it
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def shared(self) -> bool:
        """Whether turns are taken in Redis (False: Redis was lost; the fallback paces)."""
        return self._retry_at == -float("inf")

    async def wait_turn(self, deadline: float) -> None:
        """See ``_seams.Pacer.wait_turn``: a turn of the shared pace, else of the fallback."""
        now = self._clock()
        if now >= self._retry_at:
            try:
                taken, wait, pause = await self._call(take=True, max_wait=deadline - now)
            except RedisLost:
                self._retry_at = self._clock() + policy.REDIS_RETRY_INTERVAL
            else:
                self._retry_at = -float("inf")
                if not taken:
                    raise DeadlineWouldPass(wait, pause)
                if wait > 0:
                    await self._sleep(wait)
                return
        turn = self.fallback.wait_turn(deadline)
        if turn is not None:
            await turn

    def on_success(self) -> None:
        """See ``_seams.Pacer.on_success``: counted, and told to Redis with the next turn."""
        self._successes += 1
        self.fallback.on_success()

    def on_throttle(self, retry_after: float | None) -> None:
        """See ``_seams.Pacer.on_throttle``: told to Redis at once, so every process pauses."""
        self.fallback.on_throttle(retry_after)
        self._throttle = max(self._throttle or 0.0, retry_after or 0.0)
        task = asyncio.get_running_loop().create_task(self._tell())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _tell(self) -> None:
        """Tell Redis of a 429 without waiting for this process's next turn."""
        if self._throttle is not None and self.shared:
            try:
                await self._call(take=False, max_wait=0.0)
            except RedisLost:
                self._retry_at = self._clock() + policy.REDIS_RETRY_INTERVAL

    async def _call(self, *, take: bool, max_wait: float) -> tuple[bool, float, float]:
        """One run of the script: the pending news, and a turn if ``take``; (taken, wait, pause).

        The news is handed over before the call; if Redis is lost with it, it is dropped: the
        fallback heard it already, and a stale 429 told later would cut a recovered rate.
        """
        successes, self._successes = self._successes, 0
        throttle, self._throttle = self._throttle, None
        args: list[str | int | float] = [
            int(take), self._limit, self._burst, min(max_wait, _NO_DEADLINE), successes,
            int(throttle is not None), throttle or 0.0, policy.THROTTLE_WINDOW, MIN_RATE,
            DECREASE_FACTOR, INCREASE_SHARE, int(policy.PACE_STATE_TTL * 1000),
        ]  # fmt: skip
        answer = await self._link.run(self._script(keys=[self._key], args=args))
        taken, wait, pause = answer[0], answer[1], answer[2]
        return bool(int(taken)), float(wait), float(pause)
