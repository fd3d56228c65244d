"""``Reachability``: notices an API that answers nothing at all, so a fleet can give up early.

A fleet gives up when every request has failed to connect (refused, DNS, TLS, connect timeout)
for ``UNREACHABLE_AFTER`` seconds with no answer of any kind in between: a restart or a failover
is over by then, and the inputs fail within about 30 s instead of at the fleet's deadline.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import _policy as policy
from .._errors import RequestTimeoutError, TransportError

__all__ = ["Reachability", "cannot_connect"]


def cannot_connect(exc: BaseException) -> bool:
    """True when a request failed before a connection opened: refused, DNS, TLS, connect timeout.

    ``sent`` is False for exactly those, and for a call whose deadline had already passed before
    it could start (a ``RequestTimeoutError``), which says nothing about the API.
    """
    return (
        isinstance(exc, TransportError)
        and not exc.sent
        and not isinstance(exc, RequestTimeoutError)
    )


class Reachability:
    """Notices an API that cannot be reached: only connect failures for ``window`` seconds.

    Each request's outcome is reported with :meth:`observe`. Any answer (a success or an error
    status) means the API is reachable and starts the count again; a request that timed out or
    was cut after sending neither counts nor resets (the API may be slow, not gone).
    """

    def __init__(
        self, clock: Callable[[], float], *, window: float = policy.UNREACHABLE_AFTER
    ) -> None:
        self._clock = clock
        self._window = window
        self._since: float | None = None  # clock time of the first connect failure in a row
        self.last: TransportError | None = None  # the latest connect failure

    def observe(self, exc: BaseException | None) -> bool:
        """Record one request's outcome (None: success); True once the API counts as unreachable."""
        if exc is None or not isinstance(exc, TransportError):
            self._since = None
            return False
        if not cannot_connect(exc):
            return False
        now = self._clock()
        if self._since is None:
            self._since = now
        self.last = exc
        return now - self._since >= self._window
