"""The ledger: what the simulator saw and did, for tests and benchmarks to check.

Status ``0`` in :attr:`Ledger.requests` means the connection was cut and no answer was sent.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

__all__ = ["DROPPED", "Ledger"]

DROPPED = 0  # the "status" recorded for a request whose connection was cut


class Ledger:
    """Counts of requests, answers, injected faults and applied changes.

    Attributes:
        total: requests to the nine API endpoints (admin routes are not counted).
        requests: ``(endpoint, status) -> count``; status ``0`` for a cut connection.
        faults: ``kind -> count``; kinds are ``drop_before``, ``drop_after``, ``error_500``
            (``error_<status>``), ``throttle`` (random 429), ``rate_limit`` (bucket 429) and
            ``latency``.
        applied: ``endpoint -> count`` of requests that changed state (successful creates,
            updates, deletes and actions), including those whose answer was then dropped.
        creates: ``(id, name)`` of every applied create, in order.
        times: ``(wall time, endpoint, status)`` of every request, in order: wall time, so that
            other processes (a cluster of clients) can set their own events beside it.
    """

    total: int
    requests: Counter[tuple[str, int]]
    faults: Counter[str]
    applied: Counter[str]
    creates: list[tuple[int, str]]
    times: list[tuple[float, str, int]]

    def __init__(self) -> None:
        """Start empty."""
        self.reset()

    def record(self, endpoint: str, status: int) -> None:
        """Count one request to ``endpoint`` answered with ``status``."""
        self.total += 1
        self.requests[endpoint, status] += 1
        self.times.append((time.time(), endpoint, status))

    def count(self, endpoint: str | None = None, status: int | None = None) -> int:
        """Requests to ``endpoint`` (any if ``None``) answered with ``status`` (any if ``None``)."""
        return sum(
            n
            for (name, code), n in self.requests.items()
            if (endpoint is None or name == endpoint) and (status is None or code == status)
        )

    @property
    def created_names(self) -> list[str]:
        """Names of the applied creates, in order."""
        return [name for _, name in self.creates]

    def duplicate_creates(self) -> dict[str, int]:
        """Names created more than once, with how many times; empty when there are none."""
        counts = Counter(self.created_names)
        return {name: n for name, n in counts.items() if n > 1}

    def reset(self) -> None:
        """Forget everything recorded so far."""
        self.total = 0
        self.requests = Counter()
        self.faults = Counter()
        self.applied = Counter()
        self.creates = []
        self.times = []

    def to_dict(self, *, times: bool = False) -> dict[str, Any]:
        """Everything as JSON-able data (status codes become string keys); with ``times``, the
        ``times`` of every request too (``GET /_sim/ledger?times=1``)."""
        requests: dict[str, dict[str, int]] = {}
        for (endpoint, status), n in sorted(self.requests.items()):
            requests.setdefault(endpoint, {})[str(status)] = n
        return {
            "total": self.total,
            "requests": requests,
            "faults": dict(sorted(self.faults.items())),
            "applied": dict(sorted(self.applied.items())),
            "creates": [{"id": server_id, "name": name} for server_id, name in self.creates],
            "duplicate_creates": self.duplicate_creates(),
        } | ({"times": [list(entry) for entry in self.times]} if times else {})
