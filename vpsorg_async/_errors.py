"""The one error tree of vpsorg-async (``_answers`` maps an HTTP answer to one of them).

Everything the library raises on purpose is a :class:`VPSOrgError`::

    VPSOrgError
    ├── ValidationError          bad input, raised before anything is sent (also a ValueError)
    ├── ConfigurationError       bad client settings: no token, plain http to a public host (ValueError)
    ├── APIError                 the API answered with an error status
    │   ├── BadRequestError          400 (``field_errors`` holds DRF-style ``{"name": ["..."]}``)
    │   ├── AuthenticationError      401
    │   ├── PaymentRequiredError     402 (insufficient balance)
    │   ├── PermissionDeniedError    403
    │   ├── NotFoundError            404
    │   ├── ConflictError            409
    │   ├── RateLimitError           429 (``retry_after``)
    │   └── ServerError              5xx
    ├── TransportError           the connection failed, was cut, or timed out
    │   ├── RequestTimeoutError      the call's overall deadline passed
    │   └── TLSCertificateError      the server's TLS certificate failed verification (never retried)
    ├── ResponseDecodeError      a body that is not what the API documents (HTML, truncated, wrong types)
    ├── AmbiguousCreateError     a create whose outcome is unknown; never blindly resent
    ├── WaiterError              (waiters) WaiterTimeoutError, WaiterFailedError
    ├── FleetAbortedError        (fleet) one server's operation was cut short (.reason, .stage)
    └── FleetError               (fleet) an ExceptionGroup of every failed server

No raw ``KeyError``, ``aiohttp`` or ``cattrs`` exception reaches a user. Lower exceptions that may
quote the wire or the request (aiohttp's carry the request's headers, the ``Authorization`` one
included; cattrs' and json's quote the values received) are not chained: the library's error
names their type and a redacted summary instead.

Two rules hold for every rendering of every error (``str``, ``repr``, tracebacks):

* The API token never shows. Whatever is quoted from an answer (a body excerpt, a ``detail``,
  field errors, a request id header, aiohttp's parser message) goes through ``_redact.redact``, which
  reads JSON escapes first, then blanks the token in plain, percent-encoded and ``repr`` form.
* A message is bounded: :class:`VPSOrgError` cuts it to ``MESSAGE_CHARS``, ending "… (N more)".
  The full data stays on the attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ._redact import bounded

__all__ = [
    "APIError",
    "AmbiguousCreateError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "FleetError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "ServerError",
    "StrayAnswerError",
    "TLSCertificateError",
    "TransportError",
    "VPSOrgError",
    "ValidationError",
    "WaiterError",
    "WaiterFailedError",
    "WaiterTimeoutError",
]


class VPSOrgError(Exception):
    """Root of every error the library raises on purpose.

    Its message is cut to ``MESSAGE_CHARS`` characters: a server can send a ``detail`` of
    megabytes. The full data stays on the error's attributes.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(bounded(arg) if isinstance(arg, str) else arg for arg in args))


class ValidationError(VPSOrgError, ValueError):
    """An argument broke a rule; raised before any request is sent.

    Attributes:
        param: the parameter's name, e.g. ``"name"`` or ``"server_id"``.
        rule: the rule it broke, in words.
    """

    def __init__(self, param: str, rule: str) -> None:
        self.param = param
        self.rule = rule
        super().__init__(f"invalid {param}: {rule}")


class ConfigurationError(VPSOrgError, ValueError):
    """The client was configured in a way that cannot work (no token, plain http to a public host)."""


class APIError(VPSOrgError):
    """The API answered with an error status.

    Attributes:
        status: the HTTP status code.
        method: the HTTP method of the request.
        path: the request path (never the full URL with query secrets; there are none, but still).
        detail: the server's ``detail`` message, or a short excerpt of the body.
        field_errors: DRF-style field errors of a 400, e.g. ``{"name": ["This field is required."]}``.
        request_id: the request id header of the answer, when the server sent one.
        attempts: how many attempts the call made before giving up.
        retry_after: the server's ``Retry-After`` in seconds (429 and 503), else None.
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        detail: str | None = None,
        field_errors: Mapping[str, list[str]] | None = None,
        request_id: str | None = None,
        attempts: int = 1,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail
        self.field_errors: dict[str, list[str]] = dict(field_errors or {})
        self.request_id = request_id
        self.attempts = attempts
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.method} {self.path} answered {self.status}"
        if self.detail:
            text += f": {self.detail}"
        if self.field_errors:
            fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.field_errors.items())
            text += f" ({fields})"
        if self.request_id:
            text += f" [request id {self.request_id}]"
        return text


class BadRequestError(APIError):
    """400: the API refused the request's parameters or the server's current state."""


class AuthenticationError(APIError):
    """401: the API token is missing or invalid."""


class PaymentRequiredError(APIError):
    """402: the account's balance does not cover the request."""


