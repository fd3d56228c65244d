"""``fleet.shard``: each of N workers takes its own share of one fleet, with no coordination.

An id's shard is a stable hash of it (BLAKE2b, never Python's ``hash``, which changes with every
interpreter) modulo the count: every worker, on any machine and any Python, agrees on who owns
an id, and the shares are balanced (a uniform hash puts each id in each shard with chance 1/N).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import TypeVar

from .._errors import ValidationError

__all__ = ["shard", "shard_of"]

K = TypeVar("K", int, str)


def shard_of(key: int | str, count: int) -> int:
    """The shard (``0 <= shard < count``) that owns ``key``: the same on every machine."""
    digest = hashlib.blake2b(str(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


def shard(ids: Iterable[K], *, index: int, count: int) -> list[K]:
    """The ids of ``ids`` that shard ``index`` of ``count`` owns, in their order.

    Give every worker the same ``ids`` and ``count`` and its own ``index``: together they cover
    every id exactly once, each about ``1/count`` of them, and an id stays with its shard for
    as long as ``count`` does (a new count moves most ids).

    Args:
        ids: server ids (or names, for ``fleet.create``).
        index: this worker's shard, ``0 <= index < count`` (``JOB_COMPLETION_INDEX`` of a
            Kubernetes Indexed Job, say).
        count: how many workers share the ids.

    Returns:
        This worker's ids.

    Raises:
        ValidationError: ``count`` is not a positive integer or ``index`` not in ``0..count-1``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValidationError("count", f"must be a positive integer, got {count!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
        raise ValidationError("index", f"must be an integer from 0 to {count - 1}, got {index!r}")
    return [key for key in ids if shard_of(key, count) == index]
