"""The five fleet functions users call; each checks its arguments once, into ``FleetOptions``.

Their keyword arguments are declared once, as ``ActionKeywords`` and ``CreateKeywords`` (mypy
checks every name and type; ``help()`` shows them spelled out, defaults included).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, Unpack

from .. import _policy as policy
from .._errors import ValidationError
from .._keywords import given, spelled_out
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

__all__ = ["ActionKeywords", "CreateKeywords", "create", "delete", "reboot", "start", "stop"]


K = TypeVar("K", bound=Hashable)
Progress = Callable[[FleetEvent[K]], None]


class FleetKeywords(TypedDict, total=False):
    """The keyword arguments all five fleet functions take (described at :func:`start`)."""

    concurrency: int
    wait: bool
    timeout: float
    poll_interval: float
    max_poll_interval: float
    coalesce: bool | None
    fail_fast: bool
    status_source: StatusSource | None


class ActionKeywords(FleetKeywords, total=False):
    """The keyword arguments of ``start``, ``stop``, ``reboot`` and ``delete`` (keyed by id)."""

    on_progress: Progress[int] | None
    result: FleetResult[int] | None


class CreateKeywords(FleetKeywords, total=False):
    """The keyword arguments of ``create`` (keyed by name), ``create_lock`` among them."""

    on_progress: Progress[str] | None
    result: FleetResult[str] | None
    create_lock: CreateLock | None


#: Each keyword's default, in one place: read by the functions, shown in their signatures.
ACTION_DEFAULTS: Mapping[str, Any] = {
    "concurrency": policy.DEFAULT_CONCURRENCY,
    "wait": True,
    "timeout": policy.DEFAULT_FLEET_TIMEOUT,
    "poll_interval": policy.DEFAULT_POLL_INTERVAL,
    "max_poll_interval": policy.DEFAULT_MAX_POLL_INTERVAL,
    "coalesce": None,
    "fail_fast": False,
    "status_source": None,
    "on_progress": None,
    "result": None,
}
CREATE_DEFAULTS: Mapping[str, Any] = {**ACTION_DEFAULTS, "create_lock": None}


@spelled_out(ActionKeywords, ACTION_DEFAULTS)
async def start(
    client: Client, server_ids: Iterable[int], **keywords: Unpack[ActionKeywords]
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
    return await _act("start", client, server_ids, keywords)


@spelled_out(ActionKeywords, ACTION_DEFAULTS)
async def stop(
    client: Client, server_ids: Iterable[int], **keywords: Unpack[ActionKeywords]
) -> FleetResult[int]:
    """Stop every server gracefully (goal: ``stopped``); stopped ones are ``already``.

    Arguments, result and errors as :func:`start`.
    """
    return await _act("stop", client, server_ids, keywords)


@spelled_out(ActionKeywords, ACTION_DEFAULTS)
async def reboot(
    client: Client, server_ids: Iterable[int], **keywords: Unpack[ActionKeywords]
) -> FleetResult[int]:
    """Reboot every server (goal: ``active`` again). A stopped server fails ("not running").

    Arguments, result and errors as :func:`start`. A server already rebooting or starting
    counts as on its way and is waited for.
    """
    return await _act("reboot", client, server_ids, keywords)


@spelled_out(ActionKeywords, ACTION_DEFAULTS)
async def delete(
    client: Client, server_ids: Iterable[int], **keywords: Unpack[ActionKeywords]
) -> FleetResult[int]:
    """Delete every server permanently (goal: gone); a 404 counts as ``already``.

    Arguments, result and errors as :func:`start`; with ``wait`` each deletion is confirmed
    by the server's absence from the list (or a 404). ``Outcome.server`` is None.
    """
    return await _act("delete", client, server_ids, keywords)


@spelled_out(CreateKeywords, CREATE_DEFAULTS)
async def create(
    client: Client, servers: Iterable[CreateServer], **keywords: Unpack[CreateKeywords]
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
    args = given("create", keywords, CREATE_DEFAULTS)
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
    locks: CreateLock = args["create_lock"] or client.create_lock
    options = _options(args, create_lock=locks)
    op = create_op(client, specs, wait=options.wait, locks=locks)
    return await _run(op, client, list(specs), options, args["on_progress"], args["result"])


def _options(args: Mapping[str, Any], *, create_lock: CreateLock | None = None) -> FleetOptions:
    """One call's options, from its arguments (checked here, once)."""
    return FleetOptions(
        polling=Polling(args["timeout"], args["poll_interval"], args["max_poll_interval"]),
        concurrency=args["concurrency"],
        wait=args["wait"],
        coalesce=args["coalesce"],
        fail_fast=args["fail_fast"],
        status_source=args["status_source"],
        create_lock=create_lock,
    )


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
    name: str, client: Client, server_ids: Iterable[int], keywords: ActionKeywords
) -> FleetResult[int]:
    args = given(name, keywords, ACTION_DEFAULTS)
    options = _options(args)
    op = action_op(client, name, wait=options.wait)
    ids = _unique_ids(server_ids)
    return await _run(op, client, ids, options, args["on_progress"], args["result"])


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
