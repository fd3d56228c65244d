"""What each fleet operation does to one input, and how it reads the API's refusals.

Converging: a refusal that says the server is already where the operation leads (``Server is
already running`` for start, ``not running`` for stop) is success with ``already``; ``busy
(<status>)`` toward the goal is waited for; busy away from it is waited for until the server
settles and then asked again; anything else (``suspended``, reboot's ``not running``) fails
with the API's error. Public through ``vpsorg_async.fleet``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._endpoints import ENDPOINTS
from ._errors import (
    AmbiguousCreateError,
    BadRequestError,
    NotFoundError,
    RequestTimeoutError,
    VPSOrgError,
    WaiterFailedError,
)
from ._fleet import Done, Fail, Op, Run, Settle, Step, Wait
from ._models import CreateServer, Server
from ._poll import Verdict, list_matching
from ._watcher import SWEEP_PAGE_SIZE
from .waiters import DELETED, SETTLES_TO, WAITERS

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


def action_op(name: str) -> Op[int]:
    """start, stop, reboot or delete of servers by id, converging on the API's refusals."""
    rule = WAITERS[TARGETS[name]]

    async def act(run: Run[int], server_id: int) -> Step:
        method = {
            "start": run.client.start_server,
            "stop": run.client.stop_server,
            "reboot": run.client.reboot_server,
            "delete": run.client.delete_server,
        }[name]
        try:
            await run.request(server_id, lambda timeout: method(server_id, timeout=timeout))
        except BadRequestError as exc:
            return refusal(name, rule.target, server_id, exc, wait=run.wait)
        except NotFoundError as exc:
            return Done(already=True) if name == "delete" else Fail(exc)
        return Wait(server_id) if run.wait else Done()

    return Op(name, rule, act)


def create_op(specs: Mapping[str, CreateServer]) -> Op[str]:
    """Create servers by name, create-if-absent: a server that already exists with the same name
    in the same location counts as done (``already``); creates reconcile.

    Both list walks (the first pass, and the lookup before a create is sent again) read the pages
    within the request's timeout, so they end at the fleet's deadline however long the list.
    """
    rule = WAITERS["active"]
    existing: dict[str, Server] = {}
    locations = {spec.location for spec in specs.values()}
    common = locations.pop() if len(locations) == 1 else None

    def wanted(server: Server) -> bool:
        spec = specs.get(server.name)
        return spec is not None and spec.location == server.location

    async def prepare(run: Run[str]) -> None:
        async def sweep(timeout: float) -> list[Server]:
            return await list_matching(
                run.client, wanted, timeout=timeout, location=common, page_size=SWEEP_PAGE_SIZE
            )

        existing.update((server.name, server) for server in await run.request(None, sweep))

    async def act(run: Run[str], name: str) -> Step:
        spec = specs[name]
        found = existing.get(name)
        if found is not None:
            verdict = rule.judge(found)
            if verdict is Verdict.FAILURE:
                return Fail(WaiterFailedError(server=found, target=rule.target), found)
            if run.wait and SETTLES_TO.get(str(found.status)) == rule.target:
                return Wait(found.id, already=True, location=spec.location)
            return Done(found, already=True)
        maybe_created = False
        unknown: VPSOrgError = RequestTimeoutError(
            "an earlier create's outcome is unknown", method=_CREATE.method, path=_CREATE.path
        )

        async def attempt(timeout: float) -> Server:
            nonlocal maybe_created, unknown
            started = run.client.clock()
            if maybe_created:  # an earlier attempt may have created it: look before creating
                again = await list_matching(
                    run.client, lambda server: _made_by(server, spec), timeout=timeout,
                    location=spec.location, page_size=SWEEP_PAGE_SIZE,
                )  # fmt: skip
                if len(again) == 1:  # none was there at the first pass: this is ours
                    return again[0]
                if again:
                    raise AmbiguousCreateError(request=spec, cause=unknown, candidates=tuple(again))
                timeout -= run.client.clock() - started
                if timeout <= 0:
                    raise RequestTimeoutError(
                        "no time was left to create after looking for the server",
                        method=_CREATE.method, path=_CREATE.path, sent=False,
                    )  # fmt: skip
            maybe_created = True
            # Not create_server(reconcile=True): its lookups would walk the location's list
            # before every create. The first pass already knows what existed; this loop looks
            # again only after an unknown outcome.
            try:
                return await run.client.create_server(
                    name=spec.name, plan_id=spec.plan_id, os_id=spec.os_id,
                    location=spec.location, hostname=spec.hostname, ssh_key_id=spec.ssh_key_id,
                    backups_enabled=spec.backups_enabled, timeout=timeout,
                )  # fmt: skip
            except AmbiguousCreateError as exc:
                unknown = exc.cause
                raise

        server = await run.request(name, attempt, also_retry=(AmbiguousCreateError,))
        if run.wait:
            return Wait(server.id, location=spec.location)
        return Done(server)

    return Op("create", rule, act, prepare)


def _made_by(server: Server, spec: CreateServer) -> bool:
    """True when ``server`` has everything ``spec`` asked for (the walk filters the location)."""
    return (
        server.name == spec.name
        and server.plan.id == spec.plan_id
        and server.os.id == spec.os_id
        and server.location == spec.location
    )
