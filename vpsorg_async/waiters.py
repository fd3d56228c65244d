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

All waiting and all deadlines use the client's ``clock`` and ``sleep``. This module uses only
the client's public methods; the client never imports it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import attrs

from ._client import Client
from ._errors import NotFoundError, ValidationError, WaiterFailedError, WaiterTimeoutError
from ._models import ServerDetail, ServerStatus
from ._poll import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    TRANSIENT_ERRORS,
    Jitter,
    PollSchedule,
    Verdict,
    WaitRule,
    check_wait_options,
    half_jitter,
    is_transient,
    request_timeout,
)
from ._validate import check_id
from ._watcher import SWEEP_PAGE_SIZE, StatusWatcher, WaitResult, WatcherStats

__all__ = [
    "DEFAULT_MAX_POLL_INTERVAL",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WAIT_TIMEOUT",
    "DELETED",
    "SETTLES_TO",
    "SWEEP_PAGE_SIZE",
    "TRANSIENT_ERRORS",
    "WAITERS",
    "StatusWatcher",
    "Verdict",
    "WaitResult",
    "WaitRule",
    "WatcherStats",
    "half_jitter",
    "rule_for",
    "wait_for_status",
    "wait_many",
    "wait_until_active",
    "wait_until_deleted",
    "wait_until_stopped",
]

logger = logging.getLogger("vpsorg_async")

#: The pseudo-status of a server that no longer exists (the API answers 404).
DELETED = "deleted"


_SUSPENDED = frozenset({ServerStatus.SUSPENDED.value})
#: The statuses a caller may wait for or name as failures: the documented ones. A typo such as
#: ``"Active"`` would otherwise wait out the whole timeout for a status the API never reports.
_DOCUMENTED = frozenset(status.value for status in ServerStatus)

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
    target = _documented("status", target, also=DELETED)
    extra = frozenset(_documented("failure_statuses", s) for s in failure_statuses)
    if target in extra:
        raise ValidationError("failure_statuses", f"must not contain the target {target!r}")
    rule = WAITERS.get(target) or WaitRule(target, frozenset({target}))
    return attrs.evolve(rule, failure=rule.failure | extra) if extra else rule


def _documented(param: str, status: object, *, also: str | None = None) -> str:
    """``status`` as a plain string, if the API documents it (or it is ``also``)."""
    if isinstance(status, str) and (status in _DOCUMENTED or status == also):
        return str(status)
    allowed = sorted(_DOCUMENTED | ({also} if also else set()))
    raise ValidationError(param, f"must be one of {', '.join(allowed)}; got {status!r}")


async def wait_for_status(
    client: Client,
    server_id: int,
    status: ServerStatus | str,
    *,
    failure_statuses: Iterable[ServerStatus | str] = (),
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    jitter: Jitter | None = half_jitter,
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
    rule = rule_for(str(status), (str(s) for s in failure_statuses))
    server = await _wait_one(
        client, server_id, rule, timeout, poll_interval, max_poll_interval, jitter
    )
    assert server is not None  # only a deletion ends without a server
    return server


async def wait_until_active(
    client: Client,
    server_id: int,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    jitter: Jitter | None = half_jitter,
) -> ServerDetail:
    """Wait until the server is ``active``; ``suspended`` fails. See :func:`wait_for_status`."""
    return await wait_for_status(
        client, server_id, "active", timeout=timeout, poll_interval=poll_interval,
        max_poll_interval=max_poll_interval, jitter=jitter,
    )  # fmt: skip


async def wait_until_stopped(
    client: Client,
    server_id: int,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    jitter: Jitter | None = half_jitter,
) -> ServerDetail:
    """Wait until the server is ``stopped``; ``suspended`` fails. See :func:`wait_for_status`."""
    return await wait_for_status(
        client, server_id, "stopped", timeout=timeout, poll_interval=poll_interval,
        max_poll_interval=max_poll_interval, jitter=jitter,
    )  # fmt: skip


async def wait_until_deleted(
    client: Client,
    server_id: int,
    *,
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    jitter: Jitter | None = half_jitter,
) -> None:
    """Wait until the API answers 404 for the server. See :func:`wait_for_status`.

    Raises:
        WaiterTimeoutError: the server still existed at the deadline. And as ``wait_for_status``.
    """
    rule = WAITERS[DELETED]
    await _wait_one(client, server_id, rule, timeout, poll_interval, max_poll_interval, jitter)


async def _wait_one(
    client: Client,
    server_id: int,
    rule: WaitRule,
    timeout: float,
    poll_interval: float,
    max_poll_interval: float,
    jitter: Jitter | None,
) -> ServerDetail | None:
    """The single-server poll loop: poll, judge, pause (clipped to the deadline), repeat."""
    check_id("server_id", server_id)
    check_wait_options(
        timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
    )
    clock = client.clock
    started = clock()
    deadline = started + timeout
    schedule = PollSchedule(first=poll_interval, cap=max_poll_interval, jitter=jitter)
    last: ServerDetail | None = None
    last_error: Exception | None = None
    polls = 0
    while True:
        polls += 1
        try:
            server = await client.get_server(
                server_id, timeout=request_timeout(deadline - clock(), client.timeout)
            )
        except NotFoundError:
            if rule.gone is Verdict.SUCCESS:
                return None
            raise
        except TRANSIENT_ERRORS as exc:
            if not is_transient(exc):  # a TLSCertificateError does not fix itself
                raise
            last_error = exc
            logger.info(
                "poll of server %d failed (%s); polling on until the deadline", server_id, exc
            )
        else:
            last, last_error = server, None
            verdict = rule.judge(server)
            if verdict is Verdict.SUCCESS:
                return server
            if verdict is Verdict.FAILURE:
                raise WaiterFailedError(server=server, target=rule.target)
        now = clock()
        if now >= deadline:
            raise WaiterTimeoutError(
                server_id=server_id, target=rule.target, last_server=last,
                elapsed=now - started, polls=polls,
            ) from last_error  # fmt: skip
        await client.sleep(min(schedule.next_delay(), deadline - now))


async def wait_many(
    client: Client,
    server_ids: Iterable[int],
    status: ServerStatus | str,
    *,
    failure_statuses: Iterable[ServerStatus | str] = (),
    timeout: float = DEFAULT_WAIT_TIMEOUT,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
    max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
    jitter: Jitter | None = half_jitter,
    coalesce: bool | None = None,
    location: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
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

    Returns:
        A :class:`WaitResult` per server, in input order: ``.server`` (last seen; None once
        deleted) and ``.error`` (``WaiterTimeoutError``, ``WaiterFailedError``, an
        ``APIError``) or None.

    Raises:
        ValidationError: bad arguments, before any request.
    """
    ids = list(dict.fromkeys(server_ids))
    for server_id in ids:
        check_id("server_ids", server_id)
    rule = rule_for(str(status), (str(s) for s in failure_statuses))
    check_wait_options(
        timeout=timeout, poll_interval=poll_interval, max_poll_interval=max_poll_interval
    )
    results: dict[int, WaitResult] = {}
    if not ids:
        return results
    finished = asyncio.Event()

    def done(result: WaitResult) -> None:
        results[result.server_id] = result
        if len(results) == len(ids):
            finished.set()

    async with StatusWatcher(
        client, poll_interval=poll_interval, max_poll_interval=max_poll_interval, jitter=jitter,
        coalesce=coalesce, concurrency=concurrency,
    ) as watcher:  # fmt: skip
        for server_id in ids:
            watcher.watch(server_id, rule, timeout=timeout, location=location, on_done=done)
        await finished.wait()
    return {server_id: results[server_id] for server_id in ids}
