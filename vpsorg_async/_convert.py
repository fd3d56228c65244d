"""Answers to models, and request models to JSON-ready data.

Decoding is on every call's hot path. ``msgspec`` parses the response bytes straight into the
frozen attrs models: no intermediate dicts and no second pass over them. It is strict (a wrong
type or a missing field is an error naming the field's path) and it stops at the first wrong
shape, so a hostile body is refused before it is built: a body that is not an object fails at
its first byte, and unknown fields are skipped without being built at all. Peak memory is then
the models themselves, at most a few times the body's size (``tests/test_secrets_hostile.py``).

Two things msgspec does not do are finished here, in one cheap pass over the decoded servers: a
documented status becomes its :class:`ServerStatus` member (an unknown one stays a plain
``str``), and a timestamp without an offset is read as UTC (the API documents UTC).

A decode error names the field, the type expected and the JSON type received, never the value
received (a server may echo the token anywhere), and chains nothing. cattrs stays the converter
for request bodies and for the CLI's JSON output, off the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
import msgspec

from ._errors import ResponseDecodeError
from ._models import ActionResult, Server, ServerList, ServerStatus
from ._redact import body_excerpt

__all__ = ["converter", "decode", "decode_json", "encode_body", "to_jsonable"]

T = TypeVar("T")

_STATUSES: dict[str, ServerStatus] = {status.value: status for status in ServerStatus}
_set = object.__setattr__  # the models are frozen; only this module finishes fresh ones


def _finish_server(server: Server) -> None:
    known = _STATUSES.get(server.status)
    if known is not None:
        _set(server, "status", known)
    if server.created_at.tzinfo is None:
        _set(server, "created_at", server.created_at.replace(tzinfo=UTC))
    if server.updated_at.tzinfo is None:
        _set(server, "updated_at", server.updated_at.replace(tzinfo=UTC))


def _finish_list(servers: ServerList) -> None:
    for server in servers.results:
        _finish_server(server)


def _finish_action(result: ActionResult) -> None:
    known = _STATUSES.get(result.server.status)
    if known is not None:
        _set(result.server, "status", known)


def _finisher(cls: type[Any]) -> Callable[[Any], None]:
    """The pass that finishes fresh objects of ``cls``, in place: statuses to members and naive
    timestamps to UTC."""
    if issubclass(cls, ServerList):
        return _finish_list
    if issubclass(cls, ActionResult):
        return _finish_action
    if issubclass(cls, Server):
        return _finish_server
    raise TypeError(f"not an answer model: {cls.__name__}")


#: An answer model -> its decoder and its finishing pass (made on first use: one dictionary
#: lookup per answer, then no type dispatch).
_decoders: dict[type[Any], tuple[msgspec.json.Decoder[Any], Callable[[Any], None]]] = {}


def _decoder(cls: type[T]) -> tuple[msgspec.json.Decoder[T], Callable[[Any], None]]:
    found = _decoders[cls] = (msgspec.json.Decoder(cls), _finisher(cls))
    return found


_AT = re.compile(r" - at `\$(.*)`$")


def _problem(exc: msgspec.ValidationError, cls: type[Any]) -> str:
    """msgspec's words in ours: ``expected int, got str @ ServerDetail.plan.vcpus``.

    msgspec names the expected and the received JSON *types* and the path, never the value.
    """
    text = str(exc)
    where = _AT.search(text)
    text = _AT.sub("", text).replace("`", "")
    text = text[:1].lower() + text[1:]
    if where is None:
        if text.startswith("expected object"):
            return f"expected a JSON object for {cls.__name__}, got {text.rsplit(' ', 1)[-1]}"
        return f"unexpected body: {text} @ {cls.__name__}"
    return f"unexpected body: {text} @ {cls.__name__}{where.group(1)}"


def decode_json(
    body: bytes,
    cls: type[T],
    secret: str | None = None,
    method: str = "",
    path: str = "",
    status: int = 0,
) -> T:
    """Parse a success answer into ``cls``; anything else is a ResponseDecodeError.

    Its parameters may be given by position: keywords are bound through a dict, on every answer.

    The error is raised outside the ``except`` blocks: it chains nothing.
    """
    decoder, finish = _decoders.get(cls) or _decoder(cls)
    try:
        value: T = decoder.decode(body)
    except msgspec.ValidationError as exc:
        problem = _problem(exc, cls)
    except (msgspec.DecodeError, RecursionError) as exc:
        problem = f"body is not JSON ({type(exc).__name__}): {body_excerpt(body, secret)!r}"
    else:
        finish(value)
        return value
    raise ResponseDecodeError(problem, method=method, path=path, status=status)


def decode(data: Any, cls: type[T], *, method: str = "", path: str = "", status: int = 0) -> T:
    """Turn already-parsed JSON into ``cls`` by the same strict rules as :func:`decode_json`."""
    try:
        value: T = msgspec.convert(data, cls, strict=True)
    except msgspec.ValidationError as exc:
        problem = _problem(exc, cls)
    else:
        _finisher(cls)(value)
        return value
    raise ResponseDecodeError(problem, method=method, path=path, status=status)


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


def to_jsonable(value: Any) -> Any:
    """A model, a list of models or a fleet result as JSON-ready data (``json.dumps`` takes it).

    Datetimes become ISO 8601 strings with ``Z``; attrs classes become dicts. What the
    ``vpsorg`` command prints with ``--output json``.
    """
    return converter.unstructure(value)
