"""Helpers of the secret tests (test_secrets.py, test_secrets_hostile.py): how an error shows."""

from __future__ import annotations

import traceback
from collections.abc import Iterator

__all__ = ["chain", "renderings"]


def chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and each exception behind it (its cause, else its context), outermost first."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def renderings(exc: BaseException) -> list[str]:
    """Every way a user or a logger may print ``exc``: itself, its chain, notes, attributes."""
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
    for seen in chain(exc):
        texts += [str(seen), repr(seen), repr(getattr(seen, "__dict__", {}))]
        texts += getattr(seen, "__notes__", [])
    return texts
