"""The waits users call: one server (``wait_for_status`` and friends) and many (``wait_many``).

A single wait polls its server with ``get_server``: poll, judge (:class:`~._judge.Watch`), pause
(clipped to the deadline), repeat; the deadline is honoured exactly: the last pause is clipped
to it, one last poll is made, and only then ``WaiterTimeoutError`` is raised. ``wait_many``
hands its servers to one :class:`~._watcher.StatusWatcher`, which judges with the same
:class:`~._judge.Watch`. Each public function checks its arguments once, into a
:class:`~._schedule.Polling` value.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack, cast

from .. import _policy as policy
from .._errors import ValidationError
from .._keywords import given, spelled_out
from .._observe import tracing_of
from .._seams import StatusSource, Unseen
from .._validate import check_id
from ._judge import WaitResult, Watch, look
from ._rules import DELETED, WAITERS, WaitRule, rule_for
from ._schedule import Jitter, Polling, half_jitter, request_timeout
from ._watcher import StatusWatcher

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Server, ServerDetail, ServerStatus
    from .._otel import Tracing, WaitSpan

__all__ = [
    "ManyKeywords",
    "PollKeywords",
    "StatusKeywords",
    "wait_for_status",
    "wait_many",
    "wait_until_active",
    "wait_until_deleted",
    "wait_until_stopped",
]

logger = logging.getLogger("vpsorg_async.waiters")


class PollKeywords(TypedDict, total=False):
    """The keyword arguments every wait takes (described at :func:`wait_for_status`)."""

    timeout: float
    poll_interval: float
    max_poll_interval: float
    jitter: Jitter | None


class StatusKeywords(PollKeywords, total=False):
    """The keyword arguments of :func:`wait_for_status`."""

    failure_statuses: Iterable[ServerStatus | str]


class ManyKeywords(StatusKeywords, total=False):
    """The keyword arguments of :func:`wait_many`."""

    coalesce: bool | None
    location: str | None
    concurrency: int
    status_source: StatusSource | None


#: Each keyword's default, in one place: read by the functions, shown in their signatures.
POLL_DEFAULTS: Mapping[str, Any] = {
    "timeout": policy.DEFAULT_WAIT_TIMEOUT,
    "poll_interval": policy.DEFAULT_POLL_INTERVAL,
    "max_poll_interval": policy.DEFAULT_MAX_POLL_INTERVAL,
    "jitter": half_jitter,
}
STATUS_DEFAULTS: Mapping[str, Any] = {**POLL_DEFAULTS, "failure_statuses": ()}
MANY_DEFAULTS: Mapping[str, Any] = {
    **STATUS_DEFAULTS,
    "coalesce": None,
    "location": None,
    "concurrency": policy.DEFAULT_CONCURRENCY,
    "status_source": None,
}


@spelled_out(StatusKeywords, STATUS_DEFAULTS)
async def wait_for_status(
    client: Client,
    server_id: int,
    status: ServerStatus | str,
    **keywords: Unpack[StatusKeywords],
) -> ServerDetail:
    """Poll one server (``get_server``) until it reaches ``status``.

    Args:
        client: the client to poll with; its ``clock`` and ``sleep`` drive the schedule.
        server_id: the server.
        status: the status to reach (for deletion use :func:`wait_until_deleted`).
        failure_statuses: statuses that end the wait at once, besides the table's own
            (``suspended`` for ``active`` and ``stopped``).
        timeout: the overall deadline in seconds.
        poll_interval: the first pause between polls (the first poll is made at once).
        max_poll_interval: the cap of the doubling pauses.
        jitter: applied to each pause (default :func:`half_jitter`); None for exact pauses.

    Returns:
        The server as last seen, in ``status``.

    Raises:
        WaiterTimeoutError: the deadline passed (``.last_server``, ``.elapsed``, ``.polls``;
            ``__cause__`` is the last transient error if the last poll failed).
        WaiterFailedError: the server entered a failure status (``.server``).
        NotFoundError, AuthenticationError, PermissionDeniedError, APIError: the API's answer.
        ValidationError: bad arguments, raised before any request.
    """
    if str(status) == DELETED:
        raise ValidationError("status", "use wait_until_deleted() to wait for a deletion")
    args = given("wait_for_status", keywords, STATUS_DEFAULTS)
    rule = rule_for(str(status), (str(s) for s in args["failure_statuses"]))
    return _detail(await _wait_one(client, server_id, rule, _polling(args)))


@spelled_out(PollKeywords, POLL_DEFAULTS)
async def wait_until_active(
    client: Client, server_id: int, **keywords: Unpack[PollKeywords]
) -> ServerDetail:
    """Wait until the server is ``active``; ``suspended`` fails. See :func:`wait_for_status`."""
    polling = _polling(given("wait_until_active", keywords, POLL_DEFAULTS))
    return _detail(await _wait_one(client, server_id, WAITERS["active"], polling))


@spelled_out(PollKeywords, POLL_DEFAULTS)
async def wait_until_stopped(
    client: Client, server_id: int, **keywords: Unpack[PollKeywords]
) -> ServerDetail:
    """Wait until the server is ``stopped``; ``suspended`` fails. See :func:`wait_for_status`."""
    polling = _polling(given("wait_until_stopped", keywords, POLL_DEFAULTS))
    return _detail(await _wait_one(client, server_id, WAITERS["stopped"], polling))


@spelled_out(PollKeywords, POLL_DEFAULTS)
async def wait_until_deleted(
    client: Client, server_id: int, **keywords: Unpack[PollKeywords]
) -> None:
    """Wait until the API answers 404 for the server. See :func:`wait_for_status`.

    Raises:
        WaiterTimeoutError: the server still existed at the deadline. And as ``wait_for_status``.
    """
    polling = _polling(given("wait_until_deleted", keywords, POLL_DEFAULTS))
    await _wait_one(client, server_id, WAITERS[DELETED], polling)


def _polling(args: Mapping[str, Any]) -> Polling:
    """A wait's timing, from its arguments (checked here, once)."""
    return Polling(
        args["timeout"], args["poll_interval"], args["max_poll_interval"], args["jitter"]
    )


