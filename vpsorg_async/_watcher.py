"""``StatusWatcher``: one poller that waits for many servers (public as ``waiters.StatusWatcher``).

Each tick looks at every server still pending, in one of two ways:

- a *sweep*: the list endpoint, page by page, filtered by ``location`` when every pending server
  is known to live there. It stops as soon as every pending server has been seen, and at each
  page it compares the pages still to read (``count`` / page length) with the servers still
  unseen: when the pages would cost at least as many requests, the rest are fetched one by one.
- per-server ``get_server`` calls, ``concurrency`` at a time, when that is cheaper: few servers
  pending compared with the pages of the list (as learned from the last sweep), or one alone.

A server absent from a complete sweep counts as deleted; when it was not waited on to be
deleted, one GET confirms (and yields the API's own ``NotFoundError``). A sweep that fails with a
transient error only postpones the tick; one that fails otherwise (401, 403) falls back to GETs,
so every server gets its own error.

A tick never runs past the deadlines it serves: a sweep stops paging at the earliest deadline of
the servers it has not seen yet (and at ``count`` plus a slack: see ``PageWalk``), every request
gets at most the time left, and a GET still queued after its server's deadline is not made.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from types import TracebackType

import attrs

from ._client import Client
from ._errors import (
    NotFoundError,
    ResponseDecodeError,
    VPSOrgError,
    WaiterFailedError,
    WaiterTimeoutError,
)
from ._logonce import LogThrottle, error_kind
from ._models import Server
from ._poll import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_WAIT_TIMEOUT,
    MIN_POLL_TIMEOUT,
    SHARED_POLL_GROWTH,
    Jitter,
    PageWalk,
    PollSchedule,
    Verdict,
    WaitRule,
    check_wait_options,
    half_jitter,
    is_transient,
    request_timeout,
)
from ._validate import check_id, check_location

__all__ = ["SWEEP_PAGE_SIZE", "StatusWatcher", "WaitResult", "WatcherStats"]

logger = logging.getLogger("vpsorg_async")

#: Page size asked of the list endpoint by a sweep: 1,000 servers are ~500 KB of JSON, and the
#: API may cap it lower (the answer's ``count`` and page length tell the real size).
SWEEP_PAGE_SIZE = 1000
#: What a request's outcome is reported as to ``on_poll``: None for an answer that was read.
PollObserver = Callable[[VPSOrgError | None], None]


def _sweep_later(exc: VPSOrgError) -> bool:
    """A sweep failure that only postpones the tick; a 404 means a page vanished as the list
    shrank."""
    return is_transient(exc) or isinstance(exc, NotFoundError)


@attrs.frozen
class WaitResult:
    """How the wait for one server ended.

    Attributes:
        server_id: the server.
        server: the server as last seen; None when it was deleted (or never seen).
        error: None on success, else ``WaiterTimeoutError``, ``WaiterFailedError`` or the API's
            error (e.g. ``NotFoundError``, ``AuthenticationError``).
    """

    server_id: int
    server: Server | None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the server reached the target."""
        return self.error is None


@attrs.define
class WatcherStats:
    """Requests a watcher made, for benchmarks and tests."""

    ticks: int = 0
    list_requests: int = 0
    get_requests: int = 0


@attrs.define(eq=False)
class _Entry:
    server_id: int
    rule: WaitRule
    started: float
    deadline: float
    location: str | None
    on_done: Callable[[WaitResult], None]
    last: Server | None = None
    last_error: Exception | None = None
    polls: int = 0


