"""What each fleet operation does to one input, and how it reads the API's refusals.

Converging: a refusal that says the server is already where the operation leads (``Server is
already running`` for start, ``not running`` for stop) is success with ``already``; ``busy
(<status>)`` toward the goal is waited for; busy away from it is waited for until the server
settles and then asked again; anything else (``suspended``, reboot's ``not running``) fails
with the API's error. Each operation is built for one call (its client, ``wait``, its inputs)
and makes its requests only through the :class:`~._steps.Request` the runner hands it.

``create`` holds each name's :class:`~vpsorg_async._seams.CreateLock` from before its lookup
(the one list pass) until the outcome of that name's create is known, so that two creators of
one name (two fleets, or fleets in several processes sharing a lock) never both create it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

from .. import _policy as policy
from .._endpoints import ENDPOINTS
from .._errors import (
    AmbiguousCreateError,
    BadRequestError,
    NotFoundError,
    RequestTimeoutError,
    VPSOrgError,
    WaiterFailedError,
)
from .._models import CreateServer, Server, could_have_made
from .._seams import CreateLock
from ..waiters import DELETED, SETTLES_TO, WAITERS
from ..waiters._rules import Verdict
from ..waiters._sweep import list_matching
from ._outcome import FleetAbortedError
from ._steps import Done, Fail, Op, Request, Settle, Step, Wait

if TYPE_CHECKING:
    from .._client import Client

__all__ = ["REFUSALS", "TARGETS", "action_op", "create_op", "refusal"]

#: How the API's 400 refusals read (phrases of ``detail``), and what a fleet makes of them.
ALREADY, FAIL = "already", "fail"
REFUSALS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "start": (("already running", ALREADY),),
    "stop": (("not running", ALREADY),),
    "reboot": (("not running", FAIL),),
}
_CREATE = ENDPOINTS["create_server"]
_BUSY = re.compile(r"\bbusy \((?P<status>[\w-]+)\)", re.IGNORECASE)


def refusal(
    operation: str, target: str, server_id: int, error: BadRequestError, *, wait: bool
) -> Step:
    """What the API's 400 refusal of ``operation`` on ``server_id`` means for the input."""
    detail = (error.detail or "").lower()
    for phrase, reaction in REFUSALS.get(operation, ()):
        if phrase in detail:
            if reaction == ALREADY:
                return Wait(server_id, already=True) if wait else Done(already=True)
            return Fail(error)
    busy = _BUSY.search(detail)
    if busy is not None:
        settles = SETTLES_TO.get(busy["status"].lower())
        if settles == target:  # on its way to the goal already: just wait
            return Wait(server_id) if wait else Done()
        if settles is not None:
            return Settle(server_id, settles)
    return Fail(error)


#: Each action and the status it leads to (delete: the server's absence).
TARGETS: Mapping[str, str] = {
    "start": "active",
    "stop": "stopped",
    "reboot": "active",
    "delete": DELETED,
}


def action_op(client: Client, name: str, *, wait: bool) -> Op[int]:
    """start, stop, reboot or delete of servers by id, converging on the API's refusals."""
    rule = WAITERS[TARGETS[name]]
    method = {
        "start": client.start_server,
        "stop": client.stop_server,
        "reboot": client.reboot_server,
        "delete": client.delete_server,
    }[name]

    async def act(server_id: int, request: Request) -> Step:
        try:
            await request(lambda timeout: method(server_id, timeout=timeout))
        except BadRequestError as exc:
            return refusal(name, rule.target, server_id, exc, wait=wait)
        except NotFoundError as exc:
            return Done(already=True) if name == "delete" else Fail(exc)
        return Wait(server_id) if wait else Done()

    return Op(name, rule, act)


