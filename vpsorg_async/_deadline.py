"""One deadline shared by the several requests of one call: a walk over pages, a reconciled create.

Each request gets the time that is left as its own ``timeout``, so the call as a whole ends by
the deadline however many requests it takes. ``math.inf`` is no deadline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

__all__ = ["Clock", "Deadline", "Sleep"]

#: A monotonic clock in seconds (``time.monotonic``); injected wherever time is read.
Clock = Callable[[], float]
#: An awaitable pause in seconds (``asyncio.sleep``); injected wherever the library waits.
Sleep = Callable[[float], Awaitable[None]]


class Deadline:
    """``budget`` seconds from now on ``clock``.

    Attributes:
        budget: the seconds given at the start (for messages).
        at: the clock reading at which the deadline passes.
    """

    __slots__ = ("_clock", "at", "budget")

    def __init__(self, budget: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.budget = budget
        self.at = clock() + budget

    def left(self) -> float:
        """Seconds until the deadline; zero or less once it has passed."""
        return self.at - self._clock()
