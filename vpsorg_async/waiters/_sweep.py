"""The in-process :class:`~vpsorg_async._seams.StatusSource`: sweeps of the list, or GETs.

Each time it is asked, :class:`ApiStatusSource` looks at the servers in one of two ways:

- a *sweep*: the list endpoint, page by page, filtered by ``location`` when every server asked
  about is known to live there. It stops as soon as every server has been seen, and at each page
  it compares the pages still to read (``count`` / page length) with the servers still unseen:
  when the pages would cost at least as many requests, the rest are fetched one by one.
- per-server ``get_server`` calls, ``concurrency`` at a time, when that is cheaper: few servers
  compared with the pages of the list (as learned from the last sweep), or one alone.

A server absent from a complete sweep is reported gone when its ask allows it
(``unlisted_is_gone``); otherwise one GET confirms (and yields the API's own ``NotFoundError``).
A sweep that fails with a transient error (or a 404: a page vanished as the list shrank) leaves
the unseen servers :class:`~vpsorg_async._seams.Unseen` until the next time; one that fails
otherwise (401, 403) falls back to GETs, so every server gets its own error.

It never runs past the deadlines it serves: a sweep stops paging at the earliest deadline of the
servers it has not seen yet (and at ``count`` plus a slack: :class:`PageWalk`), every request
gets at most the time left, and a GET still queued after its server's deadline is not made.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

import attrs

from .. import _policy as policy
from .._endpoints import ENDPOINTS
from .._errors import NotFoundError, RequestTimeoutError, ResponseDecodeError, VPSOrgError
from .._logonce import LogThrottle, error_kind
from .._seams import Ask, Sighting, Unseen
from ._judge import is_transient, look
from ._schedule import request_timeout

if TYPE_CHECKING:
    from .._client import Client
    from .._models import Server, ServerList


__all__ = ["ApiStatusSource", "PageWalk", "PollObserver", "WatcherStats", "list_matching"]

logger = logging.getLogger("vpsorg_async.waiters")

#: What a request's outcome is reported as to ``on_poll``: None for an answer that was read.
PollObserver = Callable[[VPSOrgError | None], None]


@attrs.define
class WatcherStats:
    """Requests a watcher made, for benchmarks and tests."""

    ticks: int = 0
    list_requests: int = 0
    get_requests: int = 0


class PageWalk:
    """The bounds of one walk through the server list by page number.

    A walk ends at ``deadline``: a page may start only before it (the first page of a walk, the
    one last look, may start at it) and gets the time left as its timeout. The first page's
    ``count`` bounds how many pages may follow: a walk that runs more than ``EXTRA_PAGES`` past
    it raises ``ResponseDecodeError`` instead of paging on forever.
    """

    def __init__(self, deadline: float, cap: float) -> None:
        self.deadline = deadline
        self.pages = 0
        self._cap = cap
        self._limit = math.inf

    def timeout(self, now: float) -> float | None:
        """The next page's timeout; None when the walk's deadline has passed."""
        if self.pages and now >= self.deadline:
            return None
        return request_timeout(self.deadline - now, self._cap)

    def more(self, page: ServerList) -> bool:
        """Count ``page`` in; True when another page should be read.

        Raises:
            ResponseDecodeError: ``next`` still points on, past what ``count`` promised.
        """
        self.pages += 1
        if self.pages == 1:
            per_page = max(len(page.results), 1)
            self._limit = math.ceil(page.count / per_page) + policy.EXTRA_PAGES
        if not page.next or not page.results:
            return False
        if self.pages >= self._limit:
            row = ENDPOINTS["list_servers"]
            raise ResponseDecodeError(
                f"the list still has a next page after {self.pages} pages, past the "
                f"{page.count} servers its count promises",
                method=row.method,
                path=row.path,
                status=200,
            )
        return True


async def list_matching(
    client: Client,
    keep: Callable[[Server], bool],
    *,
    timeout: float,
    location: str | None,
    page_size: int,
) -> list[Server]:
    """Every listed server ``keep`` accepts, reading the pages within ``timeout`` seconds.

    Raises:
        RequestTimeoutError: the walk's time ran out before its last page.
        ResponseDecodeError: the list pages on past its ``count``. And as ``list_servers``.
    """
    walk = PageWalk(client.clock() + timeout, client.timeout)
    found: list[Server] = []
    while True:
        page_timeout = walk.timeout(client.clock())
        if page_timeout is None:
            row = ENDPOINTS["list_servers"]
            raise RequestTimeoutError(
                f"the list was not read to its end within {timeout:.2f} s ({walk.pages} pages)",
                method=row.method,
                path=row.path,
                attempts=walk.pages,
            )
        page_no = walk.pages + 1 if walk.pages else None
        page = await client.list_servers(
            location=location, page=page_no, page_size=page_size, timeout=page_timeout
        )
        found.extend(server for server in page.results if keep(server))
        if not walk.more(page):
            return found


@attrs.define(kw_only=True)
class ApiStatusSource:
    """Answers "the statuses of these servers now" from the API, with as few requests as it can.

    Args:
        client: the client to ask with.
        coalesce: None decides each time by cost; True always sweeps the list; False always
            GETs each server.
        concurrency: per-server GETs in flight at once.
        slots: a semaphore every request holds while in flight (shared with a fleet's requests).
        page_size: the page size asked of the list endpoint.
        on_poll: told the outcome of every request (None: an answer was read).
        stats: counts the requests made.
    """

    _client: Client
    _coalesce: bool | None
    _concurrency: int
    _slots: asyncio.Semaphore
    _page_size: int
    _on_poll: PollObserver | None
    _stats: WatcherStats
    _log: LogThrottle = attrs.field(init=False)
    _pages: dict[str | None, int] = attrs.field(init=False, factory=dict)  # filter -> pages

    def __attrs_post_init__(self) -> None:
        self._log = LogThrottle(self._client.clock)

    async def statuses(self, asks: Sequence[Ask]) -> dict[int, Sighting]:
        """See :meth:`~vpsorg_async._seams.StatusSource.statuses`."""
        seen: dict[int, Sighting] = {}
        direct = await self._sweep(asks, seen) if self._should_sweep(asks) else list(asks)
        if direct:
            await self._get_each(direct, seen)
        return seen

    def _filter(self, asks: Collection[Ask]) -> str | None:
        """The location every server asked about is known to share, if any."""
        locations = {ask.location for ask in asks}
        return locations.pop() if len(locations) == 1 else None

    def _should_sweep(self, asks: Sequence[Ask]) -> bool:
        if self._coalesce is not None:
            return self._coalesce
        # a filtered list is no longer than the whole one, whose size bounds it until swept
        pages = self._pages.get(self._filter(asks), self._pages.get(None))
        return pages < len(asks) if pages is not None else len(asks) > 1

    async def _sweep(self, asks: Sequence[Ask], seen: dict[int, Sighting]) -> list[Ask]:
        """Read the list page by page into ``seen``; return the asks left for per-server GETs."""
        location = self._filter(asks)
        unseen = {ask.server_id: ask for ask in asks}
        walk = PageWalk(min(ask.deadline for ask in asks), self._client.timeout)
        fetched = 0
        while True:
            page_no = walk.pages + 1
            try:
                async with self._slots:
                    timeout = walk.timeout(self._client.clock())
                    if timeout is None:  # an unseen server's deadline came: it ends this tick
                        return []
                    self._stats.list_requests += 1
                    page = await self._client.list_servers(
                        location=location,
                        page=page_no if page_no > 1 else None,
                        page_size=self._page_size,
                        timeout=timeout,
                    )
            except VPSOrgError as exc:
                self._polled(exc)
                if is_transient(exc) or isinstance(exc, NotFoundError):  # a page vanished
                    self._log.log(
                        logger,
                        logging.INFO,
                        ("sweep", error_kind(exc)),
                        "server list poll failed (%s); trying again next tick",
                        exc,
                    )
                    seen.update((server_id, Unseen(exc)) for server_id in unseen)
                    return []
                logger.info("server list poll failed (%s); polling each server instead", exc)
                return list(unseen.values())
            self._polled(None)
            fetched += len(page.results)
            for server in page.results:
                if unseen.pop(server.id, None) is not None:
                    seen[server.id] = server
            if page_no == 1:
                per_page = max(len(page.results), 1)
                self._pages[location] = max(1, math.ceil(page.count / per_page))
            try:
                more = walk.more(page)
            except ResponseDecodeError as exc:
                logger.info("server list poll stopped (%s); polling each server instead", exc)
                return list(unseen.values())
            if not more:
                return self._absent(unseen.values(), seen)
            if not unseen:
                return []
            pages_left = math.ceil(max(page.count - fetched, 0) / len(page.results))
            # no pages left by the count while ``next`` says more: the list is inconsistent
            # (or ignores ``page``); ask the rest one by one rather than page on forever
            if pages_left == 0 or (self._coalesce is None and pages_left >= len(unseen)):
                return list(unseen.values())
            walk.deadline = min(ask.deadline for ask in unseen.values())

    def _absent(self, asks: Collection[Ask], seen: dict[int, Sighting]) -> list[Ask]:
        """Servers missing from a complete sweep: gone, or to be confirmed by a GET (returned)."""
        confirm = []
        for ask in asks:
            if ask.unlisted_is_gone:
                seen[ask.server_id] = None
            else:
                confirm.append(ask)
        return confirm

    async def _get_each(self, asks: list[Ask], seen: dict[int, Sighting]) -> None:
        """GET each server, at most ``concurrency`` at a time (a fixed pool of tasks)."""
        todo = iter(asks)

        async def worker() -> None:
            for ask in todo:
                await self._get_one(ask, seen)

        async with asyncio.TaskGroup() as group:
            for _ in range(min(self._concurrency, len(asks))):
                group.create_task(worker())

    async def _get_one(self, ask: Ask, seen: dict[int, Sighting]) -> None:
        async with self._slots:
            left = ask.deadline - self._client.clock()
            if left <= -policy.MIN_POLL_TIMEOUT:
                return  # queued behind other requests past its deadline: it ends this tick
            self._stats.get_requests += 1
            timeout = request_timeout(left, self._client.timeout)
            sighting = await look(self._client, ask.server_id, timeout=timeout)
        error = sighting.cause if isinstance(sighting, Unseen) else sighting
        self._polled(error if isinstance(error, VPSOrgError) else None)
        if isinstance(sighting, Unseen):
            self._log.log(
                logger,
                logging.INFO,
                ("poll", error_kind(sighting.cause)),
                "poll of server %d failed (%s); polling on",
                ask.server_id,
                sighting.cause,
            )
        seen[ask.server_id] = sighting

    def _polled(self, error: VPSOrgError | None) -> None:
        if self._on_poll is not None:
            self._on_poll(error)
