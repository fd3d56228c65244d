"""When to poll: the timing options of a wait (:class:`Polling`), and the pauses between polls.

Pauses follow ``backoff.expo`` from ``poll_interval`` up to ``max_poll_interval``, jittered; every
request made toward a deadline gets at most the time left (:func:`request_timeout`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import attrs
import backoff

from .. import _policy as policy
from .._errors import ValidationError

__all__ = [
    "AgeSchedule",
    "Jitter",
    "PollSchedule",
    "Polling",
    "check_seconds",
    "half_jitter",
    "request_timeout",
]

Jitter = Callable[[float], float]


def half_jitter(delay: float) -> float:
    """Half of ``delay`` plus up to the other half at random (backoff's full jitter on top).

    Full jitter alone may draw a pause near zero, which makes a poller hammer the API right
    after it was told to wait; half jitter keeps polls spread out but never much early.
    """
    return delay / 2 + backoff.full_jitter(delay / 2)


class PollSchedule:
    """Pauses between polls: ``backoff.expo`` from ``first``, each ``growth`` times the last, up
    to ``cap``, jittered."""

    def __init__(
        self,
        *,
        first: float,
        cap: float,
        jitter: Jitter | None,
        growth: float = policy.SINGLE_POLL_GROWTH,
    ) -> None:
        self._growth = growth
        self._first = first
        self._cap = cap
        self._jitter = jitter
        self._delays = self._fresh()

    def _fresh(self) -> Generator[float, Any, None]:
        delays: Generator[float, Any, None] = backoff.expo(
            base=self._growth, factor=self._first, max_value=self._cap
        )
        next(delays)  # backoff's wait generators are primed before use
        return delays

    def restart(self) -> None:
        """Begin again at ``first`` (new servers joined a shared poller)."""
        self._delays = self._fresh()

    def next_delay(self) -> float:
        """The next pause in seconds, jittered, never above ``cap`` nor below 0."""
        delay = next(self._delays)
        if self._jitter is not None:
            delay = self._jitter(delay)
        return min(max(delay, 0.0), self._cap)


class AgeSchedule:
    """Pauses of a shared poller, in proportion to how long its servers have been waited for.

    Each pause is ``growth - 1`` times the time since the last server joined, never less than
    ``first`` nor more than ``cap``, jittered downwards only. Past the first few ticks each one
    stands at ``growth`` times the previous one's age, so a change that took ``T`` seconds after
    the last request is seen by ``growth * T`` (or ``T + first``, early on). A geometric series
    of pauses (``PollSchedule``) outgrows the time waited and may see it only at about ``2 T``.
    """

    def __init__(self, *, first: float, cap: float, jitter: Jitter | None, growth: float) -> None:
        self._first = first
        self._cap = cap
        self._jitter = jitter
        self._share = growth - 1
        self._since = 0.0

    def restart(self, now: float) -> None:
        """Count the time waited from ``now`` (new servers joined)."""
        self._since = now

    def next_delay(self, now: float) -> float:
        """The pause after a tick at ``now``, jittered, within ``first`` and ``cap``."""
        delay = max(self._first, self._share * (now - self._since))
        if self._jitter is not None:
            delay = self._jitter(delay)
        return min(max(delay, 0.0), self._cap)


def check_seconds(param: str, value: object, *, zero: bool = False) -> None:
    """Refuse anything but a positive number of seconds (>= 0 with ``zero``); NaN too.

    Raises:
        ValidationError: ``value`` is not such a number.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (value >= 0 if zero else value > 0)  # also refuses NaN
    ):
        rule = "a number >= 0" if zero else "a positive number"
        raise ValidationError(param, f"must be {rule} of seconds, got {value!r}")


@attrs.frozen
class Polling:
    """The timing of a wait, as a public function was given it: checked once, then passed on.

    Attributes:
        timeout: the overall deadline in seconds (a fleet's: of the whole call).
        poll_interval: the first pause between polls (the first poll is made at once).
        max_poll_interval: the cap of the growing pauses.
        jitter: applied to each pause; None for exact pauses.

    Raises:
        ValidationError: ``timeout`` is not positive, ``poll_interval`` is negative, or
            ``max_poll_interval`` is below ``poll_interval``.
    """

    timeout: float = policy.DEFAULT_WAIT_TIMEOUT
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL
    jitter: Jitter | None = half_jitter

    def __attrs_post_init__(self) -> None:
        check_seconds("timeout", self.timeout)
        check_seconds("poll_interval", self.poll_interval, zero=True)
        check_seconds("max_poll_interval", self.max_poll_interval, zero=True)
        if self.max_poll_interval < self.poll_interval:
            raise ValidationError(
                "max_poll_interval",
                f"must be >= poll_interval ({self.poll_interval}), got {self.max_poll_interval}",
            )

    def schedule(self, growth: float) -> PollSchedule:
        """A fresh schedule of pauses, each ``growth`` times the last."""
        return PollSchedule(
            first=self.poll_interval, cap=self.max_poll_interval, jitter=self.jitter, growth=growth
        )

    def shared_schedule(self, growth: float) -> AgeSchedule:
        """A shared poller's schedule: each tick ``growth`` times the age of the previous one."""
        return AgeSchedule(
            first=self.poll_interval, cap=self.max_poll_interval, jitter=self.jitter, growth=growth
        )


def request_timeout(remaining: float, cap: float) -> float:
    """The ``timeout=`` of one request made with ``remaining`` seconds left before a deadline.

    ``cap`` is the client's own call timeout: one request (its retries included) never gets
    longer, even when the wait's deadline is further away, so a hung answer is retried as a
    transient failure instead of swallowing the whole wait. A request made at (or just after)
    the deadline still gets ``MIN_POLL_TIMEOUT``: it is the one last look the deadline promises.
    """
    return min(max(remaining, policy.MIN_POLL_TIMEOUT), cap)
