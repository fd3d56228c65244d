"""Client: every endpoint end to end, validation before sending, configuration, lifecycle, pages."""

from __future__ import annotations

import gc
import re
import warnings
from collections.abc import AsyncIterator
from copy import deepcopy
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from vpsorg_async import (
    ActionResult,
    AmbiguousCreateError,
    BadRequestError,
    Client,
    ConfigurationError,
    CreatedServer,
    ResponseDecodeError,
    Server,
    ServerDetail,
    ServerList,
    ServerStatus,
    ValidationError,
    VPSOrgError,
    __version__,
)
from vpsorg_async._convert import decode
from vpsorg_async._endpoints import ENDPOINTS
from vpsorg_async.testing.examples import (
    CREATE_REQUEST,
    CREATE_RESPONSE,
    DETAIL_RESPONSE,
    LIST_RESPONSE,
    PATCH_REQUEST,
    REBOOT_RESPONSE,
    START_RESPONSE,
    STOP_RESPONSE,
    UPDATE_REQUEST,
)

if TYPE_CHECKING:
    from conftest import MakeClient

    from vpsorg_async.testing import ManualClock

BASE = "https://admin.vps.org/api/v1"
ITEM = BASE + "/servers/12345/"


def the_call(m: aioresponses, method: str, url: str, token: str) -> dict[str, Any]:
    """The one request made: checks method, URL, auth and JSON headers; returns its kwargs."""
    assert list(m.requests) == [(method, URL(url))]
    (call,) = m.requests[(method, URL(url))]
    kwargs: dict[str, Any] = call.kwargs
    headers = kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {token}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"vpsorg-async/{__version__}"
    assert kwargs["allow_redirects"] is False
    return kwargs


def request_count(m: aioresponses) -> int:
    return sum(len(calls) for calls in m.requests.values())


def page(results: list[dict[str, Any]], next_url: str | None = None) -> dict[str, Any]:
    return {"count": len(results), "results": results, "next": next_url, "previous": None}


async def drain(servers: AsyncIterator[Server], into: list[int]) -> None:
    """Collect the ids of an iteration, so a test can see how far it got before an error."""
    async for item in servers:
        into.append(item.id)


def server(id_: int, name: str) -> dict[str, Any]:
    item: dict[str, Any] = deepcopy(LIST_RESPONSE)["results"][0]
    item.update(id=id_, name=name)
    return item


# --- every endpoint's success --------------------------------------------------------------------