class PermissionDeniedError(APIError):
    """403: the token may not do this."""


class NotFoundError(APIError):
    """404: the server does not exist (or no longer does), or the URL is not the API's.

    Attributes:
        hint: set when the 404 does not look like the API's own (see ``_answers``): most often a
            base URL without ``/api/v1``. None for the API's "no such server".
    """

    def __init__(self, *, hint: str | None = None, **kwargs: Any) -> None:
        self.hint = hint
        super().__init__(**kwargs)

    def _message(self) -> str:
        text = super()._message()
        return f"{text}; {self.hint}" if self.hint else text


class ConflictError(APIError):
    """409: the request conflicts with the server's current state."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the server's hint in seconds, if any.

    Also raised, with ``sent`` False and nothing sent, when an earlier 429 paused the whole
    client for longer than this call's deadline: ``retry_after`` is then the pause left and
    ``attempts`` the requests this call had sent before (0 when it sent none).
    """

    def __init__(self, *, sent: bool = True, **kwargs: Any) -> None:
        self.sent = sent
        super().__init__(**kwargs)

    def _message(self) -> str:
        if self.sent:
            return super()._message()
        return f"{self.method} {self.path} not sent: {self.detail}"


class ServerError(APIError):
    """5xx: the API failed on its side."""


class TransportError(VPSOrgError):
    """The connection could not be made, was cut, or an attempt timed out.

    Attributes:
        method, path: the request.
        sent: False only when the request provably never left this machine (connect failed).
        attempts: attempts made before giving up.
    """

    def __init__(
        self, message: str, *, method: str, path: str, sent: bool = True, attempts: int = 1
    ) -> None:
        self.method = method
        self.path = path
        self.sent = sent
        self.attempts = attempts
        super().__init__(f"{method} {path}: {message}")


class RequestTimeoutError(TransportError):
    """The call's overall deadline (``timeout``, retries and backoff included) passed."""


class TLSCertificateError(TransportError):
    """The server's TLS certificate failed verification (or did not match a pinned fingerprint).

    Not transient: a wrong host name, an expired or self-signed certificate or an intercepting
    proxy does not fix itself in seconds, so neither the client nor waiters and fleets retry it.
    Nothing was sent (``sent`` is False).
    """


class ResponseDecodeError(VPSOrgError):
    """The answer's body is not what the API documents (not JSON, truncated, wrong shape or types)."""

    def __init__(self, message: str, *, method: str = "", path: str = "", status: int = 0) -> None:
        self.method = method
        self.path = path
        self.status = status
        where = f"{method} {path} ({status}): " if method else ""
        super().__init__(f"{where}{message}")


class AmbiguousCreateError(VPSOrgError):
    """A create may or may not have made a server: the answer was lost, cut, or a 5xx.

    The library never resends such a create blindly. Pass ``reconcile=True`` to
    ``create_server`` (the fleet always does) to look for the server it may have made instead:
    one with the request's name, plan, OS and location that did not exist before the request.
    Names are not unique, so when several servers fit, reconcile raises this error with them.

    Attributes:
        request: the create body that was sent (a ``CreateServer``).
        cause: the underlying error (a ``TransportError`` or ``ServerError``).
        candidates: servers that this create may have made, when reconcile found more than one
            (empty otherwise).
    """

    def __init__(
        self, *, request: Any, cause: VPSOrgError, candidates: tuple[Any, ...] = ()
    ) -> None:
        self.request = request
        self.cause = cause
        self.candidates = tuple(candidates)
        name = getattr(request, "name", "?")
        if self.candidates:
            ids = ", ".join(str(getattr(c, "id", "?")) for c in self.candidates)
            advice = (
                f"reconcile found {len(self.candidates)} new servers that it may have made "
                f"(ids {ids}) and cannot tell which; see .candidates."
            )
        else:
            advice = "Use create_server(..., reconcile=True) to look for it."
        super().__init__(
            f"create of server {name!r} has an unknown outcome ({cause}); it was not resent. "
            + advice
        )


