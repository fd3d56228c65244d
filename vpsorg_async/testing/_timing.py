"""Time in the simulator: the injectable clock, a manual clock for tests, transition delays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import attrs

__all__ = ["Clock", "Delays", "ManualClock"]

Clock = Callable[[], float]
"""A time source in seconds, monotonic, like ``time.monotonic``."""


def _delay_pair(value: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(v) for v in value)
    if not 0.0 <= low <= high:
        raise ValueError(f"a delay must be (min, max) with 0 <= min <= max, got {value!r}")
    return (low, high)


@attrs.frozen(kw_only=True)
class Delays:
    """How long each transition takes, as ``(min, max)`` seconds on the simulator's clock.

    Each transition draws its delay uniformly from its range with the simulator's seeded RNG.
    The defaults let a demo watch a server provision in a second or two.
    """

    provision: tuple[float, float] = attrs.field(default=(1.0, 2.0), converter=_delay_pair)
    start: tuple[float, float] = attrs.field(default=(0.5, 1.0), converter=_delay_pair)
    stop: tuple[float, float] = attrs.field(default=(0.5, 1.0), converter=_delay_pair)
    reboot: tuple[float, float] = attrs.field(default=(0.5, 1.0), converter=_delay_pair)

    @classmethod
    def fast(cls) -> Delays:
        """Near-zero delays (10-30 ms) for test suites."""
        pair = (0.01, 0.03)
        return cls(provision=pair, start=pair, stop=pair, reboot=pair)

    @classmethod
    def instant(cls) -> Delays:
        """Zero delays: a transition is over by the next read."""
        pair = (0.0, 0.0)
        return cls(provision=pair, start=pair, stop=pair, reboot=pair)

    def scaled(self, factor: float) -> Delays:
        """Return these delays multiplied by ``factor`` (``>= 0``)."""
        if factor < 0:
            raise ValueError(f"factor must be >= 0, got {factor}")

        def scale(pair: tuple[float, float]) -> tuple[float, float]:
            return (pair[0] * factor, pair[1] * factor)

        return Delays(
            provision=scale(self.provision),
            start=scale(self.start),
            stop=scale(self.stop),
            reboot=scale(self.reboot),
        )


class ManualClock:
    """A clock tests move by hand, with a ``sleep`` that moves it instead of waiting.

    Pass it as the simulator's ``clock=`` and as a client's ``clock=`` and ``sleep=``
    (``Client(token, clock=clock, sleep=clock.sleep)``): backoff, pacing and polling then take
    no real time, and both sides agree on what time it is. ``sleeps`` records every delay asked
    for, in order, so a test can assert the schedule itself.
    """

    def __init__(self, start: float = 0.0) -> None:
        """Start the clock at ``start`` seconds."""
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        """Return the current time in seconds."""
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        """Record ``seconds``, move the clock that far, and yield to the event loop once.

        The yield is the scheduling point a real ``asyncio.sleep`` is, so other tasks run
        between two sleeps. A negative delay, like ``asyncio.sleep``'s, does not wait at all.
        """
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)