async def test_list_servers(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.get(BASE + "/servers/", payload=LIST_RESPONSE)
    result = await client.list_servers()
    assert result == decode(deepcopy(LIST_RESPONSE), ServerList)
    assert [s.name for s in result.results] == ["web-server-01", "db-server-01"]
    kwargs = the_call(mocked, "GET", BASE + "/servers/", token)
    assert not kwargs["params"]
    assert kwargs["json"] is None


async def test_list_servers_with_every_filter(
    mocked: aioresponses, client: Client, token: str
) -> None:
    url = BASE + "/servers/?location=us-west&page=2&page_size=50&status=active"
    mocked.get(url, payload=LIST_RESPONSE)
    result = await client.list_servers(
        status=ServerStatus.ACTIVE, location="us-west", page=2, page_size=50
    )
    assert result.count == 2
    kwargs = the_call(mocked, "GET", url, token)
    assert kwargs["params"] == {
        "status": "active",
        "location": "us-west",
        "page": 2,
        "page_size": 50,
    }
    assert type(kwargs["params"]["status"]) is str


async def test_list_servers_refuses_an_undocumented_status_filter(
    mocked: aioresponses, client: Client
) -> None:
    # it would match no server and list nothing, silently (answers keep unknown statuses)
    with pytest.raises(ValidationError, match=r"'active'.*got 'migrating'"):
        await client.list_servers(status="migrating")
    assert not mocked.requests


async def test_create_server(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.post(BASE + "/servers/", status=201, payload=CREATE_RESPONSE)
    created = await client.create_server(**CREATE_REQUEST)
    assert created == decode(deepcopy(CREATE_RESPONSE), CreatedServer)
    assert created.status is ServerStatus.PROVISIONING
    kwargs = the_call(mocked, "POST", BASE + "/servers/", token)
    assert kwargs["json"] == CREATE_REQUEST


async def test_create_server_leaves_out_what_was_not_given(
    mocked: aioresponses, client: Client, token: str
) -> None:
    mocked.post(BASE + "/servers/", status=201, payload=CREATE_RESPONSE)
    await client.create_server(name="web-1", plan_id=1, os_id=5, location="us-west", ssh_key_id=3)
    kwargs = the_call(mocked, "POST", BASE + "/servers/", token)
    assert kwargs["json"] == {
        "name": "web-1",
        "plan_id": 1,
        "os_id": 5,
        "location": "us-west",
        "ssh_key_id": 3,
    }


async def test_create_answering_200_instead_of_201_is_an_error(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=200, payload=CREATE_RESPONSE)
    with pytest.raises(VPSOrgError):
        await client.create_server(**CREATE_REQUEST)


async def test_get_server(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    detail = await client.get_server(12345)
    assert detail == decode(deepcopy(DETAIL_RESPONSE), ServerDetail)
    assert detail.resource_usage is not None
    assert detail.resource_usage.cpu_percent == 23.5
    kwargs = the_call(mocked, "GET", ITEM, token)
    assert kwargs["json"] is None
    assert not kwargs["params"]


async def test_get_server_by_keyword(mocked: aioresponses, client: Client) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(server_id=12345)).id == 12345


async def test_update_server(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.put(ITEM, payload=DETAIL_RESPONSE)
    detail = await client.update_server(12345, **UPDATE_REQUEST)
    assert isinstance(detail, ServerDetail)
    kwargs = the_call(mocked, "PUT", ITEM, token)
    assert kwargs["json"] == UPDATE_REQUEST


async def test_update_server_sends_false(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.put(ITEM, payload=DETAIL_RESPONSE)
    await client.update_server(12345, name="a", hostname="a.example.com", backups_enabled=False)
    kwargs = the_call(mocked, "PUT", ITEM, token)
    assert kwargs["json"] == {"name": "a", "hostname": "a.example.com", "backups_enabled": False}


async def test_patch_server(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.patch(ITEM, payload=DETAIL_RESPONSE)
    detail = await client.patch_server(12345, **PATCH_REQUEST)
    assert detail.id == 12345
    kwargs = the_call(mocked, "PATCH", ITEM, token)
    assert kwargs["json"] == PATCH_REQUEST  # only the given field


async def test_patch_server_backups_only(mocked: aioresponses, client: Client, token: str) -> None:
    mocked.patch(ITEM, payload=DETAIL_RESPONSE)
    await client.patch_server(12345, backups_enabled=False)
    assert the_call(mocked, "PATCH", ITEM, token)["json"] == {"backups_enabled": False}


@pytest.mark.parametrize("body", ["", "ignored body"])
async def test_delete_server(mocked: aioresponses, client: Client, token: str, body: str) -> None:
    mocked.delete(ITEM, status=204, body=body)
    assert await client.delete_server(12345) is None  # type: ignore[func-returns-value]
    kwargs = the_call(mocked, "DELETE", ITEM, token)
    assert kwargs["json"] is None


@pytest.mark.parametrize(
    ("name", "verb", "example", "status"),
    [
        ("start_server", "start", START_RESPONSE, ServerStatus.STARTING),
        ("stop_server", "stop", STOP_RESPONSE, ServerStatus.STOPPING),
        ("reboot_server", "reboot", REBOOT_RESPONSE, ServerStatus.REBOOTING),
    ],
)
async def test_actions(
    mocked: aioresponses,
    client: Client,
    token: str,
    name: str,
    verb: str,
    example: dict[str, Any],
    status: ServerStatus,
) -> None:
    url = f"{ITEM}{verb}/"
    mocked.post(url, payload=example)
    result = await getattr(client, name)(12345)
    assert isinstance(result, ActionResult)
    assert result.status == "success"
    assert result.server.status is status
    assert result.server.id == 12345
    kwargs = the_call(mocked, "POST", url, token)
    assert kwargs["json"] is None


async def test_per_call_timeout_is_accepted(mocked: aioresponses, client: Client) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(12345, timeout=5)).id == 12345


async def test_a_wrong_body_on_success_is_a_decode_error(
    mocked: aioresponses, client: Client
) -> None:
    data = deepcopy(DETAIL_RESPONSE)
    del data["name"]
    mocked.get(ITEM, payload=data)
    with pytest.raises(ResponseDecodeError, match="name") as info:
        await client.get_server(12345)
    assert (info.value.method, info.value.path, info.value.status) == (
        "GET",
        "/servers/12345/",
        200,
    )


# --- pages: iter_servers and find_server ---------------------------------------------------------


async def test_iter_servers_follows_next_pages(mocked: aioresponses, client: Client) -> None:
    second = BASE + "/servers/?location=us-west&page=2"
    third = BASE + "/servers/?location=us-west&page=3"
    mocked.get(BASE + "/servers/?location=us-west", payload=page([server(1, "a")], second))
    mocked.get(second, payload=page([server(2, "b"), server(3, "c")], third))
    mocked.get(third, payload=page([server(4, "d")]))
    names = [s.name async for s in client.iter_servers(location="us-west")]
    assert names == ["a", "b", "c", "d"]
    assert request_count(mocked) == 3


async def test_iter_servers_without_pagination(mocked: aioresponses, client: Client) -> None:
    mocked.get(BASE + "/servers/?page_size=10&status=stopped", payload=LIST_RESPONSE)
    servers = [s async for s in client.iter_servers(status="stopped", page_size=10)]
    assert [s.id for s in servers] == [12345, 12346]
    assert all(type(s) is Server for s in servers)


async def test_iter_servers_refuses_a_next_link_to_another_origin(
    mocked: aioresponses, client: Client
) -> None:
    evil = "https://evil.example/api/v1/servers/?page=2"
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], evil))
    mocked.get(evil, payload=page([]))
    seen: list[int] = []
    with pytest.raises(ResponseDecodeError, match="another origin"):
        await drain(client.iter_servers(), seen)
    assert seen == [1]
    assert request_count(mocked) == 1  # the token never went to evil.example


@pytest.mark.parametrize(
    "link",
    [
        "http://admin.vps.org/api/v1/servers/?page=2",  # downgraded scheme
        "https://admin.vps.org:8443/api/v1/servers/?page=2",  # another port
        "https://admin.vps.org.evil.example/api/v1/servers/",
        "/api/v1/servers/?page=2",  # relative: not followed either
        "http://[::1",  # not even a URL
    ],
)
async def test_next_links_that_are_not_same_origin(
    mocked: aioresponses, client: Client, link: str
) -> None:
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], link))
    with pytest.raises(ResponseDecodeError):
        _ = [s async for s in client.iter_servers()]
    assert request_count(mocked) == 1


