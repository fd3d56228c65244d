"""What an attempt's outcome means: pure functions from the wire's facts to the library's errors.

The session layer's retry loop asks these: is a failure worth a retry, may a create have been
acted on, what error stands for an aiohttp exception (quoted only redacted, never chained: its
repr carries the request's headers), which error an attempt the pacer refused gets, when does
a ``Retry-After`` end, and is an answer about the server that was asked for. No I/O, except
dropping a connection that carried a stray answer.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import Any

import aiohttp

from . import _policy as policy
from ._endpoints import Endpoint
from ._errors import (
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    StrayAnswerError,
    TLSCertificateError,
    TransportError,
    VPSOrgError,
)
from ._ratelimit import DeadlineWouldPass
from ._redact import excerpt, redact

__all__ = [
    "Limits",
    "attempt_limits",
    "check_echo",
    "drop_connection",
    "is_retryable",
    "outcome_unknown",
    "parse_retry_after",
    "refused",
    "transport_error",
]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date), capped; None if unusable.

    Negative values count as 0; values above ``RETRY_AFTER_CAP`` are capped; garbage is None.
    """
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), policy.RETRY_AFTER_CAP)


def is_retryable(exc: VPSOrgError) -> bool:
    if isinstance(exc, RequestTimeoutError | TLSCertificateError):
        return False  # the whole call's deadline has passed; a bad certificate stays bad
    if isinstance(exc, TransportError | StrayAnswerError):
        return True  # a stray answer: our own one was lost with the dropped connection
    return isinstance(exc, RateLimitError | ServerError) and (
        isinstance(exc, RateLimitError) or exc.status in policy.RETRY_STATUSES
    )


def outcome_unknown(exc: VPSOrgError) -> bool:
    """True when a non-idempotent request may have been acted on although it failed.

    Known not acted on: a 429, an error status other than 5xx, a connection that never opened.
    Unknown: a 5xx, a cut connection or a timeout after sending, an answer that did not decode.
    """
    if isinstance(exc, TransportError):
        return exc.sent
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, ResponseDecodeError)


def transport_error(
    exc: aiohttp.ClientError | TimeoutError,
    row: Endpoint,
    path: str,
    attempt: int,
    left: float,
    secret: str,
) -> TransportError:
    """The library's error for a failed connection or an attempt that ran out of time.

    It quotes aiohttp's error only through ``_summary`` and does not chain it.
    """
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ServerFingerprintMismatch):
        return TLSCertificateError(
            f"TLS certificate rejected: {_summary(exc, secret)}",
            method=row.method, path=path, sent=False, attempts=attempt,
        )  # fmt: skip
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return TransportError(
            f"cannot connect: {_summary(exc, secret)}",
            method=row.method, path=path, sent=False, attempts=attempt,
        )  # fmt: skip
    if isinstance(exc, aiohttp.ClientError):  # includes aiohttp's own socket read timeouts
        return TransportError(
            f"connection failed: {_summary(exc, secret)}",
            method=row.method, path=path, attempts=attempt,
        )  # fmt: skip
    return RequestTimeoutError(
        f"no answer within the call's deadline ({left:.2f} s left)",
        method=row.method, path=path, attempts=attempt,
    )  # fmt: skip


def _summary(exc: aiohttp.ClientError, secret: str) -> str:
    """aiohttp's error as its type and a short, redacted message.

    Its parser errors quote the raw line received after a blank line (the part an echoing
    server fills, maybe cut mid-token), so only the first line is kept; a
    ``ClientResponseError``'s own ``str`` adds the URL, which the message already names.
    """
    text = exc.message if isinstance(exc, aiohttp.ClientResponseError) else str(exc)
    first = str(text).split("\n", 1)[0].rstrip(": ")
    shown = excerpt(redact(first, secret), policy.WIRE_MESSAGE_CHARS)
    return f"{type(exc).__name__}: {shown}".rstrip(": ")


def check_echo(row: Endpoint, path: str, expected: int, answered: Any) -> None:
    """Raise ``StrayAnswerError`` unless the answer repeats the id ``expected``."""
    if answered != expected:
        raise StrayAnswerError(
            expected=expected, answered=answered, method=row.method, path=path, status=row.success
        )


def drop_connection(resp: aiohttp.ClientResponse) -> None:
    """Close the connection that carried ``resp`` so that the pool never hands it out again.

    aiohttp returns a connection to its pool as soon as the body is read, so closing the
    response is not enough: the protocol it kept is closed too (the pool discards closed ones).
    """
    resp.close()
    protocol = getattr(resp, "_protocol", None)
    if protocol is not None:
        protocol.close()


def refused(exc: DeadlineWouldPass, row: Endpoint, path: str, attempt: int) -> VPSOrgError:
    """The error of an attempt the pacer refused, sending nothing: its turn is past the deadline.

    A 429's pause is the API's own limit (``RateLimitError``, ``sent=False``); a pace alone is
    this client's (``RequestTimeoutError``).
    """
    if exc.pause > 0:  # the API asked the whole client to pause past this deadline
        return RateLimitError(
            sent=False,
            status=429,
            method=row.method,
            path=path,
            detail=f"an earlier 429 pauses this client for {exc.pause:.2f} s more, "
            "past this call's deadline",
            retry_after=exc.pause,
            attempts=attempt - 1,
        )
    return RequestTimeoutError(str(exc), method=row.method, path=path, sent=False, attempts=attempt)


#: An HTTP session; its total, which bounds each attempt too; the timeouts aiohttp applies to
#: each attempt on it; and whether no trace config of its own hears of each body read (a body
#: that has arrived may then be taken without ``resp.read()``, ``_body.arrived``).
Limits = tuple[aiohttp.ClientSession, float | None, aiohttp.ClientTimeout, bool]


def attempt_limits(http: aiohttp.ClientSession) -> Limits:
    """What ``Session`` keeps per HTTP session for its attempts (:data:`Limits`).

    The attempt's deadline (the call's, and a borrowed session's total when that is shorter) is
    held by ``_attempt_timer``, which is much cheaper per request than aiohttp's total timer. The
    session's other timeouts (a borrowed session's sock_read, say) still apply, not rounded up
    to whole seconds (aiohttp's default for long ones). The session we open has no total, so
    its own are used as they are.
    """
    own = http.timeout
    untraced = not http.trace_configs
    if own.total is None and own.ceil_threshold == math.inf:
        return http, None, own, untraced
    limit = aiohttp.ClientTimeout(
        total=None,
        connect=own.connect,
        sock_read=own.sock_read,
        sock_connect=own.sock_connect,
        ceil_threshold=math.inf,
    )
    return http, own.total, limit, untraced
