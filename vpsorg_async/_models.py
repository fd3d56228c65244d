"""Frozen, slotted models of the Servers API. No I/O; the one converter lives in ``_convert``.

Request bodies (``CreateServer``, ``UpdateServer``, ``PatchServer``) validate their fields on
construction, so bad input fails with a :class:`ValidationError` before anything is sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._errors import ValidationError
from ._status import ServerStatus
from ._validate import check_bool, check_hostname, check_id, check_location, check_name

__all__ = [
    "ActionResult",
    "ActionServer",
    "CreateServer",
    "CreatedServer",
    "OperatingSystem",
    "PatchServer",
    "Plan",
    "PlanDetail",
    "ResourceUsage",
    "Server",
    "ServerDetail",
    "ServerList",
    "ServerStatus",
    "UpdateServer",
    "could_have_made",
]


@attrs.frozen
class Plan:
    """A VPS plan as listed on a server: memory in MB, storage in GB."""

    id: int
    name: str
    vcpus: int
    memory: int
    storage: int


@attrs.frozen
class PlanDetail(Plan):
    """A plan as shown by the detail endpoint, which adds ``bandwidth`` (GB)."""

    bandwidth: int | None = None


@attrs.frozen
class OperatingSystem:
    """An operating-system image."""

    id: int
    name: str


@attrs.frozen
class ResourceUsage:
    """Current usage: CPU in percent, memory in MB, disk and bandwidth in GB."""

    cpu_percent: float
    memory_used: int
    disk_used: int
    bandwidth_used: int


@attrs.frozen
class Server:
    """A server as the list endpoint shows it."""

    id: int
    name: str
    hostname: str | None
    #: A :class:`ServerStatus` member for a documented status; an unknown one stays a plain str.
    status: str
    ip_address: str | None
    location: str
    plan: Plan
    os: OperatingSystem
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class ServerDetail(Server):
    """A server as the detail, update and patch endpoints show it."""

    plan: PlanDetail
    ipv6_address: str | None = None
    backups_enabled: bool = False
    resource_usage: ResourceUsage | None = None


@attrs.frozen
class CreatedServer(Server):
    """The answer to a create: the new server (``provisioning``), ``backups_enabled`` and a message."""

    backups_enabled: bool = False
    message: str | None = None


@attrs.frozen
class ServerList:
    """One page of servers. ``next``/``previous`` are page URLs when the API paginates."""

    count: int
    results: list[Server]
    next: str | None = None
    previous: str | None = None


@attrs.frozen
class ActionServer:
    """The short server record in an action's answer; ``status`` is the transitional state."""

    id: int
    name: str
    #: A :class:`ServerStatus` member for a documented status; an unknown one stays a plain str.
    status: str


@attrs.frozen
class ActionResult:
    """The answer to start, stop and reboot."""

    status: str
    message: str
    server: ActionServer


def _validated(check: Any) -> Any:
    """An attrs validator that runs ``check(param, value)`` and keeps its ValidationError."""

    def run(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        check(attribute.name, value)

    return run


def _optional(check: Any) -> Any:
    def run(_inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check(attribute.name, value)

    return run


@attrs.frozen(kw_only=True)
class CreateServer:
    """The body of a create. Validates on construction; also the unit of ``fleet.create``."""

    name: str = attrs.field(validator=_validated(check_name))
    plan_id: int = attrs.field(validator=_validated(check_id))
    os_id: int = attrs.field(validator=_validated(check_id))
    location: str = attrs.field(validator=_validated(check_location))
    hostname: str | None = attrs.field(default=None, validator=_optional(check_hostname))
    ssh_key_id: int | None = attrs.field(default=None, validator=_optional(check_id))
    backups_enabled: bool | None = attrs.field(default=None, validator=_optional(check_bool))


@attrs.frozen(kw_only=True)
class UpdateServer:
    """The body of a PUT: every field is required."""

    name: str = attrs.field(validator=_validated(check_name))
    hostname: str = attrs.field(validator=_validated(check_hostname))
    backups_enabled: bool = attrs.field(validator=_validated(check_bool))


@attrs.frozen(kw_only=True)
class PatchServer:
    """The body of a PATCH: only the fields given (not None) are sent; at least one is needed."""

    name: str | None = attrs.field(default=None, validator=_optional(check_name))
    hostname: str | None = attrs.field(default=None, validator=_optional(check_hostname))
    backups_enabled: bool | None = attrs.field(default=None, validator=_optional(check_bool))

    def __attrs_post_init__(self) -> None:
        if self.name is None and self.hostname is None and self.backups_enabled is None:
            raise ValidationError(
                "name/hostname/backups_enabled", "patch_server needs at least one field to change"
            )


def could_have_made(body: CreateServer, server: Server) -> bool:
    """True when ``server`` has everything ``body`` asked for: name, plan, OS and location."""
    return (
        server.name == body.name
        and server.location == body.location
        and server.plan.id == body.plan_id
        and server.os.id == body.os_id
    )
