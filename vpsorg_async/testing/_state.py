"""Servers in memory, their lazy lifecycle, and their JSON shapes.

Transitions are lazy so 10,000 servers cost no tasks: a server in a transitional status keeps
its target status and a deadline on the injectable clock, and a heap of deadlines is drained
whenever state is read (:meth:`ServerStore.tick`). Rendered JSON is cached per server and
dropped on every change, so hot GETs are a dict lookup and a cached ``bytes``.
"""

from __future__ import annotations

import heapq
import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import attrs

from ._catalogue import LOCATIONS, OS_IMAGES, PLANS, Plan
from ._timing import Clock, Delays

__all__ = ["FIRST_ID", "TRANSITIONS", "ServerRecord", "ServerStore"]

FIRST_ID = 12345  # the document's first example server
CREATE_MESSAGE = "Server is being provisioned. This may take 2-5 minutes."
# kind -> (transitional status, status reached when the delay is over)
TRANSITIONS: dict[str, tuple[str, str]] = {
    "provision": ("provisioning", "active"),
    "start": ("starting", "active"),
    "stop": ("stopping", "stopped"),
    "reboot": ("rebooting", "active"),
}
_KIND_OF_TRANSITIONAL = {transitional: kind for kind, (transitional, _) in TRANSITIONS.items()}
_DUMPS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_PLAN_SUMMARY = {plan_id: plan.summary for plan_id, plan in PLANS.items()}
_PLAN_DETAIL = {plan_id: plan.detail for plan_id, plan in PLANS.items()}
_OS = {os_id: {"id": os_id, "name": name} for os_id, name in OS_IMAGES.items()}
_ROLES = ("web", "db", "cache", "worker", "api")
_LIST_CACHE_SIZE = 64
# (plan_id, os_id, location, status) of the document's two example servers
_DOC_SERVERS = ((1, 5, "us-west", "active"), (2, 3, "us-east", "active"))


@attrs.define(eq=False)
class ServerRecord:
    """One simulated server. Times are values of the simulator's clock."""

    id: int
    name: str
    hostname: str
    status: str
    location: str
    plan: Plan
    os_id: int
    backups_enabled: bool
    created: float
    updated: float
    ip_address: str | None = None
    ipv6_address: str | None = None
    pending: str | None = None  # status reached at ``ready_at``
    ready_at: float | None = None
    seq: int = 0  # identifies the live heap entry; older entries are stale
    summary_json: bytes | None = None
    detail_json: bytes | None = None


def _addresses(server_id: int) -> tuple[str, str]:
    # 12345 -> 203.0.113.10 and 2001:0db8::1 as in the document; then the CGNAT range.
    k = server_id - FIRST_ID
    if k < 245:
        ipv4 = f"203.0.113.{10 + k}"
    else:
        n = k % (1 << 22)
        ipv4 = f"100.{64 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"
    return ipv4, f"2001:0db8::{k + 1:x}"


def _usage(record: ServerRecord) -> dict[str, Any]:
    if record.status != "active":
        return {"cpu_percent": 0.0, "memory_used": 0, "disk_used": 0, "bandwidth_used": 0}
    i, plan = record.id, record.plan
    return {
        "cpu_percent": round(2.0 + (i * 7919 % 600) / 10, 1),
        "memory_used": plan.memory * (30 + i * 31 % 40) // 100,
        "disk_used": plan.storage * (20 + i * 17 % 50) // 100,
        "bandwidth_used": plan.bandwidth * (i * 13 % 60) // 100,
    }


