"""The client core against servers that misbehave on purpose (issue 10).

- A loopback API whose list never stops paging, that never answers, or answers slowly: every
  Client call given ``timeout=`` returns or raises within ``timeout + SLACK``.
- A raw HTTP server that leaves a stray answer on an idle kept-alive connection: the answer is
  matched to its request, and the poisoned connection is dropped.
- Reconcile never adopts a server that existed before the create, or one it cannot tell apart.
- Edge inputs: infinite timeouts, int subclasses as ids, a 429 pause past the deadline,
  undocumented statuses, userinfo in URLs, control characters in the User-Agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
import traceback
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from copy import deepcopy
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from vpsorg_async import (
    AmbiguousCreateError,
    Client,
    ConfigurationError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerStatus,
    ValidationError,
    VPSOrgError,
)
from vpsorg_async.testing import Faults, Simulator, examples

if TYPE_CHECKING:
    from conftest import MakeClient, Serve

    from vpsorg_async.testing import ManualClock

BASE = "https://admin.vps.org/api/v1"
LIST = BASE + "/servers/"
ITEM = BASE + "/servers/{}/"
#: How far past its timeout a call may end (the issue's promise).
SLACK = 0.25
#: A short timeout for calls against the loopback servers; the whole module stays quick.
TIMEOUT = 0.3
#: A test that would hang on broken code fails after this instead.
GUARD = 5.0


def listed(id_: int, name: str = "web-server-02", **changes: Any) -> dict[str, Any]:
    """A list entry like the API document's, with the given id and name (plan 1, OS 5, us-west)."""
    item: dict[str, Any] = deepcopy(examples.LIST_RESPONSE["results"][0])
    item.update(id=id_, name=name, **changes)
    return item


def page(
    results: list[dict[str, Any]], next_url: str | None = None, count: int | None = None
) -> dict[str, Any]:
    return {
        "count": len(results) if count is None else count,
        "results": results,
        "next": next_url,
        "previous": None,
    }


def detail(id_: int, **changes: Any) -> dict[str, Any]:
    body = deepcopy(examples.DETAIL_RESPONSE)
    body.update(id=id_, **changes)
    return body


# --- a hostile loopback API ------------------------------------------------------------------------


class Hostile:
    """An API on 127.0.0.1 that misbehaves as ``mode`` says.

    ``endless``: the list's ``next`` always points to a fresh page (its ``count`` promises a
    million servers); ``hang``: nothing is ever answered; ``slow``: each answer takes
    ``delay`` seconds, and the list pages on forever; ``after_create``: the list is one
    page until a create arrives, endless from then on. A create acts, then cuts the connection.
    """

    def __init__(self) -> None:
        self.mode = "endless"
        self.delay = 0.2
        self.base_url = ""
        self.pages = 0
        self.creates = 0
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.mode == "hang":
            await self.release.wait()
        if self.mode == "slow":
            await asyncio.sleep(self.delay)
        path = request.path.removeprefix("/api/v1")
        if request.method == "POST" and path == "/servers/":
            self.creates += 1
            if request.transport is not None:
                request.transport.abort()  # acted, then the answer is lost
            return web.Response(status=201)
        if request.method == "GET" and path == "/servers/":
            return self.list_page(int(request.query.get("page", "1")))
        found = re.fullmatch(r"/servers/(\d+)/(\w+/)?", path)
        server_id = int(found[1]) if found else 1
        if found and found[2]:
            answer = deepcopy(examples.START_RESPONSE)
            answer["server"]["id"] = server_id
            return web.json_response(answer)
        if request.method == "DELETE":
            return web.Response(status=204)
        return web.json_response(detail(server_id))

    def list_page(self, number: int) -> web.Response:
        if self.mode == "after_create" and not self.creates and number == 1:
            return web.json_response(page([listed(1, "stranger")]))
        self.pages += 1
        following = f"{self.base_url}/servers/?page={number + 1}"
        return web.json_response(page([listed(number, f"s-{number}")], following, count=10**6))


@pytest.fixture
async def hostile(serve: Serve) -> AsyncIterator[Hostile]:
    api = Hostile()
    api.base_url = await serve(api.handle)
    yield api
    api.release.set()


async def _drain(servers: AsyncIterator[Any], into: list[int] | None = None) -> None:
    async for server in servers:
        if into is not None:
            into.append(server.id)


