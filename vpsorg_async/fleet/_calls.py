"""The five fleet functions users call; each checks its arguments once, into ``FleetOptions``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TYPE_CHECKING, TypeVar

from .. import _policy as policy
from .._errors import ValidationError
from .._models import CreateServer
from .._observe import tracing_of
from .._seams import CreateLock, StatusSource
from .._validate import check_id
from ..waiters._schedule import Polling
from ._ops import action_op, create_op
from ._options import FleetOptions
from ._outcome import FleetEvent, FleetResult
from ._runner import Run
from ._steps import Op

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["create", "delete", "reboot", "start", "stop"]


K = TypeVar("K", bound=Hashable)
Progress = Callable[[FleetEvent[K]], None]


async def start(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = policy.DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = policy.DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
    status_source: StatusSource | None = None,
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
        status_source: where the shared watcher learns the servers' statuses (a board another
            process feeds, say); by default it asks the API itself.

    Returns:
        The result: an :class:`Outcome` for every id (``already`` for servers already active).

    Raises:
        ValidationError: bad arguments or duplicate ids, before any request.
        asyncio.CancelledError: the call was cancelled (``result`` holds what was done).
    """
    options = FleetOptions(
        polling=Polling(timeout, poll_interval, max_poll_interval),
        concurrency=concurrency,
        wait=wait,
        coalesce=coalesce,
        fail_fast=fail_fast,
        status_source=status_source,
    )
    return await _act("start", client, server_ids, options, on_progress, result)


async def stop(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = policy.DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = policy.DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
    status_source: StatusSource | None = None,
) -> FleetResult[int]:
    """Stop every server gracefully (goal: ``stopped``); stopped ones are ``already``.

    Arguments, result and errors as :func:`start`.
    """
    options = FleetOptions(
        polling=Polling(timeout, poll_interval, max_poll_interval),
        concurrency=concurrency,
        wait=wait,
        coalesce=coalesce,
        fail_fast=fail_fast,
        status_source=status_source,
    )
    return await _act("stop", client, server_ids, options, on_progress, result)


async def reboot(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = policy.DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = policy.DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
    status_source: StatusSource | None = None,
) -> FleetResult[int]:
    """Reboot every server (goal: ``active`` again). A stopped server fails ("not running").

    Arguments, result and errors as :func:`start`. A server already rebooting or starting
    counts as on its way and is waited for.
    """
    options = FleetOptions(
        polling=Polling(timeout, poll_interval, max_poll_interval),
        concurrency=concurrency,
        wait=wait,
        coalesce=coalesce,
        fail_fast=fail_fast,
        status_source=status_source,
    )
    return await _act("reboot", client, server_ids, options, on_progress, result)


async def delete(
    client: Client,
    server_ids: Iterable[int],
    *,
    concurrency: int = policy.DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = policy.DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[int] | None = None,
    result: FleetResult[int] | None = None,
    status_source: StatusSource | None = None,
) -> FleetResult[int]:
    """Delete every server permanently (goal: gone); a 404 counts as ``already``.

    Arguments, result and errors as :func:`start`; with ``wait`` each deletion is confirmed
    by the server's absence from the list (or a 404). ``Outcome.server`` is None.
    """
    options = FleetOptions(
        polling=Polling(timeout, poll_interval, max_poll_interval),
        concurrency=concurrency,
        wait=wait,
        coalesce=coalesce,
        fail_fast=fail_fast,
        status_source=status_source,
    )
    return await _act("delete", client, server_ids, options, on_progress, result)


async def create(
    client: Client,
    servers: Iterable[CreateServer],
    *,
    concurrency: int = policy.DEFAULT_CONCURRENCY,
    wait: bool = True,
    timeout: float = policy.DEFAULT_FLEET_TIMEOUT,
    poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
    coalesce: bool | None = None,
    fail_fast: bool = False,
    on_progress: Progress[str] | None = None,
    result: FleetResult[str] | None = None,
    status_source: StatusSource | None = None,
    create_lock: CreateLock | None = None,
) -> FleetResult[str]:
    """Create every server that is absent, keyed by name; with ``wait``, until each is ``active``.

    The contract is create-if-absent: a server that already exists with the same name in the
    same location counts as done (``Outcome.already``, whatever its plan or OS; waited for if
    still provisioning, failed if suspended), and nothing is created for it. One list pass
    finds them first, so a re-run finishes what an earlier run left. A create whose outcome is
    unknown is looked up (one new server of the requested name, plan, OS and location) before it
    is ever sent again, so no server is created twice.

    Args:
        servers: the create bodies; names must be unique within the call.
        create_lock: held per name from the list pass until that name's create is decided,
            so that other creators sharing it (fleets of other processes, say) never create the
            same name too; by default the client's (``Client(create_lock=...)``), which its
            reconciling creates hold as well.
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
    options = FleetOptions(
        polling=Polling(timeout, poll_interval, max_poll_interval),
        concurrency=concurrency,
        wait=wait,
        coalesce=coalesce,
        fail_fast=fail_fast,
        status_source=status_source,
        create_lock=create_lock or client.create_lock,
    )
    op = create_op(
        client, specs, wait=options.wait, locks=options.create_lock or client.create_lock
    )
    return await _run(op, client, list(specs), options, on_progress, result)


def _unique_ids(server_ids: Iterable[int]) -> list[int]:
    ids = list(server_ids)
    seen: set[int] = set()
    for server_id in ids:
        check_id("server_ids", server_id)
        if server_id in seen:
            raise ValidationError("server_ids", f"must be unique; {server_id} appears twice")
        seen.add(server_id)
    return ids


async def _act(
    name: str,
    client: Client,
    server_ids: Iterable[int],
    options: FleetOptions,
    on_progress: Progress[int] | None,
    result: FleetResult[int] | None,
) -> FleetResult[int]:
    op = action_op(client, name, wait=options.wait)
    return await _run(op, client, _unique_ids(server_ids), options, on_progress, result)


async def _run(
    op: Op[K],
    client: Client,
    keys: list[K],
    options: FleetOptions,
    on_progress: Progress[K] | None,
    result: FleetResult[K] | None,
) -> FleetResult[K]:
    if on_progress is not None and not callable(on_progress):
        raise ValidationError("on_progress", "must be callable or None")
    if result is not None and not isinstance(result, FleetResult):
        raise ValidationError("result", "must be a FleetResult or None")
    run = Run(client, op, keys, options, on_progress, result)
    tracing = tracing_of(client)
    if tracing is None:
        return await run.run()
    with tracing.fleet(op.name, len(keys)) as span:
        try:
            return await run.run()
        finally:  # cancelled too: the result holds every outcome by then
            done = run.result.outcomes.values()
            ok = sum(outcome.ok and not outcome.already for outcome in done)
            already = sum(outcome.ok and outcome.already for outcome in done)
            failed = sum(not outcome.ok for outcome in done)
            span.end(ok, already, failed, len(keys) - len(done))
