"""What waiters and fleets share: polling policy numbers, the poll schedule, transient errors.

Private; ``waiters`` and ``fleet`` re-export the constants users may want to read.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import attrs
import backoff

from ._endpoints import ENDPOINTS
from ._errors import (
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TLSCertificateError,
    TransportError,
    ValidationError,
    VPSOrgError,
)
from ._models import Server, ServerList, ServerStatus

if TYPE_CHECKING:
    from ._client import Client

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FLEET_TIMEOUT",
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "MIN_POLL_TIMEOUT",
    "TRANSIENT_ERRORS",
    "UNREACHABLE_AFTER",
    "Jitter",
    "PageWalk",
    "PollSchedule",
    "Reachability",
    "Verdict",
    "WaitRule",
    "check_wait_options",
    "half_jitter",
    "is_transient",
    "list_matching",
    "request_timeout",
]

#: A wait's overall deadline. Provisioning takes 2-5 minutes on the real service; start, stop
#: and reboot take seconds. Ten minutes covers a slow provision with room to spare.
DEFAULT_WAIT_TIMEOUT = 600.0
#: The first pause between polls: start/stop/reboot usually finish within a few seconds.
DEFAULT_POLL_INTERVAL = 1.0
#: How much each pause grows over the last when many servers share one poller (fleets,
#: ``wait_many``). At 1.5 a pause is never more than half the time already waited, so a state
#: change is seen by 1.5x the time it took (doubling allows 2x), for about 1.7 times as many
#: ticks: cheap, since a shared tick is one list request.
SHARED_POLL_GROWTH = 1.5
#: The same for a single waiter, whose every poll is a GET of its own: doubling halves the
#: requests of a long wait, which matters when thousands of waiters each poll alone.
SINGLE_POLL_GROWTH = 2.0
#: The cap of the exponential schedule: a provision is still seen within 15 s of finishing
#: while a long wait costs at most 4 polls a minute.
DEFAULT_MAX_POLL_INTERVAL = 15.0
#: Requests in flight at once for fleets and per-server polling: enough to keep a fleet of
#: thousands moving, far below aiohttp's 100 connections and any sane provider limit.
DEFAULT_CONCURRENCY = 16
#: A whole fleet call, requests and waits included: 15 minutes lets a large fleet provision
#: (2-5 minutes each on the real service) through a bounded pool and a rate limit.
DEFAULT_FLEET_TIMEOUT = 900.0
#: A poll made at (or just before) the deadline still gets this long to answer; it is the one
#: last look the deadline promises, so a wait can end at most this much after its deadline.
#: Enough for a loopback or LAN answer, and small enough that ``timeout`` stays exact to 0.1 s.
MIN_POLL_TIMEOUT = 0.05
#: A list walk (a sweep, a fleet's lookup) reads at most this many pages more than the first
#: page's ``count`` promised: the list may grow while it is read, but not page after page.
EXTRA_PAGES = 2
#: A fleet gives up on an API it cannot reach at all (connections refused, DNS or TLS failing,
#: and no answer of any kind in between) after this long: a restart or a failover is over within
#: 20 s, and with the fleet's 8 s backoff cap the inputs then fail within about 30 s, not at the
#: fleet's deadline (15 minutes by default).
UNREACHABLE_AFTER = 20.0

#: Errors that do not end a wait or a fleet: throttling, 5xx, connections cut or timed out (a
#: single request's timeout included), and garbled answers (a proxy's HTML page with a 200 is
#: a hiccup, not a verdict about the server). They are retried until the deadline, and the last
#: one becomes the ``__cause__`` of the ``WaiterTimeoutError``. One ``TransportError`` is the
#: exception: a ``TLSCertificateError`` ends the wait (see :func:`is_transient`).
TRANSIENT_ERRORS: tuple[type[VPSOrgError], ...] = (
    RateLimitError,
    ServerError,
    TransportError,
    ResponseDecodeError,
)

Jitter = Callable[[float], float]

logger = logging.getLogger("vpsorg_async")
_KNOWN = frozenset(ServerStatus)


class Verdict(enum.Enum):
    """What one observation means for a wait."""

    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"


@attrs.frozen
class WaitRule:
    """One row of the waiters' state table: how to read a status while waiting for ``target``.

    Attributes:
        target: the status waited for (or ``"deleted"``).
        success: statuses that end the wait successfully.
        failure: statuses that end it with ``WaiterFailedError``; everything else is pending.
        gone: what "the server does not exist" (404, or absent from a complete list) means:
            SUCCESS when waiting for a deletion; FAILURE (the ``NotFoundError`` ends the wait)
            otherwise.
    """

    target: str
    success: frozenset[str]
    failure: frozenset[str] = frozenset()
    gone: Verdict = Verdict.FAILURE

    def judge(self, server: Server) -> Verdict:
        """The verdict on ``server``'s status; an unknown status is pending (logged at DEBUG)."""
        status = str(server.status)
        if status in self.success:
            return Verdict.SUCCESS
        if status in self.failure:
            return Verdict.FAILURE
        if status not in _KNOWN:
            logger.debug(
                "server %d reports unknown status %r; treated as transitional while waiting for %r",
                server.id, status, self.target,
            )  # fmt: skip
        return Verdict.PENDING


