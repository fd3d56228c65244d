"""``create_server(..., reconcile=True)``: a create that never duplicates and never adopts a stranger.

The same-named servers of the location are listed first, before anything is sent: a server
listed then was not made by this request and is never adopted (names are not unique). After an
ambiguous create, a *new* server with the request's name, plan, OS and location is adopted; if
there is none the create is sent again; if there are several, ``AmbiguousCreateError`` carries
them. At most ``max_retries + 1`` creates are sent, all within one deadline, and a deadline that
passes after a create was sent raises ``AmbiguousCreateError``, never a plain timeout: the server
may exist.

The name's create lock (the client's :class:`~vpsorg_async._seams.CreateLock`, in process by
default, shared when a backend provides one) is held from the first lookup until the outcome is
known, so two reconciling creators of one name never both create it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import attrs

from ._deadline import Deadline
from ._endpoints import Endpoint
from ._errors import AmbiguousCreateError, RequestTimeoutError, VPSOrgError
from ._models import CreatedServer, CreateServer, Server, could_have_made
from ._pages import deadline_of, walk

if TYPE_CHECKING:
    from ._client import Client

__all__ = ["create_reconciled"]


async def create_reconciled(
    client: Client, row: Endpoint, body: CreateServer, timeout: float | None
) -> CreatedServer:
    """Create ``body``; when the outcome is unknown, look for the server it may have made."""
    deadline = deadline_of(client, timeout)
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(
                client.create_lock.hold(body.name, timeout=deadline.left())
            )
        except TimeoutError:  # the lock was not free in time: nothing was sent
            raise RequestTimeoutError(
                f"another creator of {body.name!r} held its create lock past the deadline",
                method=row.method, path=row.path, sent=False, attempts=0,
            ) from None  # fmt: skip
        return await _create(client, row, body, deadline)


async def _create(
    client: Client, row: Endpoint, body: CreateServer, deadline: Deadline
) -> CreatedServer:
    session = client._session
    before = {server.id for server in await _same_named(client, body, deadline)}
    creates_left = session.max_retries + 1
    while True:
        try:
            created: CreatedServer = await session.call(row, body=body, timeout=deadline.left())
            return created
        except AmbiguousCreateError as exc:
            last = exc
        creates_left -= 1
        try:
            found = await _made_by(client, body, before, last, deadline)
        except AmbiguousCreateError:
            raise
        except VPSOrgError as exc:  # the lookup failed: the create's outcome stays unknown
            last.add_note(f"reconcile could not look for the server: {exc}")
            raise last  # noqa: B904 - its cause is the create's failure, kept as it is
        if found is not None:
            return found
        if not creates_left or deadline.left() <= 0:
            raise last


async def _made_by(
    client: Client,
    body: CreateServer,
    before: set[int],
    ambiguous: AmbiguousCreateError,
    deadline: Deadline,
) -> CreatedServer | None:
    """The server an ambiguous create made, or None when it made none.

    Raises ``AmbiguousCreateError`` with the candidates when several servers fit.
    """
    if deadline.left() <= 0:
        raise ambiguous
    candidates = [
        server
        for server in await _same_named(client, body, deadline)
        if server.id not in before and could_have_made(body, server)
    ]
    if not candidates:
        return None
    if len(candidates) > 1:
        raise AmbiguousCreateError(
            request=body, cause=ambiguous.cause, candidates=tuple(candidates)
        ) from ambiguous
    detail = await client.get_server(candidates[0].id, timeout=deadline.left())
    fields = {a.name: getattr(detail, a.name) for a in attrs.fields(Server)}
    return CreatedServer(**fields, backups_enabled=detail.backups_enabled)


async def _same_named(client: Client, body: CreateServer, deadline: Deadline) -> list[Server]:
    """Every server of ``body``'s location called ``body.name``, listed within ``deadline``."""
    servers = walk(client, deadline, location=body.location)
    return [server async for server in servers if server.name == body.name]
