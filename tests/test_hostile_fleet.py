"""Waiters and fleets against hostile loopback servers.

- Every public waiter and fleet call that takes ``timeout=`` ends within ``timeout`` + 0.25 s
  against a list whose ``next`` never ends (its ``count`` one page ahead, or huge), a server
  that never answers, and one that answers slowly (real loopback servers, real time, 0.3 s).
- A fleet against a closed port gives up with ``FleetAbortedError(reason="unreachable")`` within
  about 30 s (fake time), logs a few lines instead of one per attempt, and counts its attempts.
- A TLS certificate that fails verification is never retried, by the client, waiters or fleets.
- A waiter refuses a status the API does not document before anything is sent.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from aiohttp import web
from fleet_helpers import FakeAPI, FakeServer

from vpsorg_async import (
    Client,
    CreateServer,
    FleetAbortedError,
    ResponseDecodeError,
    TLSCertificateError,
    TransportError,
    ValidationError,
    VPSOrgError,
    WaiterTimeoutError,
    fleet,
    waiters,
)
from vpsorg_async._logonce import LogThrottle
from vpsorg_async._policy import DEFAULT_MAX_RETRIES
from vpsorg_async.fleet import UNREACHABLE_AFTER
from vpsorg_async.fleet._reach import Reachability
from vpsorg_async.testing.examples import CREATE_RESPONSE, DETAIL_RESPONSE
from vpsorg_async.waiters import StatusWatcher
from vpsorg_async.waiters._sweep import PageWalk

if TYPE_CHECKING:
    from conftest import Hanging, MakeClient, Serve

    from vpsorg_async.testing import ManualClock

TOKEN = "hostile-fleet-token"
#: Every call's deadline here, and how late it may end (the issue's promise).
TIMEOUT = 0.3
SLACK = 0.25
#: How long the slow mode takes to answer each request.
SLOW = 0.2
#: A status pending for every target: waits never end by success.
PENDING = "rebooting"
MODES = ("endless", "huge", "hang", "slow")


def _server(server_id: int, *, name: str | None = None) -> dict[str, Any]:
    return {
        **DETAIL_RESPONSE,
        "id": server_id,
        "name": name or f"srv-{server_id}",
        "status": PENDING,
    }


class HostileAPI:
    """A loopback API that never lets a wait finish, in one of four ways.

    ``endless``: the list's ``next`` always points to a new page, ``count`` one page ahead;
    ``huge``: the same with a ``count`` of a million; ``hang``: no request is ever answered;
    ``slow``: every answer comes after ``SLOW`` seconds. Servers are always ``rebooting``.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.requests = 0
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.mode == "hang":
            await self.release.wait()
        elif self.mode == "slow":
            await asyncio.sleep(SLOW)
        parts = [part for part in request.path.split("/") if part][2:]  # after /api/v1
        if parts == ["servers"] and request.method == "GET":
            return web.json_response(self._page(request))
        if parts == ["servers"]:
            body = await request.json()
            return web.json_response({**CREATE_RESPONSE, "name": body["name"]}, status=201)
        server_id = int(parts[1])
        if request.method == "DELETE":
            return web.Response(status=204)
        if len(parts) == 3:
            server = {"id": server_id, "name": f"srv-{server_id}", "status": PENDING}
            return web.json_response({"status": "success", "message": "ok", "server": server})
        return web.json_response(_server(server_id))

    def _page(self, request: web.Request) -> dict[str, Any]:
        if self.mode not in ("endless", "huge"):
            return {"count": 3, "next": None, "results": [_server(i) for i in (1, 2, 3)]}
        page = int(request.query.get("page", "1"))
        count = 10**6 if self.mode == "huge" else page + 1
        following = str(request.url.update_query(page=page + 1))
        return {"count": count, "next": following, "results": [_server(100_000 + page)]}


@pytest.fixture(params=MODES)
async def hostile(
    request: pytest.FixtureRequest, serve: Serve
) -> AsyncIterator[tuple[HostileAPI, str]]:
    api = HostileAPI(request.param)
    yield api, await serve(api.handle)
    api.release.set()  # before serve closes the server: no handler is left waiting


