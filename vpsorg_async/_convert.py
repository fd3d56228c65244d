"""The one cattrs converter: JSON-ready data to models and back.

Decoding is on every call's hot path, so the converter that runs is built with
``detailed_validation=False`` (plain generated code). Only when it fails do we decode again with a
detailed twin, to name the exact field in the :class:`ResponseDecodeError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import BaseValidationError

from ._errors import ResponseDecodeError
from ._models import ResourceUsage, Server, ServerStatus

__all__ = ["decode", "encode_body"]

T = TypeVar("T")


class _WrongType(TypeError):
    pass


def _strict(kind: type[Any], *accepted: type[Any]) -> Any:
    """A hook that accepts only ``accepted`` JSON types (``bool`` never passes as a number)."""
    ok = accepted or (kind,)

    def hook(value: Any, _: Any) -> Any:
        if type(value) in ok:
            return value
        raise _WrongType(f"expected {kind.__name__}, got {type(value).__name__} {value!r:.40}")

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


def _describe(exc: BaseException, cls: type[Any]) -> str:
    if isinstance(exc, BaseValidationError):
        messages = cattrs.transform_error(exc, path=cls.__name__)
        return "; ".join(messages)
    return f"{cls.__name__}: {exc}"


def decode(data: Any, cls: type[T], *, method: str = "", path: str = "", status: int = 0) -> T:
    """Turn decoded JSON into ``cls``; any mismatch becomes a ResponseDecodeError naming the field."""
    try:
        return converter.structure(data, cls)
    except Exception:
        if not isinstance(data, dict):
            raise ResponseDecodeError(
                f"expected a JSON object for {cls.__name__}, got {type(data).__name__}",
                method=method,
                path=path,
                status=status,
            ) from None
        try:
            _detailed.structure(data, cls)
        except Exception as exc:
            raise ResponseDecodeError(
                f"unexpected body: {_describe(exc, cls)}", method=method, path=path, status=status
            ) from exc
        raise ResponseDecodeError(  # pragma: no cover - the twins agree; kept so nothing escapes
            f"unexpected body for {cls.__name__}", method=method, path=path, status=status
        ) from None


def encode_body(body: Any) -> dict[str, Any]:
    """A request model as a JSON-ready dict, leaving out fields that are None (not given)."""
    data: dict[str, Any] = converter.unstructure(body)
    if attrs.has(type(body)):
        return {k: v for k, v in data.items() if v is not None}
    return data  # pragma: no cover - every body is an attrs model
