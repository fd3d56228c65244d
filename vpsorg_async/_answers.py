"""The pure mapping from an error answer (status, headers, body) to the library's exception.

DRF-style bodies (``{"detail": ...}`` or ``{"field": ["msg", ...]}``) fill ``detail`` and
``field_errors``; anything else is quoted as a short excerpt. Everything quoted is redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from . import _policy as policy
from ._errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from ._redact import body_excerpt, redact

__all__ = ["NOT_THE_API", "REQUEST_ID_HEADERS", "error_from_response", "not_the_api"]

#: Headers that may carry a request id, in the order they are looked up.
REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "request-id")
_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: PaymentRequiredError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _small_json(body: bytes) -> Any:
    """The JSON of an error body, or None: a body over ``ERROR_BODY_BYTES`` is not parsed."""
    if len(body) > policy.ERROR_BODY_BYTES:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers UnicodeDecodeError
        return None


def _detail_and_fields(body: bytes, secret: str | None) -> tuple[str | None, dict[str, list[str]]]:
    """Read DRF's ``{"detail": ...}`` or ``{"field": ["msg", ...]}``; anything else is an excerpt.

    Every text is redacted after JSON decoding, so an escaped echo of the token is caught too.
    """
    if not body:
        return None, {}
    data = _small_json(body)
    if not isinstance(data, dict):
        return body_excerpt(body, secret) or None, {}

    def text(value: Any) -> str:
        return redact(value if isinstance(value, str) else str(value), secret)

    detail = data.get("detail")
    fields: dict[str, list[str]] = {}
    for key, value in data.items():
        if key == "detail":
            continue
        if isinstance(value, list):
            fields[text(key)] = [text(v) for v in value]
        elif isinstance(value, str):
            fields[text(key)] = [text(value)]
    if detail is None and "non_field_errors" in fields:
        return " ".join(fields.pop("non_field_errors")), fields
    return (text(detail) if detail is not None else None), fields


def error_from_response(
    *,
    status: int,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    retry_after: float | None = None,
    attempts: int = 1,
    secret: str | None = None,
) -> APIError:
    """Build the exception for an error answer. Pure: no I/O, never raises.

    ``secret`` (the token) is blanked out of anything quoted from the body or the headers, in
    case a proxy echoes the request's headers back. A body over ``ERROR_BODY_BYTES`` is not
    parsed: only an excerpt of it is quoted.
    """
    detail, fields = _detail_and_fields(body, secret)
    request_id = next(
        (redact(headers[h], secret) for h in REQUEST_ID_HEADERS if h in headers), None
    )
    kwargs: dict[str, Any] = {
        "status": status,
        "method": method,
        "path": path,
        "detail": detail,
        "field_errors": fields,
        "request_id": request_id,
        "attempts": attempts,
        "retry_after": retry_after,
    }
    if status == 404 and not_the_api(path, body):
        kwargs["hint"] = NOT_THE_API
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(**kwargs)


#: What a 404 that is not the API's own says: the usual cause is a base URL without ``/api/v1``.
NOT_THE_API = (
    "this 404 does not look like the API's: does the base URL end in /api/v1 "
    f"(e.g. {policy.DEFAULT_BASE_URL})?"
)
_ONE_SERVER = re.compile(r"/servers/\d+/")


def not_the_api(path: str, body: bytes) -> bool:
    """True for a 404 the API itself would not answer.

    The API's routes without a server id (the list, the create) always exist, so a 404 there
    means the URL is not the API's. With an id, the API answers DRF's JSON object
    (``{"detail": "Not found."}``); anything else (a web server's HTML page, an empty body) came
    from something in front of it or beside it.
    """
    if not _ONE_SERVER.search(path):
        return True
    return not isinstance(_small_json(body), dict)