Call = Callable[[Client, float], Awaitable[Any]]
#: Every Client call that takes ``timeout=``, by name.
CALLS: dict[str, Call] = {
    "list_servers": lambda c, t: c.list_servers(timeout=t),
    "iter_servers": lambda c, t: _drain(c.iter_servers(timeout=t)),
    "find_server": lambda c, t: c.find_server(name="nowhere", timeout=t),
    "create_server": lambda c, t: c.create_server(**examples.CREATE_REQUEST, timeout=t),
    "create_reconciled": lambda c, t: c.create_server(
        **examples.CREATE_REQUEST, reconcile=True, timeout=t
    ),
    "get_server": lambda c, t: c.get_server(1, timeout=t),
    "update_server": lambda c, t: c.update_server(
        1, name="a", hostname="a.example.com", backups_enabled=False, timeout=t
    ),
    "patch_server": lambda c, t: c.patch_server(1, name="a", timeout=t),
    "delete_server": lambda c, t: c.delete_server(1, timeout=t),
    "start_server": lambda c, t: c.start_server(1, timeout=t),
    "stop_server": lambda c, t: c.stop_server(1, timeout=t),
    "reboot_server": lambda c, t: c.reboot_server(1, timeout=t),
}
WALKS = ("iter_servers", "find_server", "create_reconciled")


async def _timed(api: Hostile, call: Call) -> tuple[float, BaseException | None]:
    """Run ``call`` on a fresh client against ``api``; its real duration and what it raised."""
    async with Client("t0k3n", base_url=api.base_url) as client:
        started = time.monotonic()
        try:
            await asyncio.wait_for(call(client, TIMEOUT), GUARD)
        except VPSOrgError as exc:
            return time.monotonic() - started, exc
        return time.monotonic() - started, None


@pytest.mark.parametrize(
    ("mode", "name"),
    [("hang", name) for name in CALLS]
    + [("endless", name) for name in WALKS]
    + [("slow", name) for name in (*WALKS, "get_server")],
)
async def test_every_call_ends_by_its_timeout(hostile: Hostile, mode: str, name: str) -> None:
    hostile.mode = mode
    elapsed, raised = await _timed(hostile, CALLS[name])
    assert elapsed <= TIMEOUT + SLACK, f"{name} ran {elapsed:.2f} s against a {mode} API"
    if mode != "slow" or name in WALKS:
        assert raised is not None


async def test_a_walk_has_one_deadline_not_one_per_page(hostile: Hostile) -> None:
    hostile.mode = "slow"
    hostile.delay = TIMEOUT / 3  # each page well within the timeout; the walk is not
    elapsed, raised = await _timed(hostile, CALLS["iter_servers"])
    assert isinstance(raised, RequestTimeoutError)
    assert elapsed <= TIMEOUT + SLACK
    assert hostile.pages <= 4


async def test_reconcile_after_a_lost_answer_ends_by_its_deadline(hostile: Hostile) -> None:
    # the create acts and its answer is lost; the lookup then meets an endless list
    hostile.mode = "after_create"
    elapsed, raised = await _timed(hostile, CALLS["create_reconciled"])
    assert isinstance(raised, AmbiguousCreateError)  # it may exist: never a plain timeout
    assert hostile.creates == 1
    assert elapsed <= TIMEOUT + SLACK


# --- walks on fake time ----------------------------------------------------------------------------


def endless_pages(
    mocked: aioresponses, fake_time: ManualClock | None = None, count: int = 10**6
) -> list[int]:
    """Mock a list whose next link never ends; each page costs a second of fake time."""
    served: list[int] = []

    def answer(url: URL, **kwargs: Any) -> CallbackResult:
        number = int(url.query.get("page", "1"))
        served.append(number)
        if len(served) > 200:
            raise AssertionError("the walk does not stop")
        if fake_time is not None:
            fake_time.advance(1.0)
        nxt = f"{LIST}?page={number + 1}"
        return CallbackResult(payload=page([listed(number)], nxt, count=count))

    mocked.get(re.compile(re.escape(LIST) + r".*"), callback=answer, repeat=True)
    return served


