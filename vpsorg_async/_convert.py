"""The one cattrs converter: JSON-ready data to models and back.

Decoding is on every call's hot path, so the converter that runs is built with
``detailed_validation=False`` (plain generated code). Only when it fails do we decode again with a
detailed twin, to name the exact field in the :class:`ResponseDecodeError`.

A decode error names the field, the type expected and the JSON type received, never the value
received (a server may echo the token anywhere), and chains no cattrs or json exception (they
quote values). ``load_json`` refuses a body before parsing when it is not an object or when
parsing it could take more memory than ``PARSE_BUDGET_BYTES``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError

from . import _policy as policy
from ._errors import ResponseDecodeError, body_excerpt
from ._models import ResourceUsage, Server, ServerStatus

__all__ = ["decode", "encode_body", "load_json"]

T = TypeVar("T")


class _WrongType(TypeError):
    pass


def _strict(kind: type[Any], *accepted: type[Any]) -> Any:
    """A hook that accepts only ``accepted`` JSON types (``bool`` never passes as a number)."""
    ok = accepted or (kind,)

    def hook(value: Any, _: Any) -> Any:
        if type(value) in ok:
            return value
        raise _WrongType(f"expected {kind.__name__}, got {type(value).__name__}")

    return hook


def _structure_datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise _WrongType(f"expected an ISO 8601 timestamp, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value)  # 3.11 reads the trailing "Z"
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_STATUSES: dict[str, ServerStatus] = {status.value: status for status in ServerStatus}


def _structure_status(value: Any, _: Any) -> ServerStatus | str:
    if not isinstance(value, str):
        raise _WrongType(f"expected a status string, got {type(value).__name__}")
    # A dict lookup, not ServerStatus(value): this runs for every server of every answer.
    # A status this library does not know yet is kept as a plain string, not a crash.
    return _STATUSES.get(value) or str(value)


def _optional(kind: type[Any], *accepted: type[Any]) -> Any:
    """``kind | None`` in one step (cattrs' generic Optional handler dispatches on every call)."""
    ok = (*(accepted or (kind,)), type(None))
    strict = _strict(kind, *accepted)

    def hook(value: Any, _: Any) -> Any:
        return value if type(value) in ok else strict(value, _)

    return hook


def _optional_model(conv: cattrs.Converter, model: type[Any]) -> Any:
    inner = conv.get_structure_hook(model)

    def hook(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, model)

    return hook


def _make(detailed: bool) -> cattrs.Converter:
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)
    for kind, accepted in ((int, (int,)), (str, (str,)), (bool, (bool,)), (float, (float, int))):
        conv.register_structure_hook(kind, _strict(kind, *accepted))
        if not detailed:  # the detailed twin keeps cattrs' own handling, for its messages
            conv.register_structure_hook(kind | None, _optional(kind, *accepted))
    if not detailed:
        conv.register_structure_hook(ResourceUsage | None, _optional_model(conv, ResourceUsage))
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_structure_hook(ServerStatus | str, _structure_status)
    server_hook = conv.get_structure_hook(Server)

    def structure_servers(value: Any, _: Any) -> list[Server]:
        if type(value) is not list:  # a dict or a string is not "no servers"
            raise _WrongType(f"expected a list of servers, got {type(value).__name__}")
        return [server_hook(item, Server) for item in value]

    conv.register_structure_hook_func(lambda t: t == list[Server], structure_servers)
    conv.register_unstructure_hook(datetime, lambda d: d.isoformat().replace("+00:00", "Z"))
    return conv


converter = _make(detailed=False)
_detailed = _make(detailed=True)


def _say(exc: BaseException, kind: type[Any] | None) -> str:
    """cattrs' words for one field's failure, minus the value received (``cattrs.v`` quotes it)."""
    if isinstance(exc, _WrongType):
        return str(exc)  # our own hooks' words: the expected and the received type
    if isinstance(exc, KeyError):
        return "required field missing"
    expected = f", expected {getattr(kind, '__name__', kind)}" if kind is not None else ""
    return f"invalid value ({type(exc).__name__}){expected}"


def _describe(exc: BaseException, cls: type[Any]) -> str:
    if isinstance(exc, BaseValidationError):
        return "; ".join(cattrs.transform_error(exc, path=cls.__name__, format_exception=_say))
    return f"{cls.__name__}: {_say(exc, None)}"