class StatusWatcher:
    """Waits for many servers with one shared poll loop (coalesced polling).

    Use as ``async with StatusWatcher(client) as watcher:``; inside, :meth:`watch` registers a
    server with a callback and :meth:`wait` awaits one. Leaving the block stops the loop (and
    forgets servers still pending, without calling their callbacks).

    The schedule is the waiters' one, shared: ticks ``poll_interval`` apart, growing by half (``SHARED_POLL_GROWTH``) up to
    ``max_poll_interval`` with jitter; it restarts when new servers join, and a pause never
    runs past the earliest deadline of a pending server, which gets one last poll there.

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

    Raises:
        ValidationError: bad options.
    """

    def __init__(
        self,
        client: Client,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_poll_interval: float = DEFAULT_MAX_POLL_INTERVAL,
        jitter: Jitter | None = half_jitter,
        coalesce: bool | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        slots: asyncio.Semaphore | None = None,
        page_size: int = SWEEP_PAGE_SIZE,
        on_poll: PollObserver | None = None,
    ) -> None:
        check_wait_options(
            timeout=1.0, poll_interval=poll_interval, max_poll_interval=max_poll_interval
        )
        check_id("concurrency", concurrency)
        check_id("page_size", page_size)
        self._client = client
        self._clock = client.clock
        self._first = poll_interval
        self._schedule = PollSchedule(
            first=poll_interval, cap=max_poll_interval, jitter=jitter, growth=SHARED_POLL_GROWTH
        )
        self._coalesce = coalesce
        self._concurrency = concurrency
        self._slots = slots if slots is not None else asyncio.Semaphore(concurrency)
        self._page_size = page_size
        self._on_poll = on_poll
        self._log = LogThrottle(self._clock)
        self._entries: dict[int, _Entry] = {}
        self._pages: dict[str | None, int] = {}  # list filter -> pages of the last sweep
        self._due = math.inf  # clock time of the next tick
        self._joined = False
        self._busy = asyncio.Event()  # set while servers are pending
        self._nudge = asyncio.Event()  # set when the next tick moved earlier
        self._group: asyncio.TaskGroup | None = None
        self._task: asyncio.Task[None] | None = None
        self.stats = WatcherStats()

    async def __aenter__(self) -> StatusWatcher:
        if self._group is not None:
            raise RuntimeError("a StatusWatcher can be entered only once")
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
        await self._group.__aexit__(exc_type, exc, tb)

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
        timeout: float = DEFAULT_WAIT_TIMEOUT,
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
        check_wait_options(timeout=timeout, poll_interval=0.0, max_poll_interval=0.0)
        if location is not None:
            check_location("location", location)
        if self._task is None or self._task.done():
            raise RuntimeError("use the StatusWatcher as 'async with' before watching")
        if server_id in self._entries:
            raise RuntimeError(f"server {server_id} is already being watched")
        now = self._clock()
        entry = _Entry(server_id, rule, now, now + timeout, location, on_done)
        self._entries[server_id] = entry
        self._joined = True
        due = min(now if immediately else now + self._first, entry.deadline)
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
        timeout: float = DEFAULT_WAIT_TIMEOUT,
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
        if result.error is not None:
            raise result.error
        return result.server

    # -- the loop -------------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._busy.wait()
            await self._sleep_until_due()
            pending = list(self._entries.values())
            if not pending:
                self._idle()
                continue
            if self._joined:
                self._schedule.restart()
                self._joined = False
            self._due = math.inf  # servers joining during the tick may bring the next one forward
            await self._tick(pending)
            now = self._clock()
            self._expire(pending, now)
            if not self._entries:
                self._idle()
                continue
            earliest = min(entry.deadline for entry in self._entries.values())
            self._due = min(self._due, now + self._schedule.next_delay(), earliest)

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
            sleeping = group.create_task(_sleep(self._client, seconds))
            nudged = group.create_task(self._nudge.wait())
            sleeping.add_done_callback(lambda _: nudged.cancel())
            nudged.add_done_callback(lambda _: sleeping.cancel())

    async def _tick(self, pending: list[_Entry]) -> None:
        self.stats.ticks += 1
        for entry in pending:
            entry.polls += 1
        direct = await self._sweep(pending) if self._should_sweep(pending) else pending
        if direct:
            await self._get_each(direct)

    def _filter(self, pending: list[_Entry]) -> str | None:
        """The location every pending server is known to share, if any."""
        locations = {entry.location for entry in pending}
        return locations.pop() if len(locations) == 1 else None

    def _should_sweep(self, pending: list[_Entry]) -> bool:
        if self._coalesce is not None:
            return self._coalesce
        # a filtered list is no longer than the whole one, whose size bounds it until swept
        pages = self._pages.get(self._filter(pending), self._pages.get(None))
        return pages < len(pending) if pages is not None else len(pending) > 1

    async def _sweep(self, pending: list[_Entry]) -> list[_Entry]:
        """Read the list page by page; return the entries left for per-server GETs."""
        location = self._filter(pending)
        unseen = {entry.server_id: entry for entry in pending}
        walk = PageWalk(min(entry.deadline for entry in pending), self._client.timeout)
        fetched = 0
        while True:
            page_no = walk.pages + 1
            try:
                async with self._slots:
                    timeout = walk.timeout(self._clock())
                    if timeout is None:  # an unseen server's deadline came: it ends this tick
                        return []
                    self.stats.list_requests += 1
                    page = await self._client.list_servers(
                        location=location, page=page_no if page_no > 1 else None,
                        page_size=self._page_size, timeout=timeout,
                    )  # fmt: skip
            except VPSOrgError as exc:
                self._polled(exc)
                if _sweep_later(exc):
                    self._log.log(
                        logger, logging.INFO, ("sweep", error_kind(exc)),
                        "server list poll failed (%s); trying again next tick", exc,
                    )  # fmt: skip
                    for entry in unseen.values():
                        entry.last_error = exc
                    return []
                logger.info("server list poll failed (%s); polling each server instead", exc)
                return list(unseen.values())
            self._polled(None)
            fetched += len(page.results)
            for server in page.results:
                seen = unseen.pop(server.id, None)
                if seen is not None:
                    self._observe(seen, server)
            if page_no == 1:
                per_page = max(len(page.results), 1)
                self._pages[location] = max(1, math.ceil(page.count / per_page))
            try:
                more = walk.more(page)
            except ResponseDecodeError as exc:
                logger.info("server list poll stopped (%s); polling each server instead", exc)
                return list(unseen.values())
            if not more:
                return self._absent(unseen.values())
            if not unseen:
                return []
            pages_left = math.ceil(max(page.count - fetched, 0) / len(page.results))
            # no pages left by the count while ``next`` says more: the list is inconsistent
            # (or ignores ``page``); ask the rest one by one rather than page on forever
            if pages_left == 0 or (self._coalesce is None and pages_left >= len(unseen)):
                return list(unseen.values())
            walk.deadline = min(entry.deadline for entry in unseen.values())

    def _polled(self, error: VPSOrgError | None) -> None:
        if self._on_poll is not None:
            self._on_poll(error)

    def _absent(self, entries: Iterable[_Entry]) -> list[_Entry]:
        """Resolve servers missing from a complete sweep; return those a GET must confirm."""
        confirm = []
        for entry in list(entries):
            if entry.rule.gone is Verdict.SUCCESS:
                self._resolve(entry, WaitResult(entry.server_id, None))
            else:
                confirm.append(entry)
        return confirm

    async def _get_each(self, entries: list[_Entry]) -> None:
        """GET each entry's server, at most ``concurrency`` at a time (a fixed pool of tasks)."""
        todo = iter(entries)

        async def worker() -> None:
            for entry in todo:
                await self._get_one(entry)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._concurrency, len(entries))):
                group.create_task(worker())

    async def _get_one(self, entry: _Entry) -> None:
        if self._entries.get(entry.server_id) is not entry:
            return  # forgotten meanwhile
        try:
            async with self._slots:
                left = entry.deadline - self._clock()
                if left <= -MIN_POLL_TIMEOUT:
                    return  # queued behind other requests past its deadline: it ends this tick
                self.stats.get_requests += 1
                server = await self._client.get_server(
                    entry.server_id, timeout=request_timeout(left, self._client.timeout)
                )
        except NotFoundError as exc:
            self._polled(exc)
            if entry.rule.gone is Verdict.SUCCESS:
                self._resolve(entry, WaitResult(entry.server_id, None))
            else:
                self._resolve(entry, WaitResult(entry.server_id, entry.last, exc))
        except VPSOrgError as exc:
            self._polled(exc)
            if not is_transient(exc):
                self._resolve(entry, WaitResult(entry.server_id, entry.last, exc))
                return
            entry.last_error = exc
            self._log.log(
                logger, logging.INFO, ("poll", error_kind(exc)),
                "poll of server %d failed (%s); polling on", entry.server_id, exc,
            )  # fmt: skip
        else:
            self._polled(None)
            self._observe(entry, server)

    def _observe(self, entry: _Entry, server: Server) -> None:
        entry.last, entry.last_error, entry.location = server, None, server.location
        verdict = entry.rule.judge(server)
        if verdict is Verdict.SUCCESS:
            self._resolve(entry, WaitResult(entry.server_id, server))
        elif verdict is Verdict.FAILURE:
            error = WaiterFailedError(server=server, target=entry.rule.target)
            self._resolve(entry, WaitResult(entry.server_id, server, error))

    def _expire(self, polled: list[_Entry], now: float) -> None:
        for entry in polled:
            if entry.deadline <= now and self._entries.get(entry.server_id) is entry:
                error = WaiterTimeoutError(
                    server_id=entry.server_id, target=entry.rule.target, last_server=entry.last,
                    elapsed=now - entry.started, polls=entry.polls,
                )  # fmt: skip
                error.__cause__ = entry.last_error
                self._resolve(entry, WaitResult(entry.server_id, entry.last, error))

    def _resolve(self, entry: _Entry, result: WaitResult) -> None:
        if self._entries.get(entry.server_id) is entry:
            del self._entries[entry.server_id]
            entry.on_done(result)


async def _sleep(client: Client, seconds: float) -> None:
    await client.sleep(seconds)
