"""Keyword arguments declared once, for functions that share them (the fleet functions, the waits).

A ``TypedDict`` names the keywords and their types; a mapping gives each its default. A public
function takes ``**keywords: Unpack[TheKeywords]``, so mypy and IDEs check every name and type as
they would an explicit signature, and :func:`spelled_out` gives it the explicit signature that
``help()`` and ``inspect.signature`` show, defaults included. The function reads its arguments with
:func:`given`, which refuses an unknown name as Python itself would.

Without this, the five fleet functions repeated one list of ten keywords five times, and the four
waits one of four to nine.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ForwardRef, TypeVar

__all__ = ["given", "spelled_out"]

F = TypeVar("F", bound=Callable[..., Any])
KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY


def given(call: str, keywords: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Every keyword of ``call``: those passed, the rest at their defaults.

    Raises:
        TypeError: a keyword ``call`` does not take (the message Python gives for one).
    """
    for name in keywords:
        if name not in defaults:
            raise TypeError(f"{call}() got an unexpected keyword argument {name!r}")
    return {**defaults, **keywords}


def spelled_out(declared: type, defaults: Mapping[str, Any]) -> Callable[[F], F]:
    """Give a function's ``**keywords`` the explicit signature ``help()`` shows; nothing else.

    ``declared`` is the TypedDict of the keywords (its annotations in declaration order, a base
    class's first); ``defaults`` must name exactly those keywords. The function itself is
    returned unchanged (no wrapper: a sleeping wait holds no extra frame).
    """
    # A TypedDict's annotations hold its bases' too, as forward references: shown as written.
    annotations = {
        name: kind.__forward_arg__ if isinstance(kind, ForwardRef) else kind
        for name, kind in declared.__annotations__.items()
    }
    if annotations.keys() != defaults.keys():
        raise TypeError(
            f"{declared.__name__} declares {sorted(annotations)}, defaults name {sorted(defaults)}"
        )

    def decorate(function: F) -> F:
        signature = inspect.signature(function)
        kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
        spelled = [
            inspect.Parameter(name, KEYWORD_ONLY, default=defaults[name], annotation=kind)
            for name, kind in annotations.items()
        ]
        function.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*kept, *spelled]
        )
        return function

    return decorate
