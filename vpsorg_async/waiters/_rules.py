"""The waiters' state table: what each observed status means while waiting for a target.

A wait is data (like botocore's acceptors): :data:`WAITERS` maps each target to a
:class:`WaitRule`, the statuses that end the wait successfully and those that end it with
``WaiterFailedError``; every other status, unknown ones included, is pending.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

import attrs

from .._errors import ValidationError
from .._status import ServerStatus
from .._validate import check_status

if TYPE_CHECKING:
    from .._models import Server

__all__ = ["DELETED", "SETTLES_TO", "WAITERS", "Verdict", "WaitRule", "rule_for"]

logger = logging.getLogger("vpsorg_async.waiters")

#: The pseudo-status of a server that no longer exists (the API answers 404).
DELETED = "deleted"

_KNOWN = frozenset(ServerStatus)
_SUSPENDED = frozenset({ServerStatus.SUSPENDED.value})


class Verdict(enum.Enum):
    """What one observation means for a wait."""

    SUCCESS = "success"
    FAILURE = "failure"
    PENDING = "pending"


@attrs.frozen
class WaitRule:
    """One row of the waiters' state table: how to read a status while waiting for ``target``.

    Attributes:
        target: the status waited for (or ``"deleted"``).
        success: statuses that end the wait successfully.
        failure: statuses that end it with ``WaiterFailedError``; everything else is pending.
        gone: what "the server does not exist" (404, or absent from a complete list) means:
            SUCCESS when waiting for a deletion; FAILURE (the ``NotFoundError`` ends the wait)
            otherwise.
    """

    target: str
    success: frozenset[str]
    failure: frozenset[str] = frozenset()
    gone: Verdict = Verdict.FAILURE

    def judge(self, server: Server) -> Verdict:
        """The verdict on ``server``'s status; an unknown status is pending (logged at DEBUG)."""
        status = str(server.status)
        if status in self.success:
            return Verdict.SUCCESS
        if status in self.failure:
            return Verdict.FAILURE
        if status not in _KNOWN:
            logger.debug(
                "server %d reports unknown status %r; treated as transitional while waiting for %r",
                server.id,
                status,
                self.target,
            )
        return Verdict.PENDING


#: The state table. ``suspended`` never ends by waiting, so it fails every wait but ``deleted``
#: (a server may be deleted whatever its status). Stable statuses such as ``stopped`` while
#: waiting for ``active`` are pending: someone else may yet start the server.
WAITERS: Mapping[str, WaitRule] = MappingProxyType(
    {
        "active": WaitRule("active", frozenset({"active"}), _SUSPENDED),
        "stopped": WaitRule("stopped", frozenset({"stopped"}), _SUSPENDED),
        DELETED: WaitRule(DELETED, frozenset(), frozenset(), gone=Verdict.SUCCESS),
    }
)

#: The API's lifecycles: the status each transitional status settles to on its own.
SETTLES_TO: Mapping[str, str] = MappingProxyType(
    {
        ServerStatus.PROVISIONING.value: "active",
        ServerStatus.STARTING.value: "active",
        ServerStatus.STOPPING.value: "stopped",
        ServerStatus.REBOOTING.value: "active",
    }
)


def rule_for(target: str, failure_statuses: Iterable[str] = ()) -> WaitRule:
    """The table's row for ``target`` (or success on ``target`` alone), plus ``failure_statuses``.

    Raises:
        ValidationError: ``target`` or a failure status is not a documented status
            (``ServerStatus``, or :data:`DELETED` as a target), or the target is also named
            as a failure status.
    """
    # a typo such as "Active" would otherwise wait out the whole timeout for a status the API
    # never reports: only documented statuses (and DELETED as a target) are waited for
    target = DELETED if target == DELETED else check_status("status", target)
    extra = frozenset(check_status("failure_statuses", s) for s in failure_statuses)
    if target in extra:
        raise ValidationError("failure_statuses", f"must not contain the target {target!r}")
    rule = WAITERS.get(target) or WaitRule(target, frozenset({target}))
    return attrs.evolve(rule, failure=rule.failure | extra) if extra else rule
