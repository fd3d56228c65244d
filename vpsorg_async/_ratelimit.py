"""A client-wide, adaptive request pacer (botocore's "adaptive" retry mode, simplified).

Every request a Client makes passes ``wait_turn`` once per attempt (the ``_seams.Pacer``
protocol; a shared pacer can take this one's place). Two things can make it wait:

- a pace: at most ``rate`` requests per second, spaced evenly (GCRA: each request reserves the next
  free slot). Set by ``Client(rate_limit=...)``; absent by default.
- a pause: after a 429 with ``Retry-After``, every request of the client waits until then, so a
  fleet of thousands stops hammering at once instead of each task learning it on its own.

A 429 also lowers the pace multiplicatively (to 70% of the rate measured or set, never below
``MIN_RATE``); successes raise it additively back towards the configured limit. Without a configured
limit, the pace is lifted again once it has recovered to twice the rate at which throttling began.
We write this by hand instead of using aiolimiter because it must adapt, pause, respect the call's
deadline and run on an injectable clock and sleep (tests never wait for real).
"""

from __future__ import annotations

from collections.abc import Awaitable

from ._deadline import Clock, Sleep

#: Never pace below one request every two seconds, whatever the throttling.
MIN_RATE = 0.5
#: On a 429 the pace drops to this share of the current rate.
DECREASE_FACTOR = 0.7
#: Each success raises the pace by this share of the rate at which throttling began.
INCREASE_SHARE = 0.02


class DeadlineWouldPass(Exception):
    """Waiting for a slot would end after the call's deadline.

    Attributes:
        wait: seconds until this request's turn.
        pause: seconds left of the pause a 429 imposed (0 when only the pace asks to wait).
    """

    def __init__(self, wait: float, pause: float = 0.0) -> None:
        self.wait = wait
        self.pause = pause
        super().__init__(f"the rate limit asks to wait {wait:.2f} s, past the call's deadline")


class RateLimiter:
    """Paces and pauses the requests of one client. Not thread-safe; one event loop."""

    def __init__(self, rate: float | None, *, clock: Clock, sleep: Sleep) -> None:
        self._limit = rate
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next free slot
        self._pause_until = 0.0
        self._throttled_at: float | None = None
        self._window_start = clock()
        self._window_count = 0
        self._measured = 0.0

    @property
    def rate(self) -> float | None:
        """The current pace in requests per second (None: not paced)."""
        return self._rate

    def wait_turn(self, deadline: float) -> Awaitable[None] | None:
        """Take this request's turn: None to go now, else the sleep of the wait (the ``Pacer``
        seam; an unpaced request makes no coroutine).

        Raises DeadlineWouldPass, taking nothing, rather than wait past ``deadline``.
        """
        now = self._clock()
        start = now if now >= self._pause_until else self._pause_until
        if self._rate is not None:
            start = max(start, self._tat)
        wait = start - now
        if wait > 0 and start >= deadline:
            raise DeadlineWouldPass(wait, max(self._pause_until - now, 0.0))
        if self._rate is not None:
            self._tat = start + 1.0 / self._rate
        if now - self._window_start >= 1.0:  # the rate measured, for a 429's slowdown
            self._measured = self._window_count / (now - self._window_start)
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        return self._sleep(wait) if wait > 0 else None

    def on_throttle(self, retry_after: float | None) -> None:
        """A 429 came back: pause everyone until ``retry_after`` and slow the pace down."""
        now = self._clock()
        if retry_after is not None and retry_after > 0:
            self._pause_until = max(self._pause_until, now + retry_after)
        elapsed = max(now - self._window_start, 1e-3)
        current = self._rate or max(self._measured, self._window_count / max(elapsed, 1.0))
        self._rate = max(MIN_RATE, current * DECREASE_FACTOR)
        if self._throttled_at is None:
            self._throttled_at = max(current, MIN_RATE)

    def on_success(self) -> None:
        """A request went through: let the pace recover."""
        if self._throttled_at is None or self._rate is None:
            return
        ceiling = self._limit if self._limit is not None else 2 * self._throttled_at
        self._rate = min(ceiling, self._rate + INCREASE_SHARE * self._throttled_at)
        if self._rate >= ceiling:
            self._rate = self._limit  # back to the configured pace, or to none at all
            self._throttled_at = None