async def test_iter_servers_detects_a_next_loop(mocked: aioresponses, client: Client) -> None:
    second = BASE + "/servers/?page=2"
    third = BASE + "/servers/?page=3"
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], second))
    mocked.get(second, payload=page([server(2, "b")], third), repeat=True)
    mocked.get(third, payload=page([server(3, "c")], second), repeat=True)
    with pytest.raises(ResponseDecodeError, match="loop"):
        _ = [s async for s in client.iter_servers()]
    assert request_count(mocked) == 3


async def test_a_loop_back_to_the_first_page_yields_no_duplicates(
    mocked: aioresponses, client: Client
) -> None:
    second = BASE + "/servers/?page=2"
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], second), repeat=True)
    mocked.get(second, payload=page([server(2, "b")], BASE + "/servers/"), repeat=True)
    seen: list[int] = []
    with pytest.raises(ResponseDecodeError, match="loop"):
        await drain(client.iter_servers(), seen)
    assert seen == [1, 2]


async def test_find_server(mocked: aioresponses, client: Client) -> None:
    second = BASE + "/servers/?page=2"
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], second), repeat=True)
    mocked.get(second, payload=page([server(2, "b")]), repeat=True)
    found = await client.find_server(name="b")
    assert found is not None
    assert found.id == 2
    assert await client.find_server(name="zzz") is None
    found = await client.find_server(name="a")
    assert found is not None
    assert found.id == 1