def _detail(server: Server | None) -> ServerDetail:
    """The server a wait for a status ended with (only a deletion ends without one)."""
    assert server is not None
    return cast("ServerDetail", server)  # what ``get_server`` answered


def _wait_one(
    client: Client, server_id: int, rule: WaitRule, polling: Polling
) -> Coroutine[Any, Any, Server | None]:
    """One server's wait; a span of its own when the client traces (``_otel``).

    A plain function handing back the coroutine to await, not a coroutine itself: a sleeping
    waiter then holds one frame less (10,000 waiters, about 5 MiB less).
    """
    check_id("server_id", server_id)
    tracing = tracing_of(client)
    if tracing is None:
        return _poll_one(client, server_id, rule, polling, None)
    return _traced(tracing, client, server_id, rule, polling)


async def _traced(
    tracing: Tracing, client: Client, server_id: int, rule: WaitRule, polling: Polling
) -> Server | None:
    with tracing.wait(rule.target, [server_id]) as span:
        return await _poll_one(client, server_id, rule, polling, span)


async def _poll_one(
    client: Client, server_id: int, rule: WaitRule, polling: Polling, span: WaitSpan | None
) -> Server | None:
    """The single-server poll loop: poll, judge, pause (clipped to the deadline), repeat."""
    clock = client.clock
    started = clock()
    watch = Watch(server_id, rule, started, started + polling.timeout)
    schedule = polling.schedule(policy.SINGLE_POLL_GROWTH)
    while True:
        watch.polls += 1
        timeout = request_timeout(watch.deadline - clock(), client.timeout)
        sighting = await look(client, server_id, timeout=timeout)
        if isinstance(sighting, Unseen):
            logger.info(
                "poll of server %d failed (%s); polling on until the deadline",
                server_id,
                sighting.cause,
            )
        now = clock()
        result = watch.see(sighting) or watch.expire(now)
        if span is not None:
            span.poll(watch.polls, sighting)
            if result is not None:
                span.end(result.server, result.error, watch.polls)
        if result is not None:
            return result.unwrap()
        await client.sleep(min(schedule.next_delay(), watch.deadline - now))


@spelled_out(ManyKeywords, MANY_DEFAULTS)
async def wait_many(
    client: Client,
    server_ids: Iterable[int],
    status: ServerStatus | str,
    **keywords: Unpack[ManyKeywords],
) -> dict[int, WaitResult]:
    """Wait for many servers at once, polling the list endpoint once per tick (coalesced).

    See :class:`StatusWatcher` for how a tick decides between one list sweep and per-server
    GETs. Never raises for one server's failure: each result carries its own ``error``.

    Args:
        client: the client to poll with.
        server_ids: the servers (duplicates are waited for once).
        status: the status to reach, or :data:`DELETED`.
        failure_statuses, timeout, poll_interval, max_poll_interval, jitter: as
            :func:`wait_for_status`; the deadline is common to all servers.
        coalesce: None decides per tick by cost; True always sweeps the list; False always
            polls each server with ``get_server``.
        location: the datacenter of every server, if known, to filter the list by it.
        concurrency: per-server GETs in flight at once.
        status_source: where the statuses come from instead of the API (see
            :class:`StatusWatcher`).

    Returns:
        A :class:`WaitResult` per server, in input order: ``.server`` (last seen; None once
        deleted) and ``.error`` (``WaiterTimeoutError``, ``WaiterFailedError``, an
        ``APIError``) or None.

    Raises:
        ValidationError: bad arguments, before any request.
    """
    args = given("wait_many", keywords, MANY_DEFAULTS)
    ids = list(dict.fromkeys(server_ids))
    for server_id in ids:
        check_id("server_ids", server_id)
    rule = rule_for(str(status), (str(s) for s in args["failure_statuses"]))
    polling = _polling(args)
    results: dict[int, WaitResult] = {}
    if not ids:
        return results
    tracing = tracing_of(client)
    if tracing is None:
        return await _watch_many(client, ids, rule, polling, args)
    with tracing.wait(rule.target, ids) as span:
        found = await _watch_many(client, ids, rule, polling, args)
        reached = sum(result.ok for result in found.values())
        span.end_many(reached, len(found) - reached)
        return found


async def _watch_many(
    client: Client, ids: list[int], rule: WaitRule, polling: Polling, args: Mapping[str, Any]
) -> dict[int, WaitResult]:
    """``wait_many``'s work: every server handed to one shared watcher."""
    results: dict[int, WaitResult] = {}
    finished = asyncio.Event()

    def done(result: WaitResult) -> None:
        results[result.server_id] = result
        if len(results) == len(ids):
            finished.set()

    async with StatusWatcher(
        client,
        poll_interval=polling.poll_interval,
        max_poll_interval=polling.max_poll_interval,
        jitter=polling.jitter,
        coalesce=args["coalesce"],
        concurrency=args["concurrency"],
        status_source=args["status_source"],
    ) as watcher:
        for server_id in ids:
            watcher.watch(
                server_id, rule, timeout=polling.timeout, location=args["location"], on_done=done
            )
        await finished.wait()
    return {server_id: results[server_id] for server_id in ids}