Call = Callable[[Client], Awaitable[object]]
BODY = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
CALLS: dict[str, Call] = {
    "wait_for_status": lambda c: waiters.wait_for_status(c, 1, "stopped", timeout=TIMEOUT),
    "wait_until_active": lambda c: waiters.wait_until_active(c, 1, timeout=TIMEOUT),
    "wait_until_deleted": lambda c: waiters.wait_until_deleted(c, 1, timeout=TIMEOUT),
    "wait_many": lambda c: waiters.wait_many(c, [1, 2, 3], "active", timeout=TIMEOUT),
    "wait_many-coalesce": lambda c: waiters.wait_many(
        c, [1, 2, 3], "active", timeout=TIMEOUT, coalesce=True
    ),
    "wait_many-get": lambda c: waiters.wait_many(
        c, [1, 2, 3], "active", timeout=TIMEOUT, coalesce=False
    ),
    "fleet.stop": lambda c: fleet.stop(c, [1, 2, 3], wait=True, timeout=TIMEOUT),
    "fleet.stop-one": lambda c: fleet.stop(c, [1], wait=True, timeout=TIMEOUT),
    "fleet.start-no-wait": lambda c: fleet.start(c, [1, 2], wait=False, timeout=TIMEOUT),
    "fleet.reboot-coalesce": lambda c: fleet.reboot(
        c, [1, 2], wait=True, timeout=TIMEOUT, coalesce=True
    ),
    "fleet.delete": lambda c: fleet.delete(c, [1, 2, 3], wait=True, timeout=TIMEOUT),
    "fleet.create": lambda c: fleet.create(c, [BODY], wait=True, timeout=TIMEOUT),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_every_timeout_holds_against_a_hostile_server(
    name: str, hostile: tuple[HostileAPI, str]
) -> None:
    api, base_url = hostile
    async with Client(TOKEN, base_url=base_url) as client:
        started = time.monotonic()
        try:
            outcome = await CALLS[name](client)
        except VPSOrgError as exc:
            outcome = exc
        elapsed = time.monotonic() - started
    assert elapsed <= TIMEOUT + SLACK, f"{name} in {api.mode} mode took {elapsed:.2f} s"
    assert api.requests > 0
    if isinstance(outcome, fleet.FleetResult):
        assert len(outcome.outcomes) == outcome.total  # nothing lost, even at the deadline


# -- pieces, on fake time --------------------------------------------------------------------


def test_a_page_walk_stops_at_its_deadline_and_past_its_count() -> None:
    page = {"count": 2, "next": "http://127.0.0.1/api/v1/servers/?page=2", "results": []}
    from vpsorg_async._convert import decode
    from vpsorg_async._models import ServerList

    first = decode({**page, "results": [_server(1)]}, ServerList)
    walk = PageWalk(deadline=10.0, cap=60.0)
    assert walk.timeout(10.0) == pytest.approx(0.05)  # the first page is the one last look
    assert walk.more(first)
    assert walk.timeout(9.0) == 1.0
    assert walk.timeout(10.0) is None  # later pages never start at the deadline
    assert walk.more(first)
    assert walk.more(first)
    with pytest.raises(ResponseDecodeError, match="past the 2 servers its count promises"):
        walk.more(first)


def test_reachability_counts_only_connect_failures_with_no_answer_between() -> None:
    now = [0.0]
    reach = Reachability(lambda: now[0], window=20)
    refused = TransportError("cannot connect", method="GET", path="/servers/", sent=False)
    timed_out = TransportError("cut", method="GET", path="/servers/")
    assert not reach.observe(refused)
    now[0] = 19
    assert not reach.observe(timed_out)  # neither counts nor resets
    now[0] = 20
    assert reach.observe(refused)
    assert reach.last is refused
    assert not reach.observe(None)  # an answer: reachable again
    now[0] = 45
    assert not reach.observe(refused)


def test_a_log_throttle_lets_one_line_through_per_interval_and_tells_what_it_held(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    throttle = LogThrottle(lambda: now[0], interval=10)
    log = logging.getLogger("vpsorg_async")
    with caplog.at_level(logging.INFO, logger="vpsorg_async"):
        for second in range(25):
            now[0] = second
            throttle.log(log, logging.WARNING, "same", "failed %d", second)
        throttle.log(log, logging.WARNING, "other", "other")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "failed 0",
        "failed 10 (9 more like it in the last 10 s)",
        "failed 20 (9 more like it in the last 10 s)",
        "other",
    ]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="vpsorg_async"):
        throttle.log(log, logging.WARNING, "other", "held back")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.DEBUG, "held back")]
    with caplog.at_level(logging.ERROR, logger="vpsorg_async"):
        throttle.log(log, logging.WARNING, "quiet", "not logged at all")
    assert "not logged at all" not in caplog.text