async def test_find_server_filters_by_location(mocked: aioresponses, client: Client) -> None:
    mocked.get(BASE + "/servers/?location=eu-1", payload=page([server(5, "x")]))
    found = await client.find_server(name="x", location="eu-1", timeout=3)
    assert found is not None
    assert found.id == 5


async def test_closing_during_iteration_raises_a_library_error(
    mocked: aioresponses, client: Client
) -> None:
    second = BASE + "/servers/?page=2"
    mocked.get(BASE + "/servers/", payload=page([server(1, "a")], second))
    mocked.get(second, payload=page([server(2, "b")]))

    async def close_midway() -> None:
        async for _ in client.iter_servers():
            await client.aclose()

    with pytest.raises(ConfigurationError, match="closed"):
        await close_midway()


# --- validation before anything is sent ----------------------------------------------------------


class _CountsTurns:
    """A pacer that lets every attempt go and counts the turns taken."""

    def __init__(self) -> None:
        self.turns = 0

    async def wait_turn(self, deadline: float) -> None:
        self.turns += 1

    def on_success(self) -> None:
        return None

    def on_throttle(self, retry_after: float | None) -> None:
        return None


async def test_a_closed_client_refuses_a_call_before_anything_else() -> None:
    # get_server(1) takes the generated method's short way for ids alone; server_id=1 the general.
    pacer = _CountsTurns()
    client = Client("token", base_url=BASE, pacer=pacer)
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.get_server(1)
    with pytest.raises(ConfigurationError, match="closed"):
        await client.get_server(server_id=1)
    assert pacer.turns == 0


@pytest.mark.parametrize("server_id", [0, -1, True, False, "1", 1.5, None])
@pytest.mark.parametrize(
    "name", ["get_server", "delete_server", "start_server", "stop_server", "reboot_server"]
)
async def test_bad_ids_are_refused_before_sending(
    mocked: aioresponses, client: Client, name: str, server_id: Any
) -> None:
    with pytest.raises(ValidationError) as info:
        await getattr(client, name)(server_id)
    assert info.value.param == "server_id"
    assert "positive integer" in info.value.rule
    assert mocked.requests == {}


GOOD_CREATE: dict[str, Any] = {"name": "web-1", "plan_id": 1, "os_id": 5, "location": "us-west"}


