"""The async session layer: the one place that touches the network.

``Session.call(row, ...)`` sends one logical request described by an endpoint row: it owns the
``aiohttp.ClientSession`` (or borrows the caller's and never closes it), the base URL, Bearer auth,
JSON, the call's overall deadline, retries with ``backoff``'s exponential full-jitter schedule,
``Retry-After``, pacing, logging, and the mapping of answers to models or errors (pure functions in
``_errors`` and ``_convert``).

Retry rule: connection errors, timeouts, 429, 500, 502, 503 and 504 are retried, but only when the
request is safe to repeat: every endpoint but create may be repeated. A TLS certificate that fails
verification is never retried (``TLSCertificateError``). A create is retried only after
a 429 or a connection that never opened; any other failure of a create is ambiguous and surfaces as
``AmbiguousCreateError``. An answer about another server than the one asked for (a stray answer
left on an idle kept-alive connection, ``StrayAnswerError``) drops that connection and is retried
like a lost answer. ``asyncio.CancelledError`` is never caught here, but for the one an attempt's
own deadline timer sends (``_attempt_timer``): that attempt timed out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import backoff
import yarl

from . import _policy as policy
from ._answers import error_from_response
from ._attempt_timer import AttemptTimers
from ._body import arrived, plain_body, read_capped
from ._convert import decode_json, encode_body
from ._deadline import Clock, Sleep
from ._endpoints import Endpoint
from ._errors import (
    AmbiguousCreateError,
    APIError,
    ConfigurationError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    VPSOrgError,
)
from ._events import Hooks
from ._logonce import LogThrottle, error_kind
from ._ratelimit import DeadlineWouldPass
from ._redact import redact
from ._seams import Pacer
from ._slots import Slots
from ._wire import (
    Limits,
    attempt_limits,
    check_echo,
    drop_connection,
    is_retryable,
    outcome_unknown,
    parse_retry_after,
    refused,
    transport_error,
)

__all__ = ["Session"]

#: Each attempt (DEBUG) and each retry (INFO); a child of ``vpsorg_async``, whose level and
#: handlers it follows.
logger = logging.getLogger("vpsorg_async.http")


class Session:
    """Owns the HTTP session and sends endpoint calls. Used by ``Client``; not public."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        timeout: float,
        max_retries: int,
        session: aiohttp.ClientSession | None,
        pacer: Pacer,
        max_connections: int,
        user_agent: str,
        max_response_bytes: int,
        clock: Clock,
        sleep: Sleep,
        hooks: Hooks | None = None,
        proxy: yarl.URL | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._proxy = proxy  # checked by _proxy: never one the token would reach in clear
        self._origin = yarl.URL(self._base).origin()
        self._timeout = timeout
        self._max_retries = max_retries
        self._session = session
        self._owns_session = session is None
        self._max_connections = max_connections
        self._max_body = max_response_bytes
        self._clock = clock
        self._sleep = sleep
        self._pacer = pacer
        self._slots = Slots(max_connections)  # requests beyond the pool wait here, small
        self._timers = AttemptTimers()
        self._limits: Limits | None = None  # of the HTTP session last used (attempt_limits)
        # A retry line is logged once per interval per (endpoint, error, retry number): one
        # call shows each of its retries, a thousand calls failing alike a few lines.
        self._retry_log = LogThrottle(clock)
        # Headers are built once; the token lives only here and in the aiohttp request.
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        # On a session we open, the headers are the session's defaults (cheaper per request);
        # on a borrowed one they go with each request. So they do behind a proxy: aiohttp copies
        # a session's default headers into its CONNECT request, Authorization included (sent to
        # the proxy as Proxy-Authorization; tests/test_proxy.py).
        self._request_headers = self._headers if session or proxy else None
        self._token = token
        self._closed = False
        #: Who hears of each attempt (``_events``); None: nobody, and no cost.
        self.hooks = hooks

    @property
    def closed(self) -> bool:
        """True once ``aclose`` ran."""
        return self._closed

    @property
    def timeout(self) -> float:
        """The default overall deadline of a call, in seconds."""
        return self._timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt of a call."""
        return self._max_retries

    def redact(self, text: str) -> str:
        """``text`` as a message may show it: the token blanked in every form."""
        return redact(text, self._token)

    def same_origin(self, url: str) -> bool:
        """True when ``url`` points at the API's own scheme, host and port."""
        try:
            return yarl.URL(url).origin() == self._origin
        except (ValueError, TypeError):
            return False

    def _http(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ConfigurationError("this Client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=None if self._request_headers else self._headers,
                # The API authenticates with the Bearer token: no cookies to keep or to send, so
                # no jar to consult on every request and to fill from every answer.
                cookie_jar=aiohttp.DummyCookieJar(),
                # No total: _attempt_timer holds each attempt's deadline, more cheaply.
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=policy.CONNECT_TIMEOUT, ceil_threshold=math.inf
                ),
                json_serialize=json.dumps,
                proxy=self._proxy,
            )
            # aiohttp silently resends an idempotent request once when a kept-alive connection
            # turns out to be closed. Our own retry loop decides about retries (and logs each
            # attempt), so switch that off on the session we own.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    async def aclose(self) -> None:
        """Close the HTTP session if this layer opened it; a borrowed session stays open."""
        self._closed = True
        self._timers.close()
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def call(
        self,
        row: Endpoint,
        path_params: Mapping[str, int] | None = None,
        query: Mapping[str, str | int] | None = None,
        body: Any = None,
        timeout: float | None = None,
        *,
        url: str | None = None,
    ) -> Any:
        """Send ``row`` with retries within one overall deadline; return the decoded model or None.

        One attempt runs inline in this coroutine rather than in a helper coroutine: every
        suspension of a request resumes the whole chain of awaiting frames, so each level of
        nesting costs on every request (measured in ``benchmarks/``).
        """
        path = row.path.format_map(path_params) if path_params else row.path
        target = url or self._base + path
        payload = encode_body(body) if body is not None else None
        budget = timeout if timeout is not None else self._timeout
        deadline = self._clock() + budget
        delays = None  # made on the first retry: most calls never need one
        attempt = 0
        hooks = self.hooks
        report = None if hooks is None else hooks.call(row, path, path_params, deadline - budget)
        sent: float | None = None  # with hooks: when the attempt not yet reported was sent
        status = 0
        try:
            while True:
                attempt += 1
                try:
                    try:
                        turn = self._pacer.wait_turn(deadline)
                        if turn is not None:
                            await turn
                    except DeadlineWouldPass as late:
                        raise refused(late, row, path, attempt) from None
                    remaining = deadline - self._clock()
                    if remaining <= 0:
                        raise self._late(row, path, attempt)
                    if not self._slots.take_now():
                        remaining = await self._wait_for_slot(
                            row, path, deadline, attempt, remaining
                        )
                    started = time.perf_counter()
                    status = 0
                    failure = None
                    if report is not None:
                        report.request(attempt)
                        sent = started
                    task = bucket = None  # whose attempt the deadline timers may cancel, and when
                    try:
                        http = self._http()
                        limits = self._limits
                        if limits is None or limits[0] is not http:  # once per HTTP session
                            limits = self._limits = attempt_limits(http)
                        total = limits[1]  # a borrowed session's total bounds the attempt too
                        task, bucket = self._timers.enter(
                            remaining if total is None or remaining < total else total
                        )
                        # Awaited, not entered: ``async with`` makes 4 coroutines more per request.
                        resp = await http.request(
                            row.method,
                            target,
                            params=query,
                            json=payload,
                            headers=self._request_headers,
                            allow_redirects=False,
                            timeout=limits[2],
                        )
                        try:
                            status = resp.status
                            if plain_body(resp, row, path, self._max_body):
                                body_bytes = (limits[3] and arrived(resp)) or await resp.read()
                            else:
                                body_bytes = await read_capped(resp, row, path, self._max_body)
                            headers = resp.headers
                        finally:
                            resp.release()  # the connection back to the pool (closed if unread)
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        failure = transport_error(exc, row, path, attempt, remaining, self._token)
                    except asyncio.CancelledError:
                        if not self._timers.expired(task, bucket):
                            raise  # not our deadline: the caller's cancellation goes on
                        failure = transport_error(
                            TimeoutError(), row, path, attempt, remaining, self._token
                        )
                    finally:
                        self._timers.leave(task, bucket)
                        self._slots.give()
                        if logger.isEnabledFor(logging.DEBUG):
                            logger.debug(
                                "%s %s -> %s in %.1f ms (attempt %d)",
                                row.method, path, status or "no answer",
                                (time.perf_counter() - started) * 1000, attempt,
                            )  # fmt: skip
                    if failure is not None:
                        # Raised outside the except block, so that no __context__ holds aiohttp's
                        # exception: its repr carries the request's headers, Authorization included.
                        raise failure
                    try:
                        echo = path_params[row.path_params[0]] if path_params else None
                        result = self._outcome(
                            row, path, status, headers, body_bytes, attempt, echo, started
                        )
                    except ResponseDecodeError:
                        drop_connection(resp)  # its stream may be out of step: never reuse it
                        raise
                    if report is not None:
                        report.response(
                            attempt, status=status, started=started, error=None, final=True
                        )
                    return result
                except VPSOrgError as exc:
                    if isinstance(exc, RateLimitError):
                        if not exc.sent:  # refused here by an earlier 429's pause: nothing new
                            raise
                        self._pacer.on_throttle(exc.retry_after)
                    if not row.idempotent and outcome_unknown(exc):
                        raise AmbiguousCreateError(request=body, cause=exc) from exc
                    if not is_retryable(exc) or attempt > self._max_retries:
                        raise
                    if delays is None:
                        delays = backoff.expo(
                            base=2, factor=policy.BACKOFF_FIRST, max_value=policy.BACKOFF_MAX
                        )
                        next(delays)  # primed before use, as backoff's own loop does
                    delay = backoff.full_jitter(next(delays))
                    if isinstance(exc, APIError) and exc.retry_after is not None:
                        delay = max(delay, exc.retry_after)
                    if self._clock() + delay >= deadline:
                        exc.add_note(f"not retried: the call's {budget} s deadline")
                        raise
                    if report is not None:
                        report.response(
                            attempt, status=status, started=sent, error=exc, final=False
                        )
                        report.retry(attempt, delay=delay, error=exc)
                        sent = None
                    self._retry_log.log(
                        logger, logging.INFO, (row.name, error_kind(exc), attempt),
                        "%s %s failed (%s); retry %d of %d in %.2f s",
                        row.method, path, error_kind(exc), attempt, self._max_retries, delay,
                    )  # fmt: skip
                    await self._sleep(delay)
        except BaseException as exc:  # the call fails (or is cancelled): its one final record
            if report is not None:
                shown = status if sent else 0
                report.response(attempt, status=shown, started=sent, error=exc, final=True)
            raise

    async def _wait_for_slot(
        self, row: Endpoint, path: str, deadline: float, attempt: int, remaining: float
    ) -> float:
        """Wait in turn for one of ``max_connections`` slots within the deadline; the time left."""
        if not await self._slots.take(remaining):
            raise RequestTimeoutError(
                f"no free connection within the call's deadline ({self._max_connections} in use)",
                method=row.method, path=path, sent=False, attempts=attempt,
            )  # fmt: skip
        remaining = deadline - self._clock()
        if remaining <= 0:
            self._slots.give()
            raise self._late(row, path, attempt)
        return remaining

    @staticmethod
    def _late(row: Endpoint, path: str, attempt: int) -> RequestTimeoutError:
        """The error of an attempt whose call's deadline passed before it was sent."""
        return RequestTimeoutError(
            "the call's deadline passed", method=row.method, path=path, sent=False, attempts=attempt
        )

    def _outcome(
        self,
        row: Endpoint,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        attempt: int,
        echo: int | None = None,
        started: float = 0.0,
    ) -> Any:
        """The decoded model of a success, or the exception of anything else (raised). ``echo``:
        the id asked for, checked against the answer's; ``started``: when the attempt began."""
        if status == row.success:
            self._pacer.on_success()
            result = self._decode(row, path, status, body)
            if echo is not None and row.echo is not None and (got := row.echo(result)) != echo:
                check_echo(row, path, echo, got)  # raises StrayAnswerError
            return result
        if row.method == "DELETE" and status == 404 and attempt > 1:
            # An earlier attempt's answer was lost but it did delete: the goal is reached.
            return None
        raise error_from_response(
            status=status,
            method=row.method,
            path=path,
            headers=headers,
            body=body,
            retry_after=(
                parse_retry_after(headers.get("Retry-After")) if status in (429, 503) else None
            ),
            attempts=attempt,
            secret=self._token,
        )

    def _decode(self, row: Endpoint, path: str, status: int, body: bytes) -> Any:
        """The answer's model (None for a row without one, a delete's 204)."""
        return row.response and decode_json(
            body, row.response, self._token, row.method, path, status
        )
