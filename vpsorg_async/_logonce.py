"""``LogThrottle``: a repeated failure is logged once per interval, not once per attempt.

A dead API makes every request of a fleet fail the same way, several times a second; one line
per attempt buries the one fact worth reading. The session's retry warning and the fleet's and
watcher's retry lines go through a throttle keyed by what failed (the kind of line and the error's
type or status): the first line of a key is logged, repeats within ``interval`` are held back
(logged at DEBUG), and the next line that passes says how many were held back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable
from typing import Any

from . import _policy as policy
from ._errors import APIError

__all__ = ["LogThrottle", "error_kind"]


class LogThrottle:
    """Lets a log line through once per ``interval`` seconds per key, on an injectable clock."""

    def __init__(
        self, clock: Callable[[], float], *, interval: float = policy.LOG_REPEAT_INTERVAL
    ) -> None:
        self._clock = clock
        self._interval = interval
        self._last: dict[Hashable, float] = {}  # key -> clock time of its last line logged
        self._held: dict[Hashable, int] = {}  # key -> repeats held back since

    def log(self, logger: logging.Logger, level: int, key: Hashable, msg: str, *args: Any) -> None:
        """Log ``msg % args`` at ``level`` unless ``key`` was logged within the interval.

        A line held back is still logged at DEBUG, so ``--debug`` shows every attempt.
        """
        if not logger.isEnabledFor(level):  # then DEBUG is off too
            return
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._held[key] = self._held.get(key, 0) + 1
            logger.debug(msg, *args)
            return
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            msg += f" ({held} more like it in the last %.0f s)"
            args = (*args, now - last if last is not None else 0.0)
        logger.log(level, msg, *args)


def error_kind(exc: BaseException) -> str:
    """What a log line (and a throttle key) calls an error: its status, or its type's name."""
    return str(exc.status) if isinstance(exc, APIError) else type(exc).__name__