@pytest.mark.parametrize(
    ("change", "param", "rule"),
    [
        ({"name": ""}, "name", "letters, digits and hyphens"),
        ({"name": "web_server"}, "name", "letters, digits and hyphens"),
        ({"name": "-web"}, "name", "not starting or ending with a hyphen"),
        ({"name": "w" * 65}, "name", "1-64"),
        ({"name": 7}, "name", "must be a string"),
        ({"hostname": "web01"}, "hostname", "fully qualified domain name"),
        ({"hostname": "web_01.example.com"}, "hostname", "fully qualified domain name"),
        ({"plan_id": 0}, "plan_id", "positive integer"),
        ({"os_id": "5"}, "os_id", "positive integer"),
        ({"ssh_key_id": -3}, "ssh_key_id", "positive integer"),
        ({"location": "US West"}, "location", "datacenter code"),
        ({"backups_enabled": "yes"}, "backups_enabled", "True or False"),
        ({"timeout": 0}, "timeout", "positive number"),
    ],
)
async def test_bad_create_arguments_are_refused_before_sending(
    mocked: aioresponses, client: Client, change: dict[str, Any], param: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.create_server(**{**GOOD_CREATE, **change})
    assert info.value.param == param
    assert rule in info.value.rule
    assert param in str(info.value)
    assert mocked.requests == {}


async def test_update_needs_all_three_fields(mocked: aioresponses, client: Client) -> None:
    with pytest.raises(TypeError, match="backups_enabled"):
        await client.update_server(12345, name="a", hostname="a.example.com")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="hostname, name"):
        await client.update_server(12345, backups_enabled=True)  # type: ignore[call-arg]
    with pytest.raises(ValidationError) as info:
        await client.update_server(12345, name="a", hostname=None, backups_enabled=True)  # type: ignore[arg-type]
    assert info.value.param == "hostname"
    with pytest.raises(ValidationError) as info:
        await client.update_server(
            12345, name="a_b", hostname="a.example.com", backups_enabled=True
        )
    assert info.value.param == "name"
    assert mocked.requests == {}


async def test_patch_needs_at_least_one_field(mocked: aioresponses, client: Client) -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        await client.patch_server(12345)
    with pytest.raises(ValidationError, match="at least one field"):
        await client.patch_server(12345, name=None, hostname=None, backups_enabled=None)
    with pytest.raises(ValidationError) as info:
        await client.patch_server(12345, hostname="nodot")
    assert info.value.param == "hostname"
    assert mocked.requests == {}


