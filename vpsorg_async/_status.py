"""``ServerStatus``: the statuses the API documents. A leaf: the argument checks use it too."""

from __future__ import annotations

import enum

__all__ = ["ServerStatus"]


class ServerStatus(enum.StrEnum):
    """The statuses the API documents. An unknown status from the API is kept as a plain ``str``."""

    PROVISIONING = "provisioning"
    ACTIVE = "active"
    STARTING = "starting"
    STOPPING = "stopping"
    STOPPED = "stopped"
    REBOOTING = "rebooting"
    SUSPENDED = "suspended"

    @property
    def is_transitional(self) -> bool:
        """True for the states a server passes through on its way somewhere else."""
        return self in _TRANSITIONAL


_TRANSITIONAL = frozenset(
    {
        ServerStatus.PROVISIONING,
        ServerStatus.STARTING,
        ServerStatus.STOPPING,
        ServerStatus.REBOOTING,
    }
)
