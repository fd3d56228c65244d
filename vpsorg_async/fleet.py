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

- **A dead API fails fast**: when the API answers nothing but connection failures (refused,
  DNS, TLS) for ``UNREACHABLE_AFTER`` seconds (20), every unfinished input fails with
  :class:`FleetAbortedError` ``reason="unreachable"``, not at the deadline. A TLS certificate
  that fails verification (:class:`~vpsorg_async.TLSCertificateError`) is never retried.
  Repeated failures are logged once per 10 s per kind of error, not once per attempt.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from ._client import Client
from ._errors import ValidationError
from ._fleet import Op, Run
from ._models import CreateServer
from ._ops import action_op, create_op
from ._outcome import AbortReason, FleetAbortedError, FleetEvent, FleetResult, Outcome, Phase
from ._poll import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FLEET_TIMEOUT,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    UNREACHABLE_AFTER,
    check_wait_options,
)
from ._validate import check_id

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_FLEET_TIMEOUT",
    "UNREACHABLE_AFTER",
    "AbortReason",
    "FleetAbortedError",
    "FleetEvent",
    "FleetResult",
    "Outcome",
    "Phase",
    "create",
    "delete",
    "reboot",
    "start",
    "stop",
]


K = TypeVar("K", bound=Hashable)
Progress = Callable[[FleetEvent[K]], None]


async def start(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
) -> FleetResult[int]:
    """Start every server (goal: ``active``).

    Args:
        client: the client to act with.
        server_ids: the servers; each must appear once.
        concurrency: requests in flight at once (actions and polls together).
        wait: also wait until each server is ``active``; False stops once the API accepted.
        timeout: the deadline of the whole call in seconds, waits included.
        poll_interval, max_poll_interval: the waiting schedule (see ``waiters``).
        coalesce: None lets the watcher choose list sweeps or per-server GETs by cost each
            tick; True forces sweeps, False per-server GETs.
        fail_fast: on the first failure, stop: cancel what is in flight and fail the rest
            with ``FleetAbortedError(reason="fail_fast")``.
        on_progress: called with a :class:`FleetEvent` at every step of every server.
        result: a :class:`FleetResult` you own, filled in as outcomes arrive (and completed
            even if the call is cancelled); by default a new one.

    Returns:
        The result: an :class:`Outcome` for every id (``already`` for servers already active).

    Raises:
        ValidationError: bad arguments or duplicate ids, before any request.
        asyncio.CancelledError: the call was cancelled (``result`` holds what was done).
    """
    return await _run(action_op("start"), client, _unique_ids(server_ids), concurrency=concurrency,
                      wait=wait, timeout=timeout, poll_interval=poll_interval,
                      max_poll_interval=max_poll_interval, coalesce=coalesce,
                      fail_fast=fail_fast, on_progress=on_progress, result=result)  # fmt: skip


async def stop(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
) -> FleetResult[int]:
    """Stop every server gracefully (goal: ``stopped``); stopped ones are ``already``.

    Arguments, result and errors as :func:`start`.
    """
    return await _run(action_op("stop"), client, _unique_ids(server_ids), concurrency=concurrency,
                      wait=wait, timeout=timeout, poll_interval=poll_interval,
                      max_poll_interval=max_poll_interval, coalesce=coalesce,
                      fail_fast=fail_fast, on_progress=on_progress, result=result)  # fmt: skip


async def reboot(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
) -> FleetResult[int]:
    """Reboot every server (goal: ``active`` again). A stopped server fails ("not running").

    Arguments, result and errors as :func:`start`. A server already rebooting or starting
    counts as on its way and is waited for.
    """
    return await _run(action_op("reboot"), client, _unique_ids(server_ids), concurrency=concurrency,
                      wait=wait, timeout=timeout, poll_interval=poll_interval,
                      max_poll_interval=max_poll_interval, coalesce=coalesce,
                      fail_fast=fail_fast, on_progress=on_progress, result=result)  # fmt: skip