@pytest.mark.parametrize(
    ("filters", "param"),
    [
        ({"status": ""}, "status"),
        ({"status": 5}, "status"),
        ({"location": "US-WEST"}, "location"),
        ({"location": ""}, "location"),
        ({"page": 0}, "page"),
        ({"page_size": True}, "page_size"),
        ({"page_size": "10"}, "page_size"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": True}, "timeout"),
    ],
)
async def test_bad_list_filters_are_refused_before_sending(
    mocked: aioresponses, client: Client, filters: dict[str, Any], param: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.list_servers(**filters)
    assert info.value.param == param
    assert mocked.requests == {}


async def test_wrong_call_shapes_are_type_errors(mocked: aioresponses, client: Client) -> None:
    with pytest.raises(TypeError, match="positional"):
        await client.get_server(1, 2)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'id'"):
        await client.get_server(id=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing argument"):
        await client.get_server()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing argument"):
        await client.create_server(name="web-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="positional"):
        await client.list_servers("active")  # type: ignore[call-arg]
    assert mocked.requests == {}


async def test_a_path_parameter_given_twice_is_a_type_error(
    mocked: aioresponses, client: Client
) -> None:
    with pytest.raises(TypeError, match="multiple values"):
        await client.get_server(1, server_id=2)  # type: ignore[misc]
    assert mocked.requests == {}


# --- construction and configuration --------------------------------------------------------------


def test_no_token_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="VPSORG_API_TOKEN"):
        Client()
    with pytest.raises(ConfigurationError, match="no API token"):
        Client("")
    with pytest.raises(ConfigurationError):
        Client(12345)  # type: ignore[arg-type]


async def test_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, mocked: aioresponses
) -> None:
    monkeypatch.setenv("VPSORG_API_TOKEN", "env-token")
    mocked.get(ITEM, payload=DETAIL_RESPONSE, repeat=True)
    async with Client() as client:
        await client.get_server(12345)
    the_call(mocked, "GET", ITEM, "env-token")
    mocked.requests.clear()
    async with Client("explicit") as client:  # an argument wins over the environment
        await client.get_server(12345)
    the_call(mocked, "GET", ITEM, "explicit")


async def test_base_url_from_argument_and_environment(
    monkeypatch: pytest.MonkeyPatch, mocked: aioresponses, token: str
) -> None:
    async with Client(token) as client:
        assert client.base_url == "https://admin.vps.org/api/v1"
    monkeypatch.setenv("VPSORG_BASE_URL", "https://api.example.test/v9/")
    async with Client(token) as client:
        assert client.base_url == "https://api.example.test/v9"
        mocked.get("https://api.example.test/v9/servers/12345/", payload=DETAIL_RESPONSE)
        assert (await client.get_server(12345)).id == 12345
    async with Client(token, base_url="https://other.example.test/api/") as client:
        assert client.base_url == "https://other.example.test/api"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/v1",
        "http://127.1.2.3/api/v1",
        "http://localhost:9000/api/v1",
        "http://[::1]:8080/api/v1",
        "https://admin.vps.org/api/v1/",
        "https://10.0.0.1/api/v1",
    ],
)
async def test_allowed_base_urls(token: str, url: str) -> None:
    async with Client(token, base_url=url) as client:
        assert client.base_url == url.rstrip("/")


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://admin.vps.org/api/v1", "plain http"),
        ("http://10.0.0.1/api/v1", "plain http"),
        ("http://0.0.0.0:8080/api/v1", "plain http"),
        ("http://localhost.evil.example/api/v1", "plain http"),
        ("ftp://admin.vps.org/api/v1", "http"),
        ("admin.vps.org/api/v1", "http"),
        ("https://", "URL"),
        ("http://[::1", "not a URL"),
    ],
)
def test_refused_base_urls(token: str, url: str, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match) as info:
        Client(token, base_url=url)
    assert token not in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("timeout", 0),
        ("timeout", -5),
        ("timeout", "60"),
        ("timeout", True),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("max_retries", "2"),
        ("rate_limit", 0),
        ("rate_limit", -1.0),
        ("max_connections", 0),
        ("max_response_bytes", 0),
    ],
)
def test_bad_options(token: str, option: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        Client(token, **{option: value})
    assert info.value.param == option


def test_timeout_none_is_refused_clearly(token: str) -> None:
    with pytest.raises((ValidationError, ConfigurationError)):
        Client(token, timeout=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc\r\nX-Evil: 1", "abc\n", "a\x00b"])
async def test_a_token_that_cannot_be_a_header_is_refused_at_construction(bad: str) -> None:
    try:
        client = Client(bad)
    except ConfigurationError as exc:
        message = str(exc)
    else:
        await client.aclose()
        pytest.fail("a token that cannot travel in a header was accepted")
    assert bad not in message


async def test_options_are_kept(fake_time: ManualClock, token: str) -> None:
    async with Client(
        token, timeout=5, max_retries=0, clock=fake_time, sleep=fake_time.sleep
    ) as client:
        assert client.clock == fake_time
        assert client.timeout == 5.0
        assert client.sleep == fake_time.sleep


async def test_custom_user_agent(mocked: aioresponses, make_client: MakeClient) -> None:
    client = make_client(user_agent="my-bot/1.0")
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    (call,) = mocked.requests[("GET", URL(ITEM))]
    assert call.kwargs["headers"]["User-Agent"] == "my-bot/1.0"


# --- lifecycle -----------------------------------------------------------------------------------


async def test_async_with_closes_the_session_it_opened(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    async with make_client() as client:
        assert client.closed is False
        await client.get_server(12345)
        http = client._session._session
        assert http is not None
        assert not http.closed
    assert client.closed is True
    assert http.closed


async def test_aclose_is_idempotent_and_works_before_first_use(make_client: MakeClient) -> None:
    client = make_client()
    assert "open" in repr(client)
    await client.aclose()
    await client.aclose()
    assert client.closed
    assert repr(client) == "<Client 'https://admin.vps.org/api/v1' token=*** closed>"


async def test_aclose_closes_an_opened_session(mocked: aioresponses, client: Client) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    http = client._session._session
    assert http is not None
    await client.aclose()
    assert http.closed


async def test_a_borrowed_session_is_used_and_left_open(
    mocked: aioresponses, fake_time: ManualClock, token: str
) -> None:
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    async with aiohttp.ClientSession(headers={"X-Borrowed": "yes"}) as http:
        async with Client(token, session=http, sleep=fake_time.sleep) as client:
            await client.get_server(12345)
        assert client.closed
        assert not http.closed
        (call,) = mocked.requests[("GET", URL(ITEM))]
        assert call.kwargs["headers"]["X-Borrowed"] == "yes"  # it went through the borrowed one
        assert call.kwargs["headers"]["Authorization"] == f"Bearer {token}"


async def test_the_session_the_client_opens(make_client: MakeClient) -> None:
    client = make_client(max_connections=7)
    http = client._session._http()
    assert isinstance(http.connector, aiohttp.TCPConnector)
    assert http.connector.limit == 7
    assert http.timeout.total is None  # the call's own deadline bounds everything
    assert http.timeout.sock_connect == 10.0
    # aiohttp would resend an idempotent request on a stale kept-alive connection by itself
    assert http._retry_connection is False
    assert client._session._http() is http  # one session per client


async def test_a_borrowed_session_is_not_reconfigured(token: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with Client(token, session=http) as client:
            assert client._session._http() is http
        assert http._retry_connection is True


async def test_calls_after_close_raise(mocked: aioresponses, client: Client) -> None:
    await client.aclose()
    with pytest.raises(ConfigurationError, match="closed"):
        await client.get_server(12345)
    with pytest.raises(ConfigurationError, match="closed"):
        await client.create_server(**CREATE_REQUEST)
    with pytest.raises(ConfigurationError, match="closed"):
        _ = [s async for s in client.iter_servers()]
    assert mocked.requests == {}


def _abandon_a_client(token: str) -> None:
    Client(token)  # made on this line, never closed
    gc.collect()


def test_an_unclosed_client_warns_where_it_was_made(token: str) -> None:
    line = _abandon_a_client.__code__.co_firstlineno + 1
    with pytest.warns(ResourceWarning, match=rf"test_client\.py:{line} was never closed") as rec:
        _abandon_a_client(token)
    assert all(token not in str(w.message) for w in rec)


async def test_a_closed_client_does_not_warn(token: str) -> None:
    client = Client(token)
    await client.aclose()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_a_client_that_failed_to_construct_does_not_warn() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ConfigurationError):
            Client(None)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_async_with_returns_the_client(make_client: MakeClient) -> None:
    client = make_client()
    async with client as entered:
        assert entered is client


# --- reconciled creates --------------------------------------------------------------------------

FIND_URL = BASE + "/servers/?location=us-west"
#: What reconcile's first lookup, before the create is sent, finds: no server of that name.
BEFORE = page([server(1, "other")])


async def test_reconcile_finds_the_server_the_lost_create_made(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=503)
    made = server(777, "web-server-02")
    mocked.get(FIND_URL, payload=BEFORE)
    mocked.get(FIND_URL, payload=page([server(1, "other"), made]))
    detail = deepcopy(DETAIL_RESPONSE)
    detail.update(id=777, name="web-server-02", status="provisioning", backups_enabled=True)
    mocked.get(BASE + "/servers/777/", payload=detail)
    created = await client.create_server(**CREATE_REQUEST, reconcile=True)
    assert isinstance(created, CreatedServer)
    assert (created.id, created.name, created.status) == (
        777,
        "web-server-02",
        ServerStatus.PROVISIONING,
    )
    assert created.backups_enabled is True
    assert created.message is None
    assert len(mocked.requests[("POST", URL(BASE + "/servers/"))]) == 1  # never resent


async def test_reconcile_creates_again_when_nothing_was_made(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", exception=aiohttp.ServerDisconnectedError())
    mocked.post(BASE + "/servers/", status=201, payload=CREATE_RESPONSE)
    mocked.get(FIND_URL, payload=BEFORE, repeat=True)
    created = await client.create_server(**CREATE_REQUEST, reconcile=True)
    assert created.id == 12347
    posts = mocked.requests[("POST", URL(BASE + "/servers/"))]
    assert len(posts) == 2
    assert all(p.kwargs["json"] == CREATE_REQUEST for p in posts)


async def test_reconcile_gives_up_after_repeated_ambiguity(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=502, repeat=True)
    mocked.get(FIND_URL, payload=page([]), repeat=True)
    with pytest.raises(AmbiguousCreateError) as info:
        await client.create_server(**CREATE_REQUEST, reconcile=True)
    assert info.value.request.name == "web-server-02"
    assert len(mocked.requests[("POST", URL(BASE + "/servers/"))]) == 3
    assert len(mocked.requests[("GET", URL(FIND_URL))]) == 4  # one before, one after each


async def test_reconcile_is_a_plain_create_when_it_works(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=201, payload=CREATE_RESPONSE)
    mocked.get(FIND_URL, payload=BEFORE)
    created = await client.create_server(**CREATE_REQUEST, reconcile=True, timeout=30)
    assert created.id == 12347
    # the same-named servers that exist before the create are looked up first
    assert list(mocked.requests) == [("GET", URL(FIND_URL)), ("POST", URL(BASE + "/servers/"))]


async def test_reconcile_does_not_hide_a_clear_refusal(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=400, payload={"name": ["Name is taken."]})
    mocked.get(FIND_URL, payload=BEFORE)
    with pytest.raises(BadRequestError) as info:
        await client.create_server(**CREATE_REQUEST, reconcile=True)
    assert info.value.field_errors == {"name": ["Name is taken."]}
    assert len(mocked.requests[("POST", URL(BASE + "/servers/"))]) == 1


async def test_reconcile_does_not_create_again_after_the_deadline(
    mocked: aioresponses, client: Client
) -> None:
    mocked.post(BASE + "/servers/", status=500, repeat=True)
    mocked.get(FIND_URL, payload=BEFORE)
    mocked.get(FIND_URL, status=429, headers={"Retry-After": "10"})
    mocked.get(FIND_URL, payload=page([]), repeat=True)
    with pytest.raises(VPSOrgError):
        await client.create_server(**CREATE_REQUEST, reconcile=True, timeout=5)
    assert len(mocked.requests[("POST", URL(BASE + "/servers/"))]) == 1


async def test_reconcile_stays_within_the_calls_timeout(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    mocked.post(BASE + "/servers/", status=500, repeat=True)
    mocked.get(FIND_URL, payload=BEFORE)
    mocked.get(FIND_URL, status=429, headers={"Retry-After": "10"})
    mocked.get(FIND_URL, payload=page([]), repeat=True)
    start = fake_time.now
    with pytest.raises(VPSOrgError):
        await client.create_server(**CREATE_REQUEST, reconcile=True, timeout=5)
    assert fake_time.now - start <= 5


async def test_reconcile_after_a_lost_answer_with_a_slow_callback(
    mocked: aioresponses, client: Client
) -> None:
    calls: list[str] = []

    def record(url: URL, **kwargs: Any) -> CallbackResult:
        calls.append(kwargs["json"]["name"])
        return CallbackResult(status=504, body="<html>Gateway Timeout</html>")

    mocked.post(BASE + "/servers/", callback=record)
    mocked.get(FIND_URL, payload=BEFORE)
    mocked.get(FIND_URL, payload=page([server(9, "web-server-02")]))
    mocked.get(BASE + "/servers/9/", payload={**DETAIL_RESPONSE, "id": 9})
    created = await client.create_server(**CREATE_REQUEST, reconcile=True)
    assert created.id == 9
    assert created.hostname == DETAIL_RESPONSE["hostname"]  # from the detail endpoint
    assert calls == ["web-server-02"]


def test_the_readme_names_are_public() -> None:
    public = {name for name in dir(Client) if not name.startswith("_")}
    assert {
        *ENDPOINTS,
        "iter_servers",
        "find_server",
        "aclose",
        "closed",
    } <= public
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", __version__)
