"""What a fleet operation reports: ``Outcome``, ``FleetResult``, ``FleetEvent``.

Public through ``vpsorg_async.fleet``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, Literal, TypeVar

import attrs

from .._errors import AbortReason, FleetAbortedError, FleetError
from .._models import Server

__all__ = ["AbortReason", "FleetAbortedError", "FleetEvent", "FleetResult", "Outcome", "Phase"]

#: A fleet's input key: the server id, or for ``create`` the server's name.
K = TypeVar("K", bound=Hashable)
#: Where one server's operation is: ``requested`` (the API accepted the action, or the server
#: was found already there / on its way), ``waiting`` (its wait began), ``done``, ``failed``.
Phase = Literal["requested", "waiting", "done", "failed"]


@attrs.frozen
class Outcome(Generic[K]):
    """How the operation ended for one input.

    Attributes:
        key: the input: the server id, or for ``create`` the server's name.
        ok: True when the server reached the operation's goal.
        server: the last ``Server`` seen (None when none was: ``wait=False``, deleted, failed early).
        error: the exception when not ``ok``: the API's error, ``WaiterTimeoutError``,
            ``WaiterFailedError`` or :class:`FleetAbortedError`; None when ``ok``.
        already: the server was already in (or on its way to) the goal; nothing was changed.
    """

    key: K
    ok: bool
    server: Server | None = None
    error: Exception | None = None
    already: bool = False


@attrs.frozen
class FleetEvent(Generic[K]):
    """One step of one server, with the fleet's running counts (for progress bars and bots).

    Attributes:
        key: the input this event is about.
        phase: ``requested``, ``waiting``, ``done`` or ``failed``.
        outcome: the :class:`Outcome` for ``done`` and ``failed``, else None.
        done: inputs finished successfully so far.
        failed: inputs finished unsuccessfully so far.
        in_flight: inputs started and not yet finished (requesting or waiting).
        total: all inputs of the call.
    """

    key: K
    phase: Phase
    outcome: Outcome[K] | None
    done: int
    failed: int
    in_flight: int
    total: int


@attrs.define
class FleetResult(Generic[K]):
    """Every input's :class:`Outcome`, filled in as outcomes arrive.

    Pass your own (``result=FleetResult()``) to a fleet call to keep what was done even when
    the call is cancelled: every input then has an outcome, the unfinished ones failed with
    :class:`FleetAbortedError` (``reason="cancelled"``), before the ``CancelledError`` goes on.

    Attributes:
        operation: ``"start"``, ``"stop"``, ``"reboot"``, ``"delete"`` or ``"create"``.
        outcomes: input key -> :class:`Outcome`, in the order outcomes arrived.
        total: how many inputs the call had.
    """

    operation: str = ""
    outcomes: dict[K, Outcome[K]] = attrs.Factory(dict)
    total: int = 0

    @property
    def succeeded(self) -> list[Outcome[K]]:
        """The outcomes that reached the goal."""
        return [outcome for outcome in self.outcomes.values() if outcome.ok]

    @property
    def failed(self) -> list[Outcome[K]]:
        """The outcomes that did not."""
        return [outcome for outcome in self.outcomes.values() if not outcome.ok]

    @property
    def ok(self) -> bool:
        """True when every input has an outcome and none failed."""
        return len(self.outcomes) == self.total and not self.failed

    def raise_for_failures(self) -> None:
        """Raise one :class:`~vpsorg_async.FleetError` holding every failure; nothing if none.

        Each exception in the group carries a note naming its server, so ``except*`` handlers
        and tracebacks tell which server failed how.

        Raises:
            FleetError: at least one input failed.
        """
        errors = [outcome.error for outcome in self.failed if outcome.error is not None]
        if errors:
            what = f"fleet {self.operation}: " if self.operation else ""
            raise FleetError(f"{what}{len(errors)} of {self.total} servers failed", errors)