def create_op(
    client: Client, specs: Mapping[str, CreateServer], *, wait: bool, locks: CreateLock
) -> Op[str]:
    """Create servers by name, create-if-absent: a server that already exists with the same name
    in the same location counts as done (``already``); creates reconcile.

    Both list walks (the first pass, and the lookup before a create is sent again) read the pages
    within the request's timeout, so they end at the fleet's deadline however long the list.
    """
    rule = WAITERS["active"]
    existing: dict[str, Server] = {}
    held: dict[str, contextlib.AbstractAsyncContextManager[None]] = {}
    locations = {spec.location for spec in specs.values()}
    common = locations.pop() if len(locations) == 1 else None

    def wanted(server: Server) -> bool:
        spec = specs.get(server.name)
        return spec is not None and spec.location == server.location

    async def release(name: str) -> None:
        lock = held.pop(name, None)
        if lock is not None:
            await lock.__aexit__(None, None, None)

    @contextlib.asynccontextmanager
    async def prepare(request: Request, deadline: float) -> AsyncIterator[None]:
        try:
            for name in sorted(specs):  # one order for every creator: none waits on another
                lock = locks.hold(name, timeout=max(deadline - client.clock(), 0.0))
                try:
                    await lock.__aenter__()
                except TimeoutError:
                    raise FleetAbortedError(reason="timeout", stage="queued") from None
                held[name] = lock

            async def sweep(timeout: float) -> list[Server]:
                return await list_matching(
                    client,
                    wanted,
                    timeout=timeout,
                    location=common,
                    page_size=policy.SWEEP_PAGE_SIZE,
                )

            existing.update((server.name, server) for server in await request(sweep))
            yield
        finally:
            for name in list(held):
                await release(name)

    async def act(name: str, request: Request) -> Step:
        try:
            return await create(name, request)
        finally:
            await release(name)  # its outcome is known: others may decide on the name now

    async def create(name: str, request: Request) -> Step:
        spec = specs[name]
        found = existing.get(name)
        if found is not None:
            verdict = rule.judge(found)
            if verdict is Verdict.FAILURE:
                return Fail(WaiterFailedError(server=found, target=rule.target), found)
            if wait and SETTLES_TO.get(str(found.status)) == rule.target:
                return Wait(found.id, already=True, location=spec.location)
            return Done(found, already=True)
        maybe_created = False
        unknown: VPSOrgError = RequestTimeoutError(
            "an earlier create's outcome is unknown", method=_CREATE.method, path=_CREATE.path
        )

        async def attempt(timeout: float) -> Server:
            nonlocal maybe_created, unknown
            started = client.clock()
            if maybe_created:  # an earlier attempt may have created it: look before creating
                again = await list_matching(
                    client,
                    lambda server: could_have_made(spec, server),
                    timeout=timeout,
                    location=spec.location,
                    page_size=policy.SWEEP_PAGE_SIZE,
                )
                if len(again) == 1:  # none was there at the first pass: this is ours
                    return again[0]
                if again:
                    raise AmbiguousCreateError(request=spec, cause=unknown, candidates=tuple(again))
                timeout -= client.clock() - started
                if timeout <= 0:
                    raise RequestTimeoutError(
                        "no time was left to create after looking for the server",
                        method=_CREATE.method,
                        path=_CREATE.path,
                        sent=False,
                    )
            maybe_created = True
            # Not create_server(reconcile=True): its lookups would walk the location's list
            # before every create. The first pass already knows what existed; this loop looks
            # again only after an unknown outcome.
            try:
                return await client.create_server(
                    name=spec.name,
                    plan_id=spec.plan_id,
                    os_id=spec.os_id,
                    location=spec.location,
                    hostname=spec.hostname,
                    ssh_key_id=spec.ssh_key_id,
                    backups_enabled=spec.backups_enabled,
                    timeout=timeout,
                )
            except AmbiguousCreateError as exc:
                unknown = exc.cause
                raise

        server = await request(attempt, also_retry=(AmbiguousCreateError,))
        if wait:
            return Wait(server.id, location=spec.location)
        return Done(server)

    return Op("create", rule, act, prepare)