class WaiterError(VPSOrgError):
    """A wait for a server's state ended without reaching the state."""


class WaiterTimeoutError(WaiterError):
    """The waiter's deadline passed first.

    Attributes:
        server_id: the server waited for.
        target: the status waited for.
        last_server: the last server seen (None if no poll succeeded).
        elapsed: seconds waited.
        polls: how many polls were made.
    """

    def __init__(
        self, *, server_id: int, target: str, last_server: Any, elapsed: float, polls: int
    ) -> None:
        self.server_id = server_id
        self.target = target
        self.last_server = last_server
        self.elapsed = elapsed
        self.polls = polls
        seen = getattr(last_server, "status", None)
        super().__init__(
            f"server {server_id} did not reach {target!r} within {elapsed:.1f} s "
            f"({polls} polls; last status {str(seen) if seen is not None else 'unknown'})"
        )


class WaiterFailedError(WaiterError):
    """The server entered a failure state (e.g. ``suspended``) while waited for.

    Attributes:
        server: the server in its failure state.
        target: the status waited for.
    """

    def __init__(self, *, server: Any, target: str) -> None:
        self.server = server
        self.target = target
        super().__init__(
            f"server {getattr(server, 'id', '?')} entered {str(getattr(server, 'status', '?'))!r} "
            f"while waiting for {target!r}"
        )


#: Why a server's fleet operation did not finish: the call was cancelled, ``fail_fast`` stopped it
#: after another server failed, the fleet's deadline passed before the server's turn came, or
#: the call ended with an error of its own (e.g. an ``on_progress`` callback raised), or the API
#: could not be reached at all for a while (``unreachable``: connections refused, DNS failing).
AbortReason = Literal["cancelled", "fail_fast", "timeout", "error", "unreachable"]


class FleetAbortedError(VPSOrgError):
    """This server's operation was not finished: the fleet stopped before it could be.

    Attributes:
        reason: ``"cancelled"``, ``"fail_fast"``, ``"timeout"``, ``"error"`` or ``"unreachable"``.
        stage: how far it had come: ``"queued"`` (nothing was sent for it), ``"requesting"``
            (its request may have been sent; the answer is unknown), ``"waiting"`` (the
            API accepted the action; the wait for the final state was cut short).
        cause: for ``fail_fast``, the failure that stopped the fleet; for ``unreachable``, the
            last connection failure.
    """

    def __init__(self, *, reason: AbortReason, stage: str, cause: Exception | None = None) -> None:
        self.reason = reason
        self.stage = stage
        self.cause = cause
        why = {
            "cancelled": "the fleet operation was cancelled",
            "fail_fast": f"fail_fast stopped the fleet after another failure ({cause})",
            "timeout": "the fleet's deadline passed",
            "error": "the fleet operation ended with an error",
            "unreachable": f"the API could not be reached ({cause})",
        }[reason]
        super().__init__(f"not finished ({stage}): {why}")


class FleetError(ExceptionGroup[Exception], VPSOrgError):
    """Every failure of a fleet operation, as one ``ExceptionGroup`` (``except*`` works)."""


class StrayAnswerError(ResponseDecodeError):
    """An answer about another server than the one asked for: it belongs to another request.

    A stray answer waiting on an idle kept-alive connection is handed to the next request sent
    on it, and every later answer there shifts by one. The connection is dropped, and the
    request is retried like one whose answer was lost (only idempotent rows echo an id).

    Attributes:
        expected: the id the request named.
        answered: the id the answer carried.
    """

    def __init__(
        self, *, expected: Any, answered: Any, method: str, path: str, status: int
    ) -> None:
        self.expected = expected
        self.answered = answered
        super().__init__(
            f"the answer is about server {answered!r}, not the requested {expected!r}; "
            "it belongs to another request (the connection was dropped)",
            method=method, path=path, status=status,
        )  # fmt: skip
