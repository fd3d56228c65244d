"""Fleet operations: start, stop, reboot, delete or create many servers, bounded and converging.

::

    from vpsorg_async import fleet

    result = await fleet.start(client, ids, concurrency=32, wait=True, timeout=900)
    result.raise_for_failures()          # one FleetError (an ExceptionGroup) of every failure

- **Bounded**: ``concurrency`` workers pull inputs from a queue; at most ``concurrency``
  requests are in flight at once, polling included. Waiting holds no request slot.
- **Converging, safe to re-run**: starting an active server, stopping a stopped one, deleting a
  deleted one succeed with ``Outcome.already``; a server busy on its way to the goal is waited
  for; one busy moving away from it is waited for until it settles and then asked again.
  Rebooting a stopped server and anything suspended fail, with the API's reason.
- **Nothing lost**: every input gets exactly one :class:`Outcome` in :class:`FleetResult`;
  one server's failure never stops the others unless ``fail_fast=True`` (then the rest fail
  with :class:`FleetAbortedError` ``reason="fail_fast"``).
- **Coalesced waiting**: all waits share one :class:`~vpsorg_async.waiters.StatusWatcher`,
  which polls the list endpoint once per tick rather than each server (``coalesce=``).
- **Progress and cancellation**: ``on_progress`` receives a :class:`FleetEvent` at each step
  (from the event loop: keep it quick, it must not block or raise). Pass your own
  ``result=FleetResult()`` to keep the partial result if the call is cancelled: cancelling
  cancels every request and wait in flight, gives each unfinished input an outcome
  (:class:`FleetAbortedError` ``reason="cancelled"``, with its ``stage``) without calling
  ``on_progress``, and then lets the ``CancelledError`` go on.

All waiting and deadlines use the client's ``clock`` and ``sleep``; transient errors (429, 5xx,
cut connections) are retried until the deadline, on top of the client's own retries, and the
error an input finally fails with counts every attempt made for it (``attempts``, and a note).
Every list walk and poll ends at the deadline, however long the list claims to be.

- **Sharded across workers**: :func:`shard` gives each of N processes or machines its own
  stable, balanced share of one list of ids, with no coordination (``--shard I/N`` in the CLI).
- **A dead API fails fast**: when the API answers nothing but connection failures (refused,
  DNS, TLS) for ``UNREACHABLE_AFTER`` seconds (20), every unfinished input fails with
  :class:`FleetAbortedError` ``reason="unreachable"``, not at the deadline. A TLS certificate
  that fails verification (:class:`~vpsorg_async.TLSCertificateError`) is never retried.
  Repeated failures are logged once per 10 s per kind of error, not once per attempt.

Inside, beside this face: ``_calls`` (the five functions, each checking its arguments once into
``_options.FleetOptions``), ``_runner`` (the queue, the workers, the shared watcher, the outcomes),
``_steps`` (the narrow contract between the runner and an operation), ``_ops`` (what each
operation does to one input), ``_outcome`` (what a call reports), ``_reach`` (noticing a
dead API) and ``_shard`` (sharing a fleet among workers). Importing it loads no HTTP code.
"""

from __future__ import annotations

from .._policy import DEFAULT_CONCURRENCY, DEFAULT_FLEET_TIMEOUT, UNREACHABLE_AFTER
from ._calls import ActionKeywords, CreateKeywords, create, delete, reboot, start, stop
from ._outcome import AbortReason, FleetAbortedError, FleetEvent, FleetResult, Outcome, Phase
from ._shard import shard

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FLEET_TIMEOUT",
    "UNREACHABLE_AFTER",
    "AbortReason",
    "ActionKeywords",
    "CreateKeywords",
    "FleetAbortedError",
    "FleetEvent",
    "FleetResult",
    "Outcome",
    "Phase",
    "create",
    "delete",
    "reboot",
    "shard",
    "start",
    "stop",
]
