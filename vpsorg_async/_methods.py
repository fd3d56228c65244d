"""The generated methods: ``@endpoint(row)`` turns a typed declaration into the table-driven call.

Each of ``Client``'s nine methods is declared once with its full signature (so mypy and IDEs see
real parameters and return types) and decorated with ``@endpoint(ROW)``, which replaces the
declaration's body: it sorts the arguments into path, query and body by the row, and hands them
to ``Client._invoke``, which validates them before anything is sent.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ._endpoints import Endpoint
from ._validate import check_id, check_location, check_status

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["check_query", "endpoint"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Client")


def endpoint(
    row: Endpoint,
) -> Callable[
    [Callable[Concatenate[C, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
]:
    """Turn a typed declaration into the table-driven implementation of ``row``.

    The declaration's parameters must be exactly the row's path, query and body names plus the call
    options; ``tests/test_endpoints.py`` checks that for all nine.
    """

    def decorate(
        declaration: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[C, P], Coroutine[Any, Any, R]]:
        params = list(inspect.signature(declaration).parameters.values())[1:]
        positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
        allowed = frozenset(p.name for p in params)
        defaults = {p.name: p.default for p in params if p.default is not p.empty}
        required = allowed - defaults.keys()

        body_fields = row.body_fields
        npos = len(positional)
        # The common call (every positional given, no keywords, nothing required by keyword)
        # skips the general argument handling: it is on every request's path.
        simple = not (required - set(positional))

        @functools.wraps(declaration)
        async def method(self: C, *args: Any, **kwargs: Any) -> Any:
            if simple and not kwargs and len(args) == npos:
                values = defaults.copy()
                values.update(zip(positional, args, strict=True))
                return await self._invoke(row, values, body_fields)
            if len(args) > npos:
                raise TypeError(f"{row.name}() takes {npos} positional argument(s)")
            values = dict(defaults)
            values.update(zip(positional, args, strict=False))
            for key in kwargs:
                if key not in allowed:
                    raise TypeError(f"{row.name}() got an unexpected keyword argument {key!r}")
                if key in positional[: len(args)]:
                    raise TypeError(f"{row.name}() got multiple values for argument {key!r}")
            values.update(kwargs)
            if missing := required - values.keys():
                raise TypeError(f"{row.name}() missing argument(s): {', '.join(sorted(missing))}")
            return await self._invoke(row, values, body_fields)

        method.endpoint = row  # type: ignore[attr-defined]
        return method  # type: ignore[return-value]

    return decorate


def check_query(name: str, value: Any) -> str | int:
    """A query parameter's value as sent, after the check its name calls for."""
    if name in ("page", "page_size"):
        return check_id(name, value)
    if name == "location":
        check_location(name, value)
        return str(value)
    return check_status(name, value)
