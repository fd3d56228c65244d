"""What the shared board stores: sightings and asks as JSON, and back. Pure functions, no I/O.

A sighting on the board is ``{"at": <Redis time of the sweep>, "kind": ..., ...}``:

- ``server`` (or ``detail``, a GET's ``ServerDetail``): the server as the API answered it;
- ``absent``: a complete sweep did not list it (``None``: gone);
- ``error``: asking about it ended with an error (a 401, a 403, the API's 404): its class name,
  the request's method, path and status, and its message, bounded;
- ``unseen``: not seen this time (a transient error), with that error as its cause.

An exception crosses processes as its kind and its message, never as a pickle: the reader
rebuilds one of the library's own error classes (an unknown kind becomes a plain
``VPSOrgError``), so a wait ends with the same type of error whichever process swept. The
messages are the library's own, already free of the token (the session redacts every message
it makes); they are bounded again here, and a URL's password never reaches them.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

from .. import _errors as errors
from .._convert import decode, to_jsonable
from .._models import Server, ServerDetail
from .._redact import bounded
from .._seams import Ask, Sighting, Unseen

__all__ = [
    "BoardStaleError",
    "Registered",
    "dump_ask",
    "dump_sighting",
    "load_ask",
    "load_sighting",
    "merge",
]


class BoardStaleError(errors.VPSOrgError):
    """The shared board had no sweep of the server fresher than the wait (the cause of an
    ``Unseen``, and so of a ``WaiterTimeoutError`` if time runs out)."""


#: The error classes a sighting may carry, by name: what an ``ApiStatusSource`` answers with.
_API_ERRORS: dict[str, type[errors.APIError]] = {
    cls.__name__: cls
    for cls in (
        errors.APIError,
        errors.BadRequestError,
        errors.AuthenticationError,
        errors.PaymentRequiredError,
        errors.PermissionDeniedError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.RateLimitError,
        errors.ServerError,
    )
}
_TRANSPORT_ERRORS: dict[str, type[errors.TransportError]] = {
    cls.__name__: cls
    for cls in (errors.TransportError, errors.RequestTimeoutError, errors.TLSCertificateError)
}


def _dump_error(exc: Exception) -> dict[str, Any]:
    record: dict[str, Any] = {"type": type(exc).__name__, "message": bounded(str(exc))}
    if isinstance(exc, errors.APIError):
        record.update(status=exc.status, method=exc.method, path=exc.path, detail=exc.detail)
        record["detail"] = bounded(exc.detail) if exc.detail else None
    elif isinstance(exc, (errors.TransportError, errors.ResponseDecodeError)):
        record.update(method=exc.method, path=exc.path)
    return record


def _load_error(record: dict[str, Any]) -> Exception:
    kind, message = record["type"], record["message"]
    if kind in _API_ERRORS:
        return _API_ERRORS[kind](
            status=record["status"],
            method=record["method"],
            path=record["path"],
            detail=record["detail"],
        )
    prefix = f"{record.get('method')} {record.get('path')}: "
    if kind in _TRANSPORT_ERRORS:
        return _TRANSPORT_ERRORS[kind](
            message.removeprefix(prefix), method=record["method"], path=record["path"]
        )
    if kind in ("ResponseDecodeError", "StrayAnswerError"):
        return errors.ResponseDecodeError(message)
    if kind == BoardStaleError.__name__:
        return BoardStaleError(message)
    return errors.VPSOrgError(message)


def dump_sighting(sighting: Sighting, *, at: float) -> str:
    """``sighting`` as the board stores it, stamped with the sweep's start ``at`` (Redis time)."""
    record: dict[str, Any]
    if sighting is None:
        record = {"kind": "absent"}
    elif isinstance(sighting, Server):
        # a GET's answer is a ServerDetail: it comes back as one, as it would in process
        kind = "detail" if isinstance(sighting, ServerDetail) else "server"
        record = {"kind": kind, "data": to_jsonable(sighting)}
    elif isinstance(sighting, Unseen):
        record = {"kind": "unseen", "error": _dump_error(sighting.cause)}
    else:
        record = {"kind": "error", "error": _dump_error(sighting)}
    record["at"] = at
    return json.dumps(record, separators=(",", ":"))


def load_sighting(text: str | bytes) -> tuple[float, Sighting]:
    """A stored sighting: ``(the Redis time of its sweep, the sighting)``.

    Raises:
        ValueError: not a sighting the board wrote (the caller treats it as not seen).
    """
    try:
        record = json.loads(text)
        at, kind = float(record["at"]), record["kind"]
        if kind == "absent":
            return at, None
        if kind in ("server", "detail"):
            return at, decode(record["data"], ServerDetail if kind == "detail" else Server)
        if kind == "unseen":
            return at, Unseen(_load_error(record["error"]))
        if kind == "error":
            return at, _load_error(record["error"])
    except (KeyError, TypeError, ValueError, errors.ResponseDecodeError) as exc:
        raise ValueError(f"not a board sighting: {exc}") from exc
    raise ValueError(f"not a board sighting: kind {kind!r}")


@attrs.frozen
class Registered:
    """One registration on the board: a server some process waits for, until ``deadline``
    (Redis time)."""

    server_id: int
    deadline: float
    location: str | None
    unlisted_is_gone: bool


def dump_ask(ask: Ask, *, deadline: float) -> str:
    """``ask`` as registered on the board, its deadline moved onto Redis time."""
    record = {"d": deadline, "l": ask.location, "g": ask.unlisted_is_gone}
    return json.dumps(record, separators=(",", ":"))


def load_ask(field: str | bytes, text: str | bytes) -> Registered:
    """A registration (the hash field ``"<board>:<server id>"`` and its value).

    Raises:
        ValueError: not a registration the board wrote.
    """
    try:
        name = field.decode() if isinstance(field, bytes) else field
        record = json.loads(text)
        location = record["l"]
        if location is not None and not isinstance(location, str):
            raise TypeError("location")
        return Registered(
            int(name.rpartition(":")[2]), float(record["d"]), location, bool(record["g"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a board registration: {exc}") from exc


def merge(registered: list[Registered]) -> list[Registered]:
    """One registration per server: the latest deadline, and a complete list proves it gone only
    when every waiter accepts that (else a GET confirms, and its 404 serves both kinds)."""
    by_id: dict[int, Registered] = {}
    for entry in registered:
        seen = by_id.get(entry.server_id)
        if seen is None:
            by_id[entry.server_id] = entry
            continue
        by_id[entry.server_id] = Registered(
            entry.server_id,
            max(seen.deadline, entry.deadline),
            seen.location or entry.location,
            seen.unlisted_is_gone and entry.unlisted_is_gone,
        )
    return list(by_id.values())
