"""Words the command line prints about counts: "1 server", "2 servers", never "1 servers"."""

from __future__ import annotations

__all__ = ["count"]


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun``, the noun plural unless ``number`` is 1 (``plural`` or noun+"s")."""
    return f"{number} {noun if number == 1 else (plural or noun + 's')}"
