"""Hooks as data: what the session reports about each call, as frozen records.

``Client(on_request=..., on_response=..., on_retry=...)``, or one ``Client(events=Events(...))``,
receives a record at each step of every call:

- :class:`RequestEvent` just before an attempt is sent (after its turn and a free connection);
- :class:`ResponseEvent` when that attempt is over: answered, failed without an answer, or
  cancelled. ``final`` says that the call ends with it (no retry follows), so counting the final
  records counts calls. A call that ends before anything was sent (its deadline would pass while
  it waits for its turn or a connection) still gets its one final record, with ``sent=False``;
- :class:`RetryEvent` after a non-final ``ResponseEvent``, with the delay before the next attempt.

The records hold what a metric or a log line needs and never the token: the method, the path
template (``/servers/{server_id}/``, low cardinality for metric labels) and the path, the server
id, the attempt, the status, the elapsed time, the library's error (whose messages have the token
blanked out) and the planned delay. A hook runs inline, on the event loop, between two steps of
the request: it must be quick and must not block. A hook that raises does not break the call: its
first failure is logged with its traceback (WARNING, logger ``vpsorg_async.events``), later ones
at DEBUG, and the call goes on as if the hook had returned.

The session holds one :class:`Hooks` (or None when nothing listens: then each attempt costs one
``is not None`` test before it is sent and one after its answer, and nothing else).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

import attrs

from ._errors import VPSOrgError

if TYPE_CHECKING:
    from ._endpoints import Endpoint
    from ._otel import Tracing

__all__ = ["Events", "Hooks", "RequestEvent", "ResponseEvent", "RetryEvent", "Sink"]

logger = logging.getLogger("vpsorg_async.events")


@attrs.frozen
class _Attempt:
    """The fields every record starts with: which call, which server, which attempt."""

    endpoint: str
    method: str
    path_template: str
    path: str
    server_id: int | None
    attempt: int


@attrs.frozen
class RequestEvent(_Attempt):
    """An attempt of a call is about to be sent.

    Attributes:
        endpoint: the endpoint's name in the table (``"get_server"``).
        method: ``GET``, ``POST``, ...
        path_template: the path with its placeholder (``/servers/{server_id}/``).
        path: the path as sent, below the base URL (``/servers/12345/``), without the query.
        server_id: the server the call is about, or None (list, create).
        attempt: 1 for the first attempt, 2 for the first retry, ...
    """


@attrs.frozen
class ResponseEvent(_Attempt):
    """An attempt is over. ``final``: the call ends with it.

    Attributes:
        endpoint, method, path_template, path, server_id, attempt: as :class:`RequestEvent`.
        status: the HTTP status, or None when no answer came (connection failed, timed out,
            cancelled, or nothing was sent).
        elapsed: seconds from sending this attempt until its answer was read (or it failed).
        call_elapsed: seconds since the call began, on the client's clock: retries, backoff
            sleeps and waiting for a turn included.
        error: the library's error the attempt ended with (on a final record: the error the
            call raises), or None on success.
        error_type: the name of the error's type (``"ServerError"``, ``"CancelledError"``),
            or None on success.
        final: no retry follows; the call returns or raises now.
        sent: False only for a final record of an attempt refused before it was sent.
    """

    status: int | None
    elapsed: float
    call_elapsed: float
    error: VPSOrgError | None
    error_type: str | None
    final: bool
    sent: bool = True


@attrs.frozen
class RetryEvent(_Attempt):
    """A failed attempt will be retried after ``delay`` seconds.

    Attributes:
        endpoint, method, path_template, path, server_id: as :class:`RequestEvent`.
        attempt: the attempt that failed (the retry will be ``attempt + 1``).
        delay: seconds the call sleeps before the next attempt (backoff or ``Retry-After``).
        error: the error of the failed attempt.
        error_type: its type's name.
    """

    delay: float
    error: VPSOrgError
    error_type: str


E = TypeVar("E")

RequestHook = Callable[[RequestEvent], None]
ResponseHook = Callable[[ResponseEvent], None]
RetryHook = Callable[[RetryEvent], None]


class Sink(Protocol):
    """Anything with the three optional hooks: :class:`Events`, or the OpenTelemetry sink."""

    @property
    def on_request(self) -> RequestHook | None: ...

    @property
    def on_response(self) -> ResponseHook | None: ...

    @property
    def on_retry(self) -> RetryHook | None: ...


@attrs.frozen
class Events:
    """The hooks of a client, as one value: ``Client(events=Events(on_retry=count))``.

    Attributes:
        on_request: called with a :class:`RequestEvent` before each attempt is sent.
        on_response: called with a :class:`ResponseEvent` when each attempt is over.
        on_retry: called with a :class:`RetryEvent` before each backoff sleep.
    """

    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    on_retry: RetryHook | None = None


class Hooks:
    """What the session calls: builds each record once and hands it to every listening hook."""

    def __init__(
        self, sinks: Iterable[Sink], clock: Callable[[], float], *, tracing: Tracing | None = None
    ) -> None:
        sinks = list(sinks)
        #: The spans of waits and fleets, when the client traces (``_otel``).
        self.tracing = tracing
        self.requests = [s.on_request for s in sinks if s.on_request is not None]
        self.responses = [s.on_response for s in sinks if s.on_response is not None]
        self.retries = [s.on_retry for s in sinks if s.on_retry is not None]
        self.clock = clock
        self._failed: set[int] = set()  # ids of hooks whose failure was logged in full

    def call(
        self, row: Endpoint, path: str, path_params: Mapping[str, int] | None, begun: float
    ) -> CallReport:
        """The reporter of one call to ``row`` that began at ``begun`` (the client's clock)."""
        server_id = path_params.get("server_id") if path_params else None
        return CallReport(self, (row.name, row.method, row.path, path, server_id), begun)

    def run(self, hook: Callable[[E], None], event: E) -> None:
        # A hook is the application's code, running in the middle of our request: whatever it
        # raises is its bug, not the call's outcome. Logged once in full, then quietly.
        try:
            hook(event)
        except Exception:
            first = id(hook) not in self._failed
            self._failed.add(id(hook))
            logger.log(
                logging.WARNING if first else logging.DEBUG,
                "hook %r failed on %s; the call goes on (later failures of this hook: DEBUG)",
                hook,
                type(event).__name__,
                exc_info=first,
            )


class CallReport:
    """What one call reports, each record built once and handed to every listening hook.

    Made once per call (only when something listens): what stays the same across the call's
    attempts (endpoint, method, path template, path, server id, start) is kept here.
    """

    __slots__ = ("_begun", "_call", "_hooks")

    def __init__(
        self, hooks: Hooks, call: tuple[str, str, str, str, int | None], begun: float
    ) -> None:
        self._hooks = hooks
        self._call = call
        self._begun = begun

    def request(self, attempt: int) -> None:
        """Report that ``attempt`` is about to be sent."""
        hooks = self._hooks
        if hooks.requests:
            event = RequestEvent(*self._call, attempt)
            for hook in hooks.requests:
                hooks.run(hook, event)

    def response(
        self,
        attempt: int,
        *,
        status: int | None,
        started: float | None,
        error: BaseException | None,
        final: bool,
    ) -> None:
        """Report that ``attempt`` is over; ``started`` (``perf_counter``) is None if unsent."""
        hooks = self._hooks
        if hooks.responses:
            event = ResponseEvent(
                *self._call,
                attempt,
                status=status or None,
                elapsed=0.0 if started is None else time.perf_counter() - started,
                call_elapsed=hooks.clock() - self._begun,
                error=error if isinstance(error, VPSOrgError) else None,
                error_type=None if error is None else type(error).__name__,
                final=final,
                sent=started is not None,
            )
            for hook in hooks.responses:
                hooks.run(hook, event)

    def retry(self, attempt: int, *, delay: float, error: VPSOrgError) -> None:
        """Report that the call retries after ``delay`` seconds."""
        hooks = self._hooks
        if hooks.retries:
            event = RetryEvent(
                *self._call, attempt, delay=delay, error=error, error_type=type(error).__name__
            )
            for hook in hooks.retries:
                hooks.run(hook, event)