class ServerStore:
    """All simulated servers, their lifecycle and their JSON shapes."""

    def __init__(self, *, clock: Clock, seed: int, delays: Delays) -> None:
        """Create an empty store on ``clock``; ``seed`` drives delay jitter and population."""
        self.clock = clock
        self.delays = delays
        self._delay_rng = random.Random(f"delays-{seed}")
        self._population_rng = random.Random(f"population-{seed}")
        self._servers: dict[int, ServerRecord] = {}
        self._heap: list[tuple[float, int, int]] = []
        # (status, location) filter -> the matching list items, dropped on any change
        self._lists: dict[tuple[str | None, str | None], list[bytes]] = {}
        self._next_id = FIRST_ID
        self._seq = 0
        self._wall0 = time.time()
        self._clock0 = clock()

    def __len__(self) -> int:
        return len(self._servers)

    def __iter__(self) -> Iterator[ServerRecord]:
        return iter(list(self._servers.values()))

    # -- time -------------------------------------------------------------------------------

    def iso(self, t: float) -> str:
        """Format clock value ``t`` as ISO 8601 UTC with ``Z``, to the second like the document."""
        when = datetime.fromtimestamp(self._wall0 + (t - self._clock0), UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def tick(self) -> float:
        """Finish every transition whose deadline has passed; return the current time."""
        now = self.clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            ready_at, seq, server_id = heapq.heappop(heap)
            record = self._servers.get(server_id)
            if record is None or record.seq != seq or record.pending is None:
                continue  # deleted, or its status was changed since
            self._settle(record, record.pending, ready_at)
        return now

    def _settle(self, record: ServerRecord, status: str, when: float) -> None:
        record.status = status
        record.pending = None
        record.ready_at = None
        if status != "provisioning" and record.ip_address is None:
            record.ip_address, record.ipv6_address = _addresses(record.id)
        self._touch(record, when)

    def _touch(self, record: ServerRecord, when: float) -> None:
        record.updated = when
        record.summary_json = None
        record.detail_json = None
        self._lists.clear()

    def _begin(self, record: ServerRecord, kind: str, now: float) -> None:
        transitional, target = TRANSITIONS[kind]
        low, high = getattr(self.delays, kind)
        self._seq += 1
        record.status = transitional
        record.pending = target
        record.ready_at = now + (self._delay_rng.uniform(low, high) if high > low else low)
        record.seq = self._seq
        heapq.heappush(self._heap, (record.ready_at, self._seq, record.id))
        self._touch(record, now)

    # -- reading ----------------------------------------------------------------------------

    def get(self, server_id: int) -> ServerRecord | None:
        """Return the server with ``server_id`` or ``None`` (call :meth:`tick` first)."""
        return self._servers.get(server_id)

    def summaries(self, status: str | None, location: str | None) -> list[bytes]:
        """Return the list-item JSON of every server matching the exact-match filters.

        Cached per filter until anything changes, so repeated lists of a large, quiet fleet
        cost one dict lookup.
        """
        key = (status, location)
        cached = self._lists.get(key)
        if cached is not None:
            return cached
        out = []
        for record in self._servers.values():
            if (status is None or record.status == status) and (
                location is None or record.location == location
            ):
                out.append(record.summary_json or self._render_summary(record))
        if len(self._lists) >= _LIST_CACHE_SIZE:  # arbitrary query strings must not grow it
            self._lists.clear()
        self._lists[key] = out
        return out

    @staticmethod
    def _identity(record: ServerRecord) -> dict[str, Any]:
        """The keys that open both shapes, in the document's order."""
        return {
            "id": record.id,
            "name": record.name,
            "hostname": record.hostname,
            "status": record.status,
            "ip_address": record.ip_address,
        }

    def summary(self, record: ServerRecord) -> dict[str, Any]:
        """The list-item (Server) shape."""
        return {
            **self._identity(record),
            "location": record.location,
            "plan": _PLAN_SUMMARY[record.plan.id],
            "os": _OS[record.os_id],
            "created_at": self.iso(record.created),
            "updated_at": self.iso(record.updated),
        }

    def detail(self, record: ServerRecord) -> dict[str, Any]:
        """The ServerDetail shape (GET detail, PUT, PATCH)."""
        return {
            **self._identity(record),
            "ipv6_address": record.ipv6_address,
            "location": record.location,
            "plan": _PLAN_DETAIL[record.plan.id],
            "os": _OS[record.os_id],
            "backups_enabled": record.backups_enabled,
            "resource_usage": _usage(record),
            "created_at": self.iso(record.created),
            "updated_at": self.iso(record.updated),
        }

    def created(self, record: ServerRecord) -> dict[str, Any]:
        """The create (201) shape: the list item plus ``backups_enabled`` and ``message``."""
        body = self.summary(record)
        timestamps = {"created_at": body.pop("created_at"), "updated_at": body.pop("updated_at")}
        return {
            **body,
            "backups_enabled": record.backups_enabled,
            **timestamps,
            "message": CREATE_MESSAGE,
        }

    def _render_summary(self, record: ServerRecord) -> bytes:
        record.summary_json = _DUMPS(self.summary(record)).encode()
        return record.summary_json

    def detail_json(self, record: ServerRecord) -> bytes:
        """The ServerDetail shape as cached JSON bytes."""
        if record.detail_json is None:
            record.detail_json = _DUMPS(self.detail(record)).encode()
        return record.detail_json

    # -- changing ---------------------------------------------------------------------------

    def add(
        self,
        *,
        name: str,
        status: str,
        plan_id: int,
        os_id: int,
        location: str,
        hostname: str | None = None,
        backups_enabled: bool = False,
        created: float | None = None,
    ) -> ServerRecord:
        """Add a server in ``status`` (``"provisioning"`` starts the provision delay)."""
        now = self.tick()
        record = ServerRecord(
            id=self._next_id,
            name=name,
            hostname=hostname or f"{name}.example.com",
            status=status,
            location=location,
            plan=PLANS[plan_id],
            os_id=os_id,
            backups_enabled=backups_enabled,
            created=now if created is None else created,
            updated=now,
        )
        self._next_id += 1
        self._servers[record.id] = record
        self.set_status(record, status)
        return record

    def populate(self, count: int) -> None:
        """Add ``count`` servers, the first two as in the document, then a seeded mix."""
        rng = self._population_rng
        now = self.clock()
        for i in range(count):
            role, number = _ROLES[i % len(_ROLES)], i // len(_ROLES) + 1
            if i < len(_DOC_SERVERS):
                plan_id, os_id, location, status = _DOC_SERVERS[i]
            else:
                plan_id = rng.choice(list(PLANS))
                os_id = rng.choice(list(OS_IMAGES))
                location = rng.choice(LOCATIONS)
                status = "active" if rng.random() < 0.75 else "stopped"
            record = self.add(
                name=f"{role}-server-{number:02d}",
                hostname=f"{role}{number:02d}.example.com",
                status=status,
                plan_id=plan_id,
                os_id=os_id,
                location=location,
                backups_enabled=rng.random() < 0.5,
                created=now - rng.uniform(86_400, 90 * 86_400),
            )
            record.updated = now - rng.uniform(0, now - record.created)

    def create(
        self,
        *,
        name: str,
        plan_id: int,
        os_id: int,
        location: str,
        hostname: str | None,
        backups_enabled: bool,
    ) -> ServerRecord:
        """Create a server the way the API does: provisioning, no IP yet."""
        return self.add(
            name=name,
            status="provisioning",
            plan_id=plan_id,
            os_id=os_id,
            location=location,
            hostname=hostname,
            backups_enabled=backups_enabled,
        )

    def update(self, record: ServerRecord, changes: dict[str, Any]) -> None:
        """Apply validated ``name``/``hostname``/``backups_enabled`` changes."""
        changed = False
        for field, value in changes.items():
            if getattr(record, field) != value:
                setattr(record, field, value)
                changed = True
        if changed:
            self._touch(record, self.clock())

    def delete(self, server_id: int) -> bool:
        """Remove a server; return whether it existed."""
        self._lists.clear()
        return self._servers.pop(server_id, None) is not None

    def begin(self, record: ServerRecord, kind: str) -> None:
        """Start transition ``kind`` (``start``, ``stop``, ``reboot``, ``provision``)."""
        self._begin(record, kind, self.clock())

    def set_status(self, record: ServerRecord, status: str) -> None:
        """Force ``status``; a transitional status completes after its usual delay."""
        kind = _KIND_OF_TRANSITIONAL.get(status)
        if kind is not None:
            self._begin(record, kind, self.clock())
        else:
            self._settle(record, status, self.clock())
