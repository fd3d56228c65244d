"""Answers to models, and request models to JSON-ready data.

Decoding is on every call's hot path. ``msgspec`` parses the response bytes straight into the
frozen attrs models (no intermediate dicts, no second pass over them), strictly: a wrong type or
a missing field stops the parse at once with the field's path (``$.plan.vcpus``), and a body of
the wrong shape fails at its first byte instead of being built in full. Two things msgspec does
not do are finished here, in one cheap pass over the decoded servers: a documented status becomes
its :class:`ServerStatus` member (an unknown one stays a plain ``str``), and a timestamp without
an offset is read as UTC (the API documents UTC).

cattrs stays the converter for request bodies and for the CLI's output (off the hot path).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
import msgspec

from ._errors import ResponseDecodeError
from ._models import ActionResult, Server, ServerList, ServerStatus

__all__ = ["converter", "decode", "decode_json", "encode_body"]

T = TypeVar("T")

_STATUSES: dict[str, ServerStatus] = {status.value: status for status in ServerStatus}
_set = object.__setattr__  # the models are frozen; only this module finishes them


def _finish_server(server: Server) -> None:
    known = _STATUSES.get(server.status)
    if known is not None:
        _set(server, "status", known)
    if server.created_at.tzinfo is None:
        _set(server, "created_at", server.created_at.replace(tzinfo=UTC))
    if server.updated_at.tzinfo is None:
        _set(server, "updated_at", server.updated_at.replace(tzinfo=UTC))


def _finish(value: Any) -> None:
    """Statuses to members and naive timestamps to UTC, in place (the objects are fresh)."""
    if isinstance(value, ServerList):
        for server in value.results:
            _finish_server(server)
    elif isinstance(value, Server):
        _finish_server(value)
    elif isinstance(value, ActionResult):
        known = _STATUSES.get(value.server.status)
        if known is not None:
            _set(value.server, "status", known)


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(cls: type[T]) -> msgspec.json.Decoder[T]:
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    return decoder


def _shape_error(exc: msgspec.ValidationError, cls: type[Any], **where: Any) -> ResponseDecodeError:
    # msgspec names the expected and the received JSON *types* and the path, never the value,
    # so neither this message nor the chained msgspec error can quote a token that a hostile
    # body put in a field.
    text = str(exc)
    if text.startswith("Expected `object`") and "- at `$." not in text:
        text = f"expected a JSON object for {cls.__name__}: {text}"
    return ResponseDecodeError(f"unexpected body for {cls.__name__}: {text}", **where)


def decode_json(
    body: bytes, cls: type[T], *, method: str = "", path: str = "", status: int = 0
) -> T:
    """Parse a response body into ``cls``; anything else becomes a ResponseDecodeError."""
    try:
        value = _decoder(cls).decode(body)
    except msgspec.ValidationError as exc:
        raise _shape_error(exc, cls, method=method, path=path, status=status) from exc
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ResponseDecodeError(
            f"body is not JSON ({type(exc).__name__}: {exc})",
            method=method, path=path, status=status,
        ) from exc  # fmt: skip
    _finish(value)
    return value


def decode(data: Any, cls: type[T], *, method: str = "", path: str = "", status: int = 0) -> T:
    """Turn already-parsed JSON into ``cls`` by the same strict rules as :func:`decode_json`."""
    try:
        value: T = msgspec.convert(data, cls, strict=True)
    except msgspec.ValidationError as exc:
        raise _shape_error(exc, cls, method=method, path=path, status=status) from exc
    _finish(value)
    return value


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter()
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat().replace("+00:00", "Z"))
    return conv


#: The cattrs converter for request bodies and for the CLI's JSON output.
converter = _make_converter()


def encode_body(body: Any) -> dict[str, Any]:
    """A request model as a JSON-ready dict, leaving out fields that are None (not given)."""
    data: dict[str, Any] = converter.unstructure(body)
    if attrs.has(type(body)):
        return {k: v for k, v in data.items() if v is not None}
    return data  # pragma: no cover - every body is an attrs model