def is_transient(exc: BaseException) -> bool:
    """True for an error worth polling (or acting) again after a pause.

    A :class:`TLSCertificateError` is a ``TransportError`` but not transient: a certificate
    that failed verification does not fix itself by waiting.
    """
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, TLSCertificateError)


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

    def __init__(self, clock: Callable[[], float], *, window: float = UNREACHABLE_AFTER) -> None:
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
        growth: float = SINGLE_POLL_GROWTH,
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


class PageWalk:
    """The bounds of one walk through the server list by page number.

    A walk ends at ``deadline``: a page may start only before it (the first page of a walk, the
    one last look, may start at it) and gets the time left as its timeout. The first page's
    ``count`` bounds how many pages may follow: a walk that runs more than ``EXTRA_PAGES`` past
    it raises ``ResponseDecodeError`` instead of paging on forever.
    """

    def __init__(self, deadline: float, cap: float) -> None:
        self.deadline = deadline
        self.pages = 0
        self._cap = cap
        self._limit = math.inf

    def timeout(self, now: float) -> float | None:
        """The next page's timeout; None when the walk's deadline has passed."""
        if self.pages and now >= self.deadline:
            return None
        return request_timeout(self.deadline - now, self._cap)

    def more(self, page: ServerList) -> bool:
        """Count ``page`` in; True when another page should be read.

        Raises:
            ResponseDecodeError: ``next`` still points on, past what ``count`` promised.
        """
        self.pages += 1
        if self.pages == 1:
            self._limit = math.ceil(page.count / max(len(page.results), 1)) + EXTRA_PAGES
        if not page.next or not page.results:
            return False
        if self.pages >= self._limit:
            row = ENDPOINTS["list_servers"]
            raise ResponseDecodeError(
                f"the list still has a next page after {self.pages} pages, past the "
                f"{page.count} servers its count promises",
                method=row.method, path=row.path, status=200,
            )  # fmt: skip
        return True


async def list_matching(
    client: Client,
    keep: Callable[[Server], bool],
    *,
    timeout: float,
    location: str | None,
    page_size: int,
) -> list[Server]:
    """Every listed server ``keep`` accepts, reading the pages within ``timeout`` seconds.

    Raises:
        RequestTimeoutError: the walk's time ran out before its last page.
        ResponseDecodeError: the list pages on past its ``count``. And as ``list_servers``.
    """
    walk = PageWalk(client.clock() + timeout, client.timeout)
    found: list[Server] = []
    while True:
        page_timeout = walk.timeout(client.clock())
        if page_timeout is None:
            row = ENDPOINTS["list_servers"]
            raise RequestTimeoutError(
                f"the list was not read to its end within {timeout:.2f} s ({walk.pages} pages)",
                method=row.method, path=row.path, attempts=walk.pages,
            )  # fmt: skip
        page = await client.list_servers(
            location=location, page=walk.pages + 1 if walk.pages else None,
            page_size=page_size, timeout=page_timeout,
        )  # fmt: skip
        found.extend(server for server in page.results if keep(server))
        if not walk.more(page):
            return found


def request_timeout(remaining: float, cap: float) -> float:
    """The ``timeout=`` of one request made with ``remaining`` seconds left before a deadline.

    ``cap`` is the client's own call timeout: one request (its retries included) never gets
    longer, even when the wait's deadline is further away, so a hung answer is retried as a
    transient failure instead of swallowing the whole wait.
    """
    return min(max(remaining, MIN_POLL_TIMEOUT), cap)


def _positive_number(param: str, value: object, *, zero: bool) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (value >= 0 if zero else value > 0)  # also refuses NaN
    ):
        rule = "a number >= 0" if zero else "a positive number"
        raise ValidationError(param, f"must be {rule} of seconds, got {value!r}")


def check_wait_options(*, timeout: float, poll_interval: float, max_poll_interval: float) -> None:
    """Validate the three timing options every waiter and fleet takes.

    Raises:
        ValidationError: ``timeout`` is not positive, ``poll_interval`` is negative, or
            ``max_poll_interval`` is below ``poll_interval``.
    """
    _positive_number("timeout", timeout, zero=False)
    _positive_number("poll_interval", poll_interval, zero=True)
    _positive_number("max_poll_interval", max_poll_interval, zero=True)
    if max_poll_interval < poll_interval:
        raise ValidationError(
            "max_poll_interval",
            f"must be >= poll_interval ({poll_interval}), got {max_poll_interval}",
        )