# -- a dead API ------------------------------------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_fleet_gives_up_on_an_unreachable_api_in_seconds(
    make_client: MakeClient,
    fake_time: ManualClock,
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}/api/v1")
    started = fake_time.now
    with caplog.at_level(logging.INFO, logger="vpsorg_async.http"):
        result = await fleet.stop(client, [1, 2, 3], wait=True)  # the default 900 s deadline
    took = fake_time.now - started
    assert UNREACHABLE_AFTER <= took <= 32  # "within about 30 s", not 15 minutes
    assert len(result.outcomes) == 3
    for outcome in result.outcomes.values():
        error = outcome.error
        assert isinstance(error, FleetAbortedError)
        assert error.reason == "unreachable"
        assert isinstance(error.cause, TransportError)
        assert not error.cause.sent
        assert "could not be reached" in str(error)
        attempts = int(next(n for n in error.__notes__ if "attempts" in n).split()[0])
        assert attempts > client_attempts_per_call(client)
    # one retry line per (endpoint, error, retry number) per 10 s, not one per attempt
    assert 0 < len(caplog.records) <= 2 * 4


def client_attempts_per_call(client: Client) -> int:
    return DEFAULT_MAX_RETRIES + 1  # the clients here keep the default


async def test_a_fleet_that_gives_up_at_its_deadline_counts_every_attempt(
    make_client: MakeClient, fake_time: ManualClock, closed_port: int
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}/api/v1")
    result = await fleet.start(client, [7], wait=False, timeout=10)  # less than the window
    error = result.outcomes[7].error
    assert isinstance(error, TransportError)
    assert error.attempts > client_attempts_per_call(client)
    assert any(f"{error.attempts} attempts in" in note for note in error.__notes__)


async def test_unreachable_during_the_first_list_pass_of_create(
    make_client: MakeClient, fake_time: ManualClock, closed_port: int
) -> None:
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}/api/v1")
    result = await fleet.create(client, [BODY])
    error = result.outcomes["web-1"].error
    assert isinstance(error, FleetAbortedError)
    assert (error.reason, error.stage) == ("unreachable", "queued")  # nothing was created


async def test_a_deadline_during_the_first_list_pass_fails_every_input_as_timed_out(
    make_client: MakeClient, fake_time: ManualClock, closed_port: int
) -> None:
    client = make_client(
        base_url=f"http://127.0.0.1:{closed_port}/api/v1",
        max_retries=0,
        sleep=lambda seconds: fake_time.sleep(seconds + 5.0),  # the first sleep passes the deadline
    )
    result = await fleet.create(client, [BODY], timeout=1)
    assert fake_time.now - 1000.0 <= 1 + 5 + 1
    error = result.outcomes["web-1"].error
    assert isinstance(error, FleetAbortedError)
    assert (error.reason, error.stage) == ("timeout", "queued")  # returned, not raised


# -- TLS certificates ------------------------------------------------------------------------


@pytest.fixture
async def tls_base_url(serve_tls: Serve) -> tuple[str, list[int]]:
    seen: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(1)
        return web.json_response(_server(1))

    return await serve_tls(answer), seen


