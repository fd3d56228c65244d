"""``StatusWatcher``: one poll loop that waits for many servers (coalesced polling).

The loop ticks on the client's clock: each pause 0.4 of the time waited since the last server
joined (``SHARED_POLL_GROWTH`` 1.4: a tick at 1.4 times the previous one's age), at least
``poll_interval`` and at most ``max_poll_interval``, jittered; a pause never runs past the earliest deadline
of a pending server, which gets one last poll there.
At each tick it asks its :class:`~vpsorg_async._seams.StatusSource` about every pending server
(by default :class:`~._sweep.ApiStatusSource`: a sweep of the list or per-server GETs) and hands
each sighting to the server's :class:`~._judge.Watch`, the judge every waiter shares.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from .. import _policy as policy
from .._seams import Ask, StatusSource
from .._validate import check_id, check_location
from ._judge import WaitResult, Watch
from ._rules import Verdict, WaitRule
from ._schedule import Jitter, Polling, check_seconds, half_jitter
from ._sweep import ApiStatusSource, PollObserver, WatcherStats

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Server

__all__ = ["StatusWatcher"]


@attrs.define(eq=False)
class _Entry:
    watch: Watch
    on_done: Callable[[WaitResult], None]


class StatusWatcher:
    """Waits for many servers with one shared poll loop (coalesced polling).

    Use as ``async with StatusWatcher(client) as watcher:``; inside, :meth:`watch` registers a
    server with a callback and :meth:`wait` awaits one. Leaving the block stops the loop (and
    forgets servers still pending, without calling their callbacks).

    The schedule is shared: each pause 0.4 of the time since the last server joined
    (``SHARED_POLL_GROWTH`` 1.4), at least ``poll_interval`` and at most ``max_poll_interval``,
    with jitter, so a change is seen within 1.4 times the time it took (``poll_interval`` more,
    early on); a pause never runs past the earliest deadline of a
    pending server, which gets one last poll there.

    Args:
        client: the client to poll with; its ``clock`` and ``sleep`` drive the loop.
        poll_interval, max_poll_interval, jitter: the schedule, as for ``wait_for_status``.
        coalesce: None decides each tick by cost; True always sweeps the list; False always
            polls each server with ``get_server``.
        concurrency: per-server GETs in flight at once.
        slots: a semaphore to share the request budget with other work (a fleet passes its
            own); overrides ``concurrency``.
        page_size: the page size asked of the list endpoint.
        on_poll: called after every request the watcher makes, with its error (None when it
            was answered); a fleet uses it to notice an API it cannot reach.
        status_source: where the statuses come from instead of the watcher's own requests (a
            board another process feeds, say); ``coalesce``, ``concurrency``, ``slots``,
            ``page_size`` and ``on_poll`` then do not apply.

    Raises:
        ValidationError: bad options.
    """

    def __init__(
        self,
        client: Client,
        *,
        poll_interval: float = policy.DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = policy.DEFAULT_MAX_POLL_INTERVAL,
        jitter: Jitter | None = half_jitter,
        coalesce: bool | None = None,
        concurrency: int = policy.DEFAULT_CONCURRENCY,
        slots: asyncio.Semaphore | None = None,
        page_size: int = policy.SWEEP_PAGE_SIZE,
        on_poll: PollObserver | None = None,
        status_source: StatusSource | None = None,
    ) -> None:
        polling = Polling(
            poll_interval=poll_interval, max_poll_interval=max_poll_interval, jitter=jitter
        )
        check_id("concurrency", concurrency)
        check_id("page_size", page_size)
        self.stats = WatcherStats()
        if status_source is None:
            status_source = ApiStatusSource(
                client=client,
                coalesce=coalesce,
                concurrency=concurrency,
                slots=slots if slots is not None else asyncio.Semaphore(concurrency),
                page_size=page_size,
                on_poll=on_poll,
                stats=self.stats,
            )
            if client.coordinator is not None:  # a board shared by many processes, or this
                status_source = client.coordinator.status_source(
                    status_source, clock=client.clock, sleep=client.sleep
                )
        self._source = status_source
        self._clock = client.clock
        self._sleep = client.sleep
        self._first = poll_interval
        self._schedule = polling.shared_schedule(policy.SHARED_POLL_GROWTH)
        self._entries: dict[int, _Entry] = {}
        self._due = math.inf  # clock time of the next tick
        self._joined: float | None = None  # when the last server joined, until a tick sees it
        self._busy = asyncio.Event()  # set while servers are pending
        self._nudge = asyncio.Event()  # set when the next tick moved earlier
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> StatusWatcher:
        if self._group is not None:
            raise RuntimeError("a StatusWatcher can be entered only once")
        # a source with a life of its own (a shared board's beat) lives as long as the watcher
        if isinstance(self._source, contextlib.AbstractAsyncContextManager):
            await self._stack.enter_async_context(self._source)
        self._group = asyncio.TaskGroup()
        await self._group.__aenter__()
        self._task = self._group.create_task(self._run(), name="vpsorg-status-watcher")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._group is not None, "not entered"
        assert self._task is not None
        self._task.cancel()
        self._entries.clear()
        try:
            await self._group.__aexit__(exc_type, exc, tb)
        finally:
            await self._stack.aclose()

    @property
    def pending(self) -> int:
        """How many servers are still waited for."""
        return len(self._entries)

    def watch(
        self,
        server_id: int,
        rule: WaitRule,
        *,
        on_done: Callable[[WaitResult], None],
        timeout: float = policy.DEFAULT_WAIT_TIMEOUT,
        location: str | None = None,
        immediately: bool = True,
    ) -> None:
        """Register a server; ``on_done`` is called once, from the poll loop, when its wait ends.

        Args:
            server_id: the server (one wait per server at a time).
            rule: what to wait for, e.g. ``waiters.WAITERS["active"]`` or ``waiters.rule_for(...)``.
            on_done: receives the :class:`WaitResult`. If it raises, the poll loop fails and
                the ``async with`` block ends with that error.
            timeout: this server's deadline, in seconds from now.
            location: the server's datacenter, if known (lets a sweep filter the list).
            immediately: poll at the next chance (True), or not before ``poll_interval`` has
                passed (False: the server was just told to change, so it has not yet).

        Raises:
            ValidationError: bad arguments. RuntimeError: not entered, or already watched.
        """
        check_id("server_id", server_id)
        check_seconds("timeout", timeout)
        if location is not None:
            check_location("location", location)
        if self._task is None or self._task.done():
            raise RuntimeError("use the StatusWatcher as 'async with' before watching")
        if server_id in self._entries:
            raise RuntimeError(f"server {server_id} is already being watched")
        now = self._clock()
        watch = Watch(server_id, rule, now, now + timeout, location)
        self._entries[server_id] = _Entry(watch, on_done)
        self._joined = now
        due = min(now if immediately else now + self._first, watch.deadline)
        if due < self._due:
            self._due = due
            self._nudge.set()
        self._busy.set()

    def forget(self, server_id: int) -> None:
        """Stop waiting for a server without calling its callback (no-op if not watched)."""
        self._entries.pop(server_id, None)

    async def wait(
        self,
        server_id: int,
        rule: WaitRule,
        *,
        timeout: float = policy.DEFAULT_WAIT_TIMEOUT,
        location: str | None = None,
    ) -> Server | None:
        """Wait for one server through the shared loop.

        Returns:
            The server as last seen in the target status; None when waiting for a deletion.

        Raises:
            WaiterTimeoutError, WaiterFailedError, APIError: as ``waiters.wait_for_status``.
        """
        future: asyncio.Future[WaitResult] = asyncio.get_running_loop().create_future()

        def done(result: WaitResult) -> None:
            if not future.done():
                future.set_result(result)

        self.watch(server_id, rule, on_done=done, timeout=timeout, location=location)
        try:
            result = await future
        except asyncio.CancelledError:
            if future.cancelled():  # not resolved yet: stop polling for it
                self.forget(server_id)
            raise
        return result.unwrap()

    # -- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._busy.wait()
            await self._sleep_until_due()
            pending = list(self._entries.values())
            if not pending:
                self._idle()
                continue
            if self._joined is not None:
                self._schedule.restart(self._joined)
                self._joined = None
            self._due = math.inf  # servers joining during the tick may bring the next one forward
            await self._tick(pending)
            now = self._clock()
            for entry in pending:
                if self._entries.get(entry.watch.server_id) is entry:
                    self._resolve(entry, entry.watch.expire(now))
            if not self._entries:
                self._idle()
                continue
            earliest = min(entry.watch.deadline for entry in self._entries.values())
            self._due = min(self._due, now + self._schedule.next_delay(now), earliest)

    def _idle(self) -> None:
        self._busy.clear()
        self._due = math.inf

    async def _sleep_until_due(self) -> None:
        """Sleep on the client's clock until ``_due``, waking early if it moves earlier."""
        while (left := self._due - self._clock()) > 0:
            self._nudge.clear()
            await self._sleep_unless_nudged(left)

    async def _sleep_unless_nudged(self, seconds: float) -> None:
        async with asyncio.TaskGroup() as group:
            sleeping = group.create_task(_sleep(self._sleep, seconds))
            nudged = group.create_task(self._nudge.wait())
            sleeping.add_done_callback(lambda _: nudged.cancel())
            nudged.add_done_callback(lambda _: sleeping.cancel())

    async def _tick(self, pending: list[_Entry]) -> None:
        """Ask the source about every pending server; judge what it saw, in the order it saw."""
        self.stats.ticks += 1
        asks = []
        for entry in pending:
            watch = entry.watch
            watch.polls += 1
            gone_ok = watch.rule.gone is Verdict.SUCCESS
            asks.append(Ask(watch.server_id, watch.deadline, watch.location, gone_ok))
        polled = {entry.watch.server_id: entry for entry in pending}
        for server_id, sighting in (await self._source.statuses(asks)).items():
            seen = polled.get(server_id)
            if seen is not None and self._entries.get(server_id) is seen:
                self._resolve(seen, seen.watch.see(sighting))

    def _resolve(self, entry: _Entry, result: WaitResult | None) -> None:
        if result is not None and self._entries.get(entry.watch.server_id) is entry:
            del self._entries[entry.watch.server_id]
            entry.on_done(result)


async def _sleep(sleep: Callable[[float], Awaitable[None]], seconds: float) -> None:
    await sleep(seconds)
