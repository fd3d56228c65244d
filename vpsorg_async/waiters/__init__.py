"""Waiting for a server's state change: the state table, single-server waiters, shared polling.

::

    server = await waiters.wait_until_active(client, server_id, timeout=600)
    await waiters.wait_until_deleted(client, server_id)
    results = await waiters.wait_many(client, ids, "stopped")   # one list request per tick

A wait is data (like botocore's acceptors): :data:`WAITERS` maps each target to the statuses that
end the wait successfully and those that end it with :class:`~vpsorg_async.WaiterFailedError`;
every other status, unknown ones included, is pending. Polls follow an exponential schedule with
jitter (``backoff.expo``) from ``poll_interval`` up to ``max_poll_interval``; the deadline is
honoured exactly: the last pause is clipped to it, one last poll is made, and only then
:class:`~vpsorg_async.WaiterTimeoutError` is raised. Transient errors (429, 5xx, connections cut
or timed out, garbled answers: :data:`TRANSIENT_ERRORS`) are polled through until the deadline;
401, 403 and 404 (except when waiting for ``deleted``) end the wait with the API's error.

All waiting and all deadlines use the client's ``clock`` and ``sleep``. This package uses only
the client's public methods; the client never imports it, and importing it loads no HTTP code.

Inside, beside this face: ``_rules`` (the state table), ``_schedule`` (timing options and the
pauses between polls), ``_judge`` (what a sighting means for a wait: the one judge of single
waits and of the watcher), ``_watcher`` (the shared poll loop), ``_sweep`` (its default source
of statuses: list sweeps or GETs) and ``_wait`` (the functions users call).
"""

from __future__ import annotations

from .._policy import DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL, DEFAULT_WAIT_TIMEOUT
from .._policy import SWEEP_PAGE_SIZE as SWEEP_PAGE_SIZE
from ._judge import TRANSIENT_ERRORS, WaitResult
from ._rules import DELETED, SETTLES_TO, WAITERS, WaitRule, rule_for
from ._rules import Verdict as Verdict
from ._schedule import half_jitter as half_jitter
from ._sweep import WatcherStats as WatcherStats
from ._wait import (
    ManyKeywords,
    PollKeywords,
    StatusKeywords,
    wait_for_status,
    wait_many,
    wait_until_active,
    wait_until_deleted,
    wait_until_stopped,
)
from ._watcher import StatusWatcher

# Also importable from here, for readers of the machinery, but not what users call:
# ``Verdict`` (a rule's verdicts), ``half_jitter`` (the default jitter), ``WatcherStats`` and
# ``SWEEP_PAGE_SIZE`` (the watcher's request counts and page size).
__all__ = [
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "DELETED",
    "SETTLES_TO",
    "TRANSIENT_ERRORS",
    "WAITERS",
    "ManyKeywords",
    "PollKeywords",
    "StatusKeywords",
    "StatusWatcher",
    "WaitResult",
    "WaitRule",
    "rule_for",
    "wait_for_status",
    "wait_many",
    "wait_until_active",
    "wait_until_deleted",
    "wait_until_stopped",
]