async def test_a_bad_certificate_is_not_retried_by_client_waiters_or_fleets(
    make_client: MakeClient, fake_time: ManualClock, tls_base_url: tuple[str, list[int]]
) -> None:
    base_url, seen = tls_base_url
    client = make_client(base_url=base_url)
    with pytest.raises(TLSCertificateError) as caught:
        await client.get_server(1)
    assert caught.value.attempts == 1
    assert not caught.value.sent
    with pytest.raises(TLSCertificateError):
        await waiters.wait_until_active(client, 1)
    results = await waiters.wait_many(client, [1, 2], "active", coalesce=False)
    assert all(isinstance(r.error, TLSCertificateError) for r in results.values())
    result = await fleet.stop(client, [1, 2], wait=True)
    assert all(isinstance(o.error, TLSCertificateError) for o in result.outcomes.values())
    assert fake_time.sleeps == []  # nothing was retried, nothing waited for
    assert seen == []


async def test_a_bad_certificate_ends_a_sweep_in_per_server_errors(
    make_client: MakeClient, fake_time: ManualClock, tls_base_url: tuple[str, list[int]]
) -> None:
    client = make_client(base_url=tls_base_url[0])
    results = await waiters.wait_many(client, [1, 2], "active", coalesce=None)
    assert all(isinstance(r.error, TLSCertificateError) for r in results.values())


# -- statuses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: waiters.wait_for_status(c, 1, "Active"),
        lambda c: waiters.wait_for_status(c, 1, "active", failure_statuses=["Stopped"]),
        lambda c: waiters.wait_many(c, [1], "bogus"),
        lambda c: waiters.wait_many(c, [1], cast(Any, 5)),
    ],
)
async def test_undocumented_statuses_are_refused_before_anything_is_sent(
    make_client: MakeClient, hanging: Hanging, call: Call
) -> None:
    client = make_client(base_url=hanging.base_url)
    with pytest.raises(ValidationError, match="must be one of"):
        await call(client)
    assert hanging.counts == {}


async def test_documented_statuses_and_the_enum_still_work() -> None:
    assert waiters.rule_for("suspended").success == {"suspended"}
    assert waiters.rule_for(waiters.DELETED).target == waiters.DELETED
    with pytest.raises(ValidationError, match="failure_statuses"):
        waiters.rule_for("active", [waiters.DELETED])


async def test_a_watcher_reports_every_request_to_its_observer(
    make_client: MakeClient, hanging: Hanging
) -> None:
    seen: list[object] = []
    client = make_client(base_url=hanging.base_url)
    async with StatusWatcher(client, on_poll=seen.append) as watcher:
        with pytest.raises(VPSOrgError):
            await watcher.wait(1, waiters.WAITERS["active"], timeout=0.01)
    assert seen
    assert all(isinstance(error, TransportError) for error in seen)


# -- a tick's requests end at the deadline (fake time, exact counts) ---------------------------


async def test_a_sweep_stops_paging_at_the_deadline() -> None:
    api = FakeAPI(request_time=2.0, page_size=1)
    api.add(*(FakeServer(i, "starting") for i in range(1, 11)))
    results = await waiters.wait_many(
        api.client,
        range(1, 11),
        "active",
        timeout=3,
        coalesce=True,
        poll_interval=60,
        max_poll_interval=60,
    )
    assert api.calls == {"list": 2}  # pages at t = 0 and 2; the third would start at 4 > 3
    assert all(isinstance(r.error, WaiterTimeoutError) for r in results.values())


async def test_gets_queued_past_the_deadline_are_not_made() -> None:
    api = FakeAPI(request_time=1.0)
    api.add(*(FakeServer(i, "starting") for i in (1, 2, 3)))
    results = await waiters.wait_many(
        api.client, [1, 2, 3], "active", timeout=0.5, coalesce=False, concurrency=1
    )
    assert api.calls == {"get": 1}  # the first GET ended at t = 1, past the 0.5 s deadline
    assert api.timeouts == [0.5]
    assert all(isinstance(r.error, WaiterTimeoutError) for r in results.values())
