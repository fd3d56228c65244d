"""Walks over the list's pages: every page within one deadline, and never an endless one.

A walk follows ``next`` links on the API's own origin only (a link elsewhere would carry the
token there), and stops with ``ResponseDecodeError`` when the links loop, carry a user or
password, run past ``max_pages``, or list more servers than the first page's ``count`` promised
(by more than ``LIST_COUNT_SLACK``). Each page's request gets only the time left of the walk's
one deadline; past it, ``RequestTimeoutError``. Used by ``iter_servers``, ``find_server`` and
reconcile's lookups.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from . import _policy as policy
from ._config import USERINFO, masked
from ._deadline import Deadline
from ._endpoints import ENDPOINTS, Endpoint
from ._errors import RequestTimeoutError, ResponseDecodeError
from ._models import Server, ServerList
from ._validate import check_timeout

if TYPE_CHECKING:
    from ._client import Client
    from ._session import Session

__all__ = ["deadline_of", "walk"]

_LIST = ENDPOINTS["list_servers"]


def deadline_of(client: Client, timeout: object) -> Deadline:
    """One deadline for a call of several requests: ``timeout`` or the client's default."""
    seconds = check_timeout("timeout", timeout)
    return Deadline(client.timeout if seconds is None else seconds, client.clock)


async def walk(
    client: Client,
    deadline: Deadline,
    *,
    max_pages: int = policy.MAX_LIST_PAGES,
    location: str | None = None,
    status: str | None = None,
    page_size: int | None = None,
) -> AsyncIterator[Server]:
    """The servers of every page, each once, all pages within ``deadline``."""
    yielded: set[int] = set()  # pages can shift while we read; never yield a server twice
    session = client._session
    async for page in _pages(client, deadline, max_pages, location, status, page_size):
        fresh = [server for server in page.results if server.id not in yielded]
        if page.next and page.results and not fresh:
            shown = _shown(session, page.next)
            raise _bad_page(f"the next links loop: {shown!r} repeats servers")
        for server in fresh:
            yielded.add(server.id)
            yield server


async def _pages(
    client: Client,
    deadline: Deadline,
    max_pages: int,
    location: str | None,
    status: str | None,
    page_size: int | None,
) -> AsyncIterator[ServerList]:
    """The list's pages, following ``next`` links, every request within ``deadline``."""
    page = await client.list_servers(
        status=status, location=location, page_size=page_size, timeout=_time_left(deadline, 0)
    )
    limit = page.count + policy.LIST_COUNT_SLACK
    seen: set[str] = set()
    read, count = len(page.results), 1
    session = client._session
    while True:
        if read > limit:
            raise _bad_page(f"the pages list {read} servers, more than the count of {page.count}")
        yield page
        link = page.next
        if not link:
            return
        _check_next(session, link, seen)
        if count >= max_pages:
            raise _bad_page(f"the next links go on past {max_pages} pages")
        seen.add(link)
        page = await session.call(_LIST, url=link, timeout=_time_left(deadline, count))
        read, count = read + len(page.results), count + 1


def _shown(session: Session, link: str) -> str:
    """A ``next`` link as an error may quote it: no password, no echoed token."""
    return session.redact(masked(link))


def _check_next(session: Session, link: str, seen: set[str]) -> None:
    """Refuse a ``next`` link that leaves the API, carries userinfo, or was followed before."""
    if not session.same_origin(link):
        raise _bad_page(
            f"refusing to follow a next link to another origin: {_shown(session, link)!r}"
        )
    if USERINFO.search(link):
        raise _bad_page(f"refusing a next link with userinfo: {_shown(session, link)!r}")
    if link in seen:
        raise _bad_page(f"the next links loop back to {_shown(session, link)!r}")


def _time_left(deadline: Deadline, pages: int) -> float:
    """The time left for the next page of a walk; ``RequestTimeoutError`` once none is."""
    left = deadline.left()
    if left <= 0:
        raise RequestTimeoutError(
            f"the walk's {deadline.budget} s deadline passed after {pages} page(s)",
            method=_LIST.method, path=_LIST.path, sent=False, attempts=0,
        )  # fmt: skip
    return left


def _bad_page(message: str, row: Endpoint = _LIST) -> ResponseDecodeError:
    return ResponseDecodeError(message, method=row.method, path=row.path, status=row.success)