async def test_iter_servers_timeout_bounds_the_whole_walk(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    served = endless_pages(mocked, fake_time)
    with pytest.raises(RequestTimeoutError, match="walk's 5 s deadline passed after 5 page"):
        await _drain(client.iter_servers(timeout=5))
    assert len(served) == 5


async def test_find_server_stops_at_its_deadline(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    served = endless_pages(mocked, fake_time)
    with pytest.raises(RequestTimeoutError):
        await client.find_server(name="nowhere", timeout=3)
    assert len(served) == 3


async def test_a_walk_past_the_promised_count_is_refused(
    mocked: aioresponses, client: Client
) -> None:
    served = endless_pages(mocked, count=2)
    with pytest.raises(ResponseDecodeError, match="more than the count of 2"):
        await _drain(client.iter_servers())
    assert len(served) == 2 + 100 + 1  # LIST_COUNT_SLACK servers more than promised, one a page


async def test_max_pages_caps_a_walk(mocked: aioresponses, client: Client) -> None:
    served = endless_pages(mocked)
    seen: list[int] = []
    with pytest.raises(ResponseDecodeError, match="past 3 pages"):
        await _drain(client.iter_servers(max_pages=3), into=seen)
    assert seen == served == [1, 2, 3]


async def test_max_pages_is_validated(client: Client) -> None:
    with pytest.raises(ValidationError, match="max_pages"):
        await _drain(client.iter_servers(max_pages=0))


# --- answers matched to requests -------------------------------------------------------------------


class StrayAnswers:
    """A raw HTTP/1.1 server on 127.0.0.1 that answers each request about the server it names.

    After the first answer on each connection it writes one more, unasked, about server 666:
    the stray answer waits on the idle kept-alive connection for the next request sent on it.
    """

    STRAY = 666

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.base_url = ""

    @staticmethod
    def answer(method: str, path: str, server_id: int) -> bytes:
        if path.rstrip("/").count("/") > 4:  # /api/v1/servers/{id}/{verb}/
            body: dict[str, Any] = deepcopy(examples.START_RESPONSE)
            body["server"]["id"] = server_id
        else:
            body = detail(server_id)
        data = json.dumps(body).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
        return head.encode() + b"\r\n\r\n" + data

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        first = True
        try:
            while line := await reader.readline():
                method, path, _ = line.decode().split(" ", 2)
                length = 0
                while (header := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                writer.write(self.answer(method, path, int(path.split("/")[4])))
                await writer.drain()
                if first:
                    first = False
                    await asyncio.sleep(0.1)  # the client has put the connection back by now
                    writer.write(self.answer(method, path, self.STRAY))
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> StrayAnswers:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/api/v1"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _no_wait(_delay: float) -> None:
    await asyncio.sleep(0)


EchoCall = Callable[[Client, int], Awaitable[Any]]
ECHOES: dict[str, tuple[EchoCall, Callable[[Any], int]]] = {
    "get_server": (lambda c, i: c.get_server(i), lambda r: int(r.id)),
    "update_server": (
        lambda c, i: c.update_server(i, name="a", hostname="a.example.com", backups_enabled=True),
        lambda r: int(r.id),
    ),
    "patch_server": (lambda c, i: c.patch_server(i, name="a"), lambda r: int(r.id)),
    "start_server": (lambda c, i: c.start_server(i), lambda r: int(r.server.id)),
    "stop_server": (lambda c, i: c.stop_server(i), lambda r: int(r.server.id)),
    "reboot_server": (lambda c, i: c.reboot_server(i), lambda r: int(r.server.id)),
}


@pytest.mark.parametrize("name", ECHOES)
async def test_a_stray_answer_is_refused_and_its_connection_dropped(name: str) -> None:
    call, echoed = ECHOES[name]
    async with StrayAnswers() as api, Client("t0k3n", base_url=api.base_url, max_retries=0) as c:
        assert echoed(await asyncio.wait_for(call(c, 1), GUARD)) == 1
        await asyncio.sleep(0.25)  # the stray answer arrives on the idle connection
        with pytest.raises(ResponseDecodeError) as info:
            await asyncio.wait_for(call(c, 2), GUARD)
        assert "666" in str(info.value)
        assert "2" in str(info.value)
        assert api.connections == 1
        # the poisoned connection is gone: the next call opens another and gets its own answer
        assert echoed(await asyncio.wait_for(call(c, 3), GUARD)) == 3
        assert api.connections == 2


async def test_a_stray_answer_is_retried_on_a_fresh_connection() -> None:
    async with (
        StrayAnswers() as api,
        Client("t0k3n", base_url=api.base_url, sleep=_no_wait) as client,
    ):
        assert (await asyncio.wait_for(client.get_server(1), GUARD)).id == 1
        await asyncio.sleep(0.25)
        assert (await asyncio.wait_for(client.get_server(2), GUARD)).id == 2
        assert (await asyncio.wait_for(client.get_server(3), GUARD)).id == 3


# --- reconcile never adopts a stranger -------------------------------------------------------------


@pytest.mark.parametrize(("plan_id", "os_id"), [(2, 7), (1, 5)], ids=["other-spec", "same-spec"])
async def test_reconcile_never_adopts_a_server_that_existed_before(
    plan_id: int, os_id: int
) -> None:
    faults = Faults(drop_after_rate=1.0, endpoints=["create_server"])
    async with Simulator(faults=faults) as sim:
        old = sim.add_server(name="api-server-01", plan_id=1, os_id=5, location="us-west")["id"]
        async with Client(sim.token, base_url=sim.url, sleep=_no_wait) as client:
            created = await client.create_server(
                name="api-server-01",
                plan_id=plan_id,
                os_id=os_id,
                location="us-west",
                reconcile=True,
                timeout=10,
            )
        assert created.id != old
        assert (created.plan.id, created.os.id) == (plan_id, os_id)
        same_name = [s["id"] for s in sim.servers if s["name"] == "api-server-01"]
        assert sorted(same_name) == sorted([old, created.id])  # one create, nothing lost


async def test_reconcile_raises_with_the_candidates_when_it_cannot_tell(
    mocked: aioresponses, client: Client
) -> None:
    mocked.get(LIST + "?location=us-west", payload=page([]))
    mocked.post(LIST, status=503)
    mocked.get(LIST + "?location=us-west", payload=page([listed(7), listed(8)]))
    with pytest.raises(AmbiguousCreateError) as info:
        await client.create_server(**examples.CREATE_REQUEST, reconcile=True)
    assert [c.id for c in info.value.candidates] == [7, 8]
    assert "7, 8" in str(info.value)
    assert len(mocked.requests[("POST", URL(LIST))]) == 1


async def test_reconcile_ignores_a_new_namesake_of_another_spec(
    mocked: aioresponses, client: Client
) -> None:
    # someone else made a server of that name (another plan) while our create's answer was lost
    stranger = listed(9, plan={**examples.LIST_RESPONSE["results"][0]["plan"], "id": 3})
    posts: list[int] = []

    def lookup(url: URL, **kwargs: Any) -> CallbackResult:
        return CallbackResult(payload=page([stranger] if posts else []))

    def create(url: URL, **kwargs: Any) -> CallbackResult:
        posts.append(1)
        if len(posts) == 1:
            return CallbackResult(status=503)
        return CallbackResult(status=201, payload=examples.CREATE_RESPONSE)

    mocked.get(LIST + "?location=us-west", callback=lookup, repeat=True)
    mocked.post(LIST, callback=create, repeat=True)
    created = await client.create_server(**examples.CREATE_REQUEST, reconcile=True)
    assert created.id == examples.CREATE_RESPONSE["id"]
    assert len(posts) == 2


async def test_reconcile_whose_deadline_passes_during_the_create_stays_ambiguous(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    def slow_failure(url: URL, **kwargs: Any) -> CallbackResult:
        fake_time.advance(10)
        return CallbackResult(status=503)

    mocked.get(LIST + "?location=us-west", payload=page([]), repeat=True)
    mocked.post(LIST, callback=slow_failure, repeat=True)
    with pytest.raises(AmbiguousCreateError):  # it may exist: never a plain timeout
        await client.create_server(**examples.CREATE_REQUEST, reconcile=True, timeout=5)
    assert len(mocked.requests[("GET", URL(LIST + "?location=us-west"))]) == 1  # before only


def test_ambiguous_create_error_has_no_candidates_by_default() -> None:
    from vpsorg_async import CreateServer, TransportError

    body = CreateServer(**examples.CREATE_REQUEST)
    cause = TransportError("cut", method="POST", path="/servers/")
    assert AmbiguousCreateError(request=body, cause=cause).candidates == ()


# --- edge inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("forever", [math.inf, 1e308, 10**400])
async def test_an_infinite_timeout_is_no_deadline(
    mocked: aioresponses, make_client: MakeClient, forever: float
) -> None:
    mocked.get(ITEM.format(1), payload=detail(1), repeat=True)
    mocked.get(LIST, payload=page([listed(1)]), repeat=True)
    client = make_client(timeout=forever)
    assert client.timeout == math.inf or client.timeout == forever
    assert (await client.get_server(1)).id == 1
    other = make_client()
    assert (await other.get_server(1, timeout=forever)).id == 1
    assert [s.id async for s in other.iter_servers(timeout=forever)] == [1]


@pytest.mark.parametrize("bad", [math.nan, -math.inf, 0, -1, "5", True])
async def test_a_bad_timeout_is_refused(make_client: MakeClient, bad: Any) -> None:
    with pytest.raises(ValidationError, match="timeout"):
        make_client(timeout=bad)
    with pytest.raises(ValidationError, match="timeout"):
        await make_client().get_server(1, timeout=bad)


class Sneaky(int):
    """An int that formats, converts and compares as something else."""

    def __format__(self, spec: str) -> str:
        return "../../admin"

    def __int__(self) -> int:
        return 999

    def __str__(self) -> str:
        return "../../admin"

    def __le__(self, other: object) -> bool:
        return False


async def test_an_int_subclass_id_is_used_by_its_value(
    mocked: aioresponses, client: Client
) -> None:
    mocked.get(ITEM.format(5), payload=detail(5))
    mocked.get(LIST + "?page=2&page_size=3", payload=page([]))
    assert (await client.get_server(Sneaky(5))).id == 5
    await client.list_servers(page=Sneaky(2), page_size=Sneaky(3))
    assert set(mocked.requests) == {
        ("GET", URL(ITEM.format(5))),
        ("GET", URL(LIST + "?page=2&page_size=3")),
    }
    with pytest.raises(ValidationError):
        await client.get_server(Sneaky(-1))


async def test_a_call_refused_by_a_long_pause_raises_rate_limit_error(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    mocked.get(ITEM.format(1), status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimitError):
        await client.get_server(1, timeout=5)
    fake_time.advance(10)
    with pytest.raises(RateLimitError) as info:
        await client.get_server(2, timeout=5)
    error = info.value
    assert error.sent is False
    assert error.status == 429
    assert error.attempts == 0
    assert error.retry_after == pytest.approx(20)
    assert "not sent" in str(error)
    assert "answered" not in str(error)
    assert len(mocked.requests) == 1  # nothing was sent for the second call


async def test_a_pace_alone_past_the_deadline_is_still_a_timeout(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    mocked.get(ITEM.format(1), payload=detail(1), repeat=True)
    client = make_client(rate_limit=0.1)  # one request every 10 s
    await client.get_server(1)
    with pytest.raises(RequestTimeoutError, match="rate limit asks to wait"):
        await client.get_server(1, timeout=5)


@pytest.mark.parametrize("status", ["ACTIVE", "bogus", "Active", "", 1, ServerStatus])
async def test_an_undocumented_status_filter_is_refused(
    mocked: aioresponses, client: Client, status: Any
) -> None:
    with pytest.raises(ValidationError, match="status"):
        await client.list_servers(status=status)
    with pytest.raises(ValidationError, match="status"):
        await _drain(client.iter_servers(status=status))
    assert not mocked.requests


async def test_a_documented_status_filter_is_sent_as_its_value(
    mocked: aioresponses, client: Client
) -> None:
    mocked.get(LIST + "?status=stopped", payload=page([]), repeat=True)
    await client.list_servers(status=ServerStatus.STOPPED)
    await client.list_servers(status="stopped")
    assert len(mocked.requests[("GET", URL(LIST + "?status=stopped"))]) == 2


@pytest.mark.parametrize(
    "url",
    [
        "https://user:hunter2@admin.vps.org/api/v1",
        "https://hunter2@admin.vps.org/api/v1",
        "http://user:hunter2@127.0.0.1:8000/api/v1",
        "https://user:hunter2@[::1/api",  # not even a URL
    ],
)
def test_a_base_url_with_userinfo_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Client("t0k3n", base_url=url)
    error: BaseException | None = info.value
    while error is not None:
        assert "hunter2" not in str(error) + repr(error)
        error = error.__cause__ or error.__context__


def test_a_base_url_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a string"):
        Client("t0k3n", base_url=b"https://admin.vps.org/api/v1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "link",
    [BASE + "/servers/?page=2", "https://evil.example/servers/?page=2"],
)
async def test_a_next_link_with_userinfo_is_refused_without_showing_it(
    mocked: aioresponses, client: Client, link: str
) -> None:
    with_userinfo = link.replace("https://", "https://user:hunter2@")
    mocked.get(LIST, payload=page([listed(1)], with_userinfo))
    with pytest.raises(ResponseDecodeError) as info:
        await _drain(client.iter_servers())
    assert "hunter2" not in str(info.value)
    assert "***@" in str(info.value)
    assert len(mocked.requests) == 1


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/v1/servers/?t={token}",  # another origin
        BASE + "/servers/?page=1&t={token}",  # loops back to a page already read
    ],
)
async def test_a_next_link_echoing_the_token_never_shows_it(
    mocked: aioresponses, client: Client, token: str, link: str
) -> None:
    first = BASE + f"/servers/?page=1&t={token}"
    mocked.get(LIST, payload=page([listed(1)], first))
    mocked.get(first, payload=page([listed(2)], link.format(token=token)))
    with pytest.raises(ResponseDecodeError) as info:
        await _drain(client.iter_servers())
    rendered = "".join(traceback.format_exception(info.value))
    assert token not in rendered
    assert "***" in str(info.value)


@pytest.mark.parametrize("agent", ["bot/1.0\r\nX-Evil: 1", "bot\n", "bot\x00", "", 42])
def test_a_user_agent_with_control_characters_is_refused(agent: Any) -> None:
    with pytest.raises(ValidationError, match="user_agent"):
        Client("t0k3n", user_agent=agent)


def test_the_rows_that_echo_an_id_are_the_idempotent_item_rows() -> None:
    from vpsorg_async._endpoints import ENDPOINTS

    echoing = {row.name: row for row in ENDPOINTS.values() if row.echo_id is not None}
    assert set(echoing) == {
        "get_server",
        "update_server",
        "patch_server",
        "start_server",
        "stop_server",
        "reboot_server",
    }
    for row in echoing.values():
        assert row.idempotent  # a stray answer is retried: only safe where a repeat is
        assert row.path_params == ("server_id",)
        model: Any = row.response
        *owners, last = (row.echo_id or "").split(".")
        for name in owners:
            model = typing.get_type_hints(model)[name]
        assert typing.get_type_hints(model)[last] is int


class _NoLock:
    """A CreateLock that excludes nothing: what reconcile would do without one."""

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        yield


@pytest.mark.parametrize("locked", [True, False], ids=["create-lock", "no-lock"])
async def test_reconciling_creators_of_one_name_each_adopt_their_own(locked: bool) -> None:
    # Every create acts, then loses its answer. Two tasks create a server of the same name at
    # once. Holding the name's create lock from the first lookup until the outcome is known,
    # each sees the other's server as one that existed before it looked, and adopts its own.
    # Without the lock both list "none yet", both create, and each then finds two candidates.
    faults = Faults(drop_after_rate=1.0, endpoints=frozenset({"create_server"}))
    lock = None if locked else _NoLock()
    async with Simulator(servers=0, faults=faults) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_wait, create_lock=lock) as client:
            results = await asyncio.gather(
                *(
                    client.create_server(
                        name="api-server-07", plan_id=1, os_id=5, location="us-west", reconcile=True
                    )
                    for _ in range(2)
                ),
                return_exceptions=True,
            )
        assert sim.ledger.created_names == ["api-server-07", "api-server-07"]
    if not locked:
        assert all(isinstance(r, AmbiguousCreateError) and r.candidates for r in results)
        return
    ids = {r.id for r in results if not isinstance(r, BaseException)}
    assert ids == {server["id"] for server in sim.servers}
    assert len(ids) == 2


class _CountingPacer:
    """A Pacer that only counts: the seam a shared pacer plugs into."""

    def __init__(self) -> None:
        self.turns = self.successes = 0
        self.throttles: list[float | None] = []

    async def wait_turn(self, deadline: float) -> None:
        self.turns += 1

    def on_success(self) -> None:
        self.successes += 1

    def on_throttle(self, retry_after: float | None) -> None:
        self.throttles.append(retry_after)


async def test_a_pacer_given_to_the_client_paces_every_attempt() -> None:
    pacer = _CountingPacer()
    async with Simulator(servers=2) as sim:
        sim.faults = Faults(throttle_rate=1.0, endpoints=frozenset({"get_server"}))
        async with Client(sim.token, base_url=sim.url, sleep=_no_wait, pacer=pacer) as client:
            await client.list_servers()
            with pytest.raises(RateLimitError):
                await client.get_server(sim.servers[0]["id"])
    assert pacer.turns == 4  # the list, and the three attempts of the GET
    assert pacer.successes == 1
    assert len(pacer.throttles) == 3


def test_rate_limit_and_a_pacer_do_not_mix() -> None:
    with pytest.raises(ValidationError, match="rate_limit"):
        Client("t0k3n", rate_limit=5, pacer=_CountingPacer())