def _problem(data: Any, cls: type[Any]) -> str:
    """Why ``data`` is not a ``cls``, field by field (the detailed twin names the fields)."""
    if not isinstance(data, dict):
        return f"expected a JSON object for {cls.__name__}, got {type(data).__name__}"
    try:
        _detailed.structure(data, cls)
    except Exception as exc:  # whatever it is, it is described, never chained
        return f"unexpected body: {_describe(exc, cls)}"
    return f"unexpected body for {cls.__name__}"  # pragma: no cover - the twins agree


def decode(data: Any, cls: type[T], *, method: str = "", path: str = "", status: int = 0) -> T:
    """Turn decoded JSON into ``cls``; any mismatch becomes a ResponseDecodeError naming the field.

    The error is raised outside the ``except`` block, so that not even its ``__context__`` holds
    the cattrs exception (which quotes the value received).
    """
    try:
        return converter.structure(data, cls)
    except Exception:  # any failure is the body's: described below, outside this block
        problem = _problem(data, cls)
    raise ResponseDecodeError(problem, method=method, path=path, status=status)


#: Every model is a JSON object: what a body's first non-blank byte says it is instead.
_START = re.compile(rb"\s*(\S?)")
_NOT_AN_OBJECT = {
    b"[": "an array",
    b'"': "a string",
    b"t": "true",
    b"f": "false",
    b"n": "null",
    **{bytes([c]): "a number" for c in b"-0123456789"},
}
#: What ``json.loads`` may spend per container (``{``/``[``: a dict with a few keys is 184-360
#: bytes, an empty one 64) and per item (``,``/``:``: a value or a dict entry, 32-64 bytes, plus
#: its slot). Measured on CPython 3.11, rounded up; see ``_parse_cost``.
_CONTAINER_COST = 256
_ITEM_COST = 64
#: The parser's own allocations, whatever the body (its key memo, a few buffers).
_PARSER_COST = 64 * 1024


def _parse_cost(body: bytes) -> int:
    """An upper estimate of the peak memory of ``json.loads(body)``, the body included.

    The body, its decoded text (up to 4 bytes a character) and the strings parsed out of it,
    plus a cost per container and per item, each counted in one fast pass. The worst shapes
    (``[{},{},...]``, ``[{"":{}},...]``) cost 25-33 times their size; this says 80-110.
    """
    width = 1 if body.isascii() else 4
    containers = body.count(b"{") + body.count(b"[")
    items = body.count(b",") + body.count(b":")
    structure = containers * _CONTAINER_COST + items * _ITEM_COST
    return _PARSER_COST + len(body) * (1 + 2 * width) + structure


#: A body this small is within the budget whatever its shape: ``_parse_cost`` need not look.
_ALWAYS_AFFORDABLE = (policy.PARSE_BUDGET_BYTES - _PARSER_COST) // (
    1 + 2 * 4 + _CONTAINER_COST + _ITEM_COST
)


def load_json(
    body: bytes,
    cls: type[Any],
    *,
    secret: str | None,
    method: str = "",
    path: str = "",
    status: int = 0,
) -> Any:
    """The JSON of a success answer for ``cls``, or a ResponseDecodeError quoting it redacted.

    Fails before parsing when the body is not a JSON object (every model is one), or when its
    parse could take more than ``PARSE_BUDGET_BYTES`` of memory. Errors chain nothing.
    """
    match = _START.match(body)
    start = match.group(1) if match else b""
    if start != b"{":
        kind = _NOT_AN_OBJECT.get(start)
        problem = (
            f"expected a JSON object for {cls.__name__}, got {kind}"
            if kind
            else ("body is not JSON")
        )
    elif len(body) > _ALWAYS_AFFORDABLE and _parse_cost(body) > policy.PARSE_BUDGET_BYTES:
        problem = (
            f"refused a body of {len(body)} bytes: parsing it could take more than "
            f"{policy.PARSE_BUDGET_BYTES} bytes of memory"
        )
    else:
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:  # ValueError covers UnicodeDecodeError
            problem = f"body is not JSON ({type(exc).__name__})"
    raise ResponseDecodeError(
        f"{problem}: {body_excerpt(body, secret)!r}", method=method, path=path, status=status
    )


def encode_body(body: Any) -> dict[str, Any]:
    """A request model as a JSON-ready dict, leaving out fields that are None (not given)."""
    data: dict[str, Any] = converter.unstructure(body)
    if attrs.has(type(body)):
        return {k: v for k, v in data.items() if v is not None}
    return data  # pragma: no cover - every body is an attrs model