async def delete(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
) -> FleetResult[int]:
    """Delete every server permanently (goal: gone); a 404 counts as ``already``.

    Arguments, result and errors as :func:`start`; with ``wait`` each deletion is confirmed
    by the server's absence from the list (or a 404). ``Outcome.server`` is None.
    """
    return await _run(action_op("delete"), client, _unique_ids(server_ids), concurrency=concurrency,
                      wait=wait, timeout=timeout, poll_interval=poll_interval,
                      max_poll_interval=max_poll_interval, coalesce=coalesce,
                      fail_fast=fail_fast, on_progress=on_progress, result=result)  # fmt: skip


async def create(
    client: Client,
    servers: Iterable[CreateServer],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[str] | None = None,
    result: FleetResult[str] | None = None,
) -> FleetResult[str]:
    """Create every server that is absent, keyed by name; with ``wait``, until each is ``active``.

    The contract is create-if-absent: a server that already exists with the same name in the
    same location counts as done (``Outcome.already``, whatever its plan or OS; waited for if
    still provisioning, failed if suspended), and nothing is created for it. One list pass
    finds them first, so a re-run finishes what an earlier run left. Every create uses
    ``reconcile=True``, and a create whose outcome is unknown is looked up by name before it
    is ever sent again, so no server is created twice.

    Args:
        servers: the create bodies; names must be unique within the call.
        Others as :func:`start`.

    Returns:
        An :class:`Outcome` per name; ``.server`` is the created (or found) server.

    Raises:
        ValidationError: a name appears twice, or bad arguments, before any request.
        APIError, TransportError, ResponseDecodeError: the first list pass failed for good
            (nothing was created). When the deadline passes or the API is unreachable during
            that pass, every input fails with ``FleetAbortedError`` instead (``stage="queued"``).
        asyncio.CancelledError: the call was cancelled (``result`` holds what was done).
    """
    specs: dict[str, CreateServer] = {}
    for spec in servers:
        if not isinstance(spec, CreateServer):
            raise ValidationError(
                "servers", f"must be CreateServer bodies, got {type(spec).__name__}"
            )
        if spec.name in specs:
            raise ValidationError(
                "servers", f"names must be unique within one call; {spec.name!r} appears twice"
            )
        specs[spec.name] = spec
    return await _run(create_op(specs), client, list(specs), concurrency=concurrency, wait=wait,
                      timeout=timeout, poll_interval=poll_interval,
                      max_poll_interval=max_poll_interval, coalesce=coalesce,
                      fail_fast=fail_fast, on_progress=on_progress, result=result)  # fmt: skip


def _unique_ids(server_ids: Iterable[int]) -> list[int]:
    ids = list(server_ids)
    seen: set[int] = set()
    for server_id in ids:
        check_id("server_ids", server_id)
        if server_id in seen:
            raise ValidationError("server_ids", f"must be unique; {server_id} appears twice")
        seen.add(server_id)
    return ids


async def _run(
    op: Op[K],
    client: Client,
    keys: list[K],
    *,
    concurrency: int,
    wait: bool,
    timeout: float,
    poll_interval: float,
    max_poll_interval: float,
    coalesce: bool | None,
    fail_fast: bool,
    on_progress: Progress[K] | None,
    result: FleetResult[K] | None,
) -> FleetResult[K]:
    check_id("concurrency", concurrency)
    check_wait_options(
        timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
    )
    for flag, value in (("wait", wait), ("fail_fast", fail_fast)):
        if not isinstance(value, bool):
            raise ValidationError(flag, f"must be True or False, got {value!r}")
    if coalesce is not None and not isinstance(coalesce, bool):
        raise ValidationError("coalesce", f"must be True, False or None, got {coalesce!r}")
    if on_progress is not None and not callable(on_progress):
        raise ValidationError("on_progress", "must be callable or None")
    if result is not None and not isinstance(result, FleetResult):
        raise ValidationError("result", "must be a FleetResult or None")
    run = Run(
        client, op, keys, concurrency=concurrency, wait=wait, timeout=timeout,
        poll_interval=poll_interval, max_poll_interval=max_poll_interval, coalesce=coalesce,
        fail_fast=fail_fast, on_progress=on_progress, result=result,
    )  # fmt: skip
    return await run.run()
