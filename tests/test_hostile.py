"""Hostile answers, property-based: every case ends in a VPSOrgError or in correct tolerant parsing.

Volume goes through the pure functions (``decode``, ``error_from_response``, ``parse_retry_after``);
a smaller number of cases run end to end through aioresponses, each with its own Client.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from copy import deepcopy
from datetime import datetime
from typing import Any

import pytest
from aioresponses import aioresponses
from hypothesis import example, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from yarl import URL

from vpsorg_async import (
    ActionResult,
    APIError,
    Client,
    CreatedServer,
    RateLimitError,
    ResponseDecodeError,
    Server,
    ServerDetail,
    ServerError,
    ServerList,
    ServerStatus,
    VPSOrgError,
)
from vpsorg_async._answers import error_from_response
from vpsorg_async._convert import decode
from vpsorg_async._wire import parse_retry_after
from vpsorg_async.testing import ManualClock
from vpsorg_async.testing.examples import (
    CREATE_RESPONSE,
    DETAIL_RESPONSE,
    LIST_RESPONSE,
    START_RESPONSE,
)

BASE = "https://admin.vps.org/api/v1"
ITEM = BASE + "/servers/12345/"
TOKEN = "hostile-test-token"
#: The detail example as the API would send it, for cutting into truncated bodies.
DETAIL_TEXT = json.dumps(DETAIL_RESPONSE, indent=2)

FAST = settings(max_examples=100, deadline=None, database=None)
E2E = settings(max_examples=30, deadline=None, database=None)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["active", "2025-01-10T14:30:00Z", "", "null", "12345"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
MODELS: list[tuple[type[Any], dict[str, Any]]] = [
    (ServerList, LIST_RESPONSE),
    (CreatedServer, CREATE_RESPONSE),
    (ServerDetail, DETAIL_RESPONSE),
    (ActionResult, START_RESPONSE),
]


def check_server(server: Server) -> None:
    """What a decoded server must look like, however odd the input was."""
    assert type(server.id) is int
    assert type(server.name) is str
    assert isinstance(server.status, ServerStatus) or type(server.status) is str
    assert isinstance(server.created_at, datetime)
    assert server.created_at.tzinfo is not None
    assert server.updated_at.tzinfo is not None


def check_decoded(model: Any) -> None:
    if isinstance(model, Server):
        check_server(model)
    elif isinstance(model, ServerList):
        assert type(model.count) is int
        assert isinstance(model.results, list)
        for server in model.results:
            check_server(server)
    else:
        assert isinstance(model, ActionResult)
        assert isinstance(model.server.status, ServerStatus) or type(model.server.status) is str


def attempt_decode(data: Any, model: type[Any]) -> Any:
    """The decoded model, or the ResponseDecodeError; any other exception fails the test."""
    try:
        return decode(data, model)
    except ResponseDecodeError as exc:
        return exc


# --- decode: random JSON, mutated examples -------------------------------------------------------


@FAST
@given(data=json_values, model=st.sampled_from([m for m, _ in MODELS]))
def test_random_json_decodes_or_fails_cleanly(data: Any, model: type[Any]) -> None:
    result = attempt_decode(data, model)
    if isinstance(result, ResponseDecodeError):
        assert str(result)
    else:
        assert isinstance(result, model)
        check_decoded(result)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a decoded JSON document."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@FAST
@given(
    pick=st.sampled_from(MODELS),
    index=st.integers(min_value=0),
    replacement=json_values,
    action=st.sampled_from(["replace", "delete", "add"]),
)
def test_mutated_examples_decode_or_fail_cleanly(
    pick: tuple[type[Any], dict[str, Any]], index: int, replacement: Any, action: str
) -> None:
    model, example_data = pick
    data = deepcopy(example_data)
    paths = _paths(data)
    path = paths[index % len(paths)]
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    if action == "replace":
        parent[path[-1]] = replacement
    elif action == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent["unexpected_" + str(path[-1])] = replacement
    result = attempt_decode(data, model)
    if isinstance(result, ResponseDecodeError):
        assert str(result)
    else:
        check_decoded(result)
        if action == "add":  # an extra field changes nothing
            assert result == decode(deepcopy(example_data), model)


@FAST
@given(key=st.sampled_from(sorted(deepcopy(DETAIL_RESPONSE))))
def test_a_missing_required_key_is_named(key: str) -> None:
    data = deepcopy(DETAIL_RESPONSE)
    del data[key]
    optional = {"ipv6_address", "backups_enabled", "resource_usage"}
    if key in optional:
        check_decoded(decode(data, ServerDetail))
    else:
        with pytest.raises(ResponseDecodeError, match=key):
            decode(data, ServerDetail)


@FAST
@given(status=st.text(max_size=30))
def test_any_status_string_is_kept(status: str) -> None:
    data = deepcopy(DETAIL_RESPONSE)
    data["status"] = status
    decoded = decode(data, ServerDetail).status
    assert decoded == status
    known = {s.value for s in ServerStatus}
    assert isinstance(decoded, ServerStatus) is (status in known)


# --- error_from_response -------------------------------------------------------------------------

header_names = st.sampled_from(["X-Request-ID", "x-correlation-id", "Request-Id", "Retry-After"])
header_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20
)


@FAST
@given(
    status=st.integers(min_value=100, max_value=999),
    body=st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode()),
    headers=st.dictionaries(header_names, header_values, max_size=3),
    retry_after=st.none() | st.floats(min_value=0, max_value=60),
)
def test_error_from_response_never_raises(
    status: int, body: bytes, headers: dict[str, str], retry_after: float | None
) -> None:
    error = error_from_response(
        status=status,
        method="GET",
        path="/servers/",
        headers=CIMultiDict(headers),
        body=body,
        retry_after=retry_after,
    )
    assert isinstance(error, APIError)
    assert error.status == status
    assert isinstance(error, ServerError) is (status >= 500)
    assert isinstance(error, RateLimitError) is (status == 429)
    assert error.detail is None or isinstance(error.detail, str)
    assert all(
        isinstance(k, str) and all(isinstance(m, str) for m in v)
        for k, v in error.field_errors.items()
    )
    assert str(error).startswith(f"GET /servers/ answered {status}")


@FAST
@given(
    fields=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in {"detail", "non_field_errors"}),
        st.lists(st.text(max_size=20), min_size=1, max_size=3),
        min_size=1,
        max_size=4,
    )
)
def test_drf_field_errors_round_trip(fields: dict[str, list[str]]) -> None:
    error = error_from_response(
        status=400, method="POST", path="/servers/", headers={}, body=json.dumps(fields).encode()
    )
    assert error.field_errors == fields
    assert error.detail is None


# --- parse_retry_after ---------------------------------------------------------------------------


def _bounded(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 60.0


@FAST
@given(text=st.text(max_size=40))
def test_retry_after_of_any_text(text: str) -> None:
    assert _bounded(parse_retry_after(text))


@FAST
@given(seconds=st.floats(allow_nan=True, allow_infinity=True))
def test_retry_after_of_any_number(seconds: float) -> None:
    result = parse_retry_after(repr(seconds))
    if math.isnan(seconds):
        assert result is None
    else:
        assert result == min(max(seconds, 0.0), 60.0)


@FAST
@example(year=10**20, day=1, hour=0, zone="GMT")
@given(
    year=st.integers(min_value=0, max_value=10**25),
    day=st.integers(min_value=0, max_value=10**25),
    hour=st.integers(min_value=0, max_value=10**25),
    zone=st.sampled_from(["GMT", "+0000", "-0500", "+99999999999999999999", "UT"]),
)
def test_retry_after_of_any_date_shape(year: int, day: int, hour: int, zone: str) -> None:
    assert _bounded(parse_retry_after(f"Mon, {day:02d} Jan {year} {hour:02d}:00:00 {zone}"))


# --- end to end: each case its own mocked Client -------------------------------------------------


@asynccontextmanager
async def mocked_client(**options: Any) -> AsyncIterator[tuple[Client, aioresponses, ManualClock]]:
    fake = ManualClock()
    with aioresponses() as m:
        async with Client(TOKEN, clock=fake, sleep=fake.sleep, **options) as client:
            yield client, m, fake


async def outcome(call: Any) -> Any:
    """The result, or the VPSOrgError; anything else fails the test. Never waits long."""
    try:
        async with asyncio.timeout(5):
            return await call
    except VPSOrgError as exc:
        return exc


@E2E
@given(body=st.binary(max_size=300))
@example(body=b"<html><body><h1>502 Bad Gateway</h1></body></html>")
@example(body=b"\xc3\x28\xa0\xa1")
@example(body=DETAIL_TEXT.encode("utf-16"))
async def test_any_200_body_end_to_end(body: bytes) -> None:
    async with mocked_client(max_retries=0) as (client, m, _):
        m.get(ITEM, body=body)
        result = await outcome(client.get_server(12345))
    if isinstance(result, ServerDetail):
        check_server(result)
    else:
        assert isinstance(result, ResponseDecodeError)


@E2E
@given(cut=st.integers(min_value=0, max_value=len(DETAIL_TEXT) - 1))
async def test_truncated_bodies_end_to_end(cut: int) -> None:
    async with mocked_client(max_retries=0) as (client, m, _):
        m.get(ITEM, body=DETAIL_TEXT[:cut])
        result = await outcome(client.get_server(12345))
    assert isinstance(result, ResponseDecodeError)
    assert "not JSON" in str(result)


@E2E
@given(data=json_values)
async def test_wrong_shapes_end_to_end(data: Any) -> None:
    async with mocked_client(max_retries=0) as (client, m, _):
        m.get(BASE + "/servers/", body=json.dumps(data))
        result = await outcome(client.list_servers())
    assert isinstance(result, ServerList | ResponseDecodeError)


@E2E
@given(
    status=st.integers(min_value=200, max_value=599),
    body=st.binary(max_size=100) | st.just(DETAIL_TEXT.encode()),
)
async def test_any_status_end_to_end(status: int, body: bytes) -> None:
    async with mocked_client(max_retries=1) as (client, m, fake):
        m.get(ITEM, status=status, body=body, repeat=True)
        result = await outcome(client.get_server(12345))
    assert isinstance(result, ServerDetail | VPSOrgError)
    if isinstance(result, ServerDetail):
        assert status == 200
    elif isinstance(result, APIError):
        assert result.status == status
    assert len(fake.sleeps) <= 1


@E2E
@given(
    header=st.text(max_size=30)
    | st.floats(allow_nan=True).map(repr)
    | st.integers(min_value=-(10**12), max_value=10**12).map(str)
)
@example(header="-1")
@example(header="99999999999")
@example(header="Wed, 21 Oct 2015 07:28:00 GMT")
async def test_any_retry_after_end_to_end(header: str) -> None:
    # header values must be printable for aiohttp's response
    header = "".join(c for c in header if c.isprintable() and c not in "\r\n")
    async with mocked_client(max_retries=1, timeout=600) as (client, m, fake):
        m.get(ITEM, status=429, headers={"Retry-After": header})
        m.get(ITEM, payload=DETAIL_RESPONSE)
        result = await outcome(client.get_server(12345))
    assert isinstance(result, ServerDetail)
    assert len(fake.sleeps) >= 1
    assert all(0 <= d <= 60 for d in fake.sleeps)


next_links = st.sampled_from(
    [
        "https://evil.example/api/v1/servers/?page=2",
        "http://admin.vps.org/api/v1/servers/?page=2",
        "https://admin.vps.org:444/api/v1/servers/?page=2",
        "https://admin.vps.org.evil.example/api/v1/servers/?page=2",
        "//evil.example/api/v1/servers/",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://user:pw@evil.example/",
        "",
        BASE + "/servers/?page=2",
    ]
) | st.text(max_size=30)


@E2E
@given(link=next_links)
async def test_next_links_never_leave_the_api(link: str) -> None:
    first = deepcopy(LIST_RESPONSE)
    first["next"] = link
    last = deepcopy(LIST_RESPONSE)
    async with mocked_client(max_retries=0) as (client, m, _):
        m.get(BASE + "/servers/", payload=first)
        m.get(BASE + "/servers/?page=2", payload=last)
        try:
            async with asyncio.timeout(5):
                ids = [s.id async for s in client.iter_servers()]
        except ResponseDecodeError:
            ids = None
        hosts = {url.host for _, url in m.requests}
    assert hosts == {"admin.vps.org"}  # the token went nowhere else
    if ids is not None:
        assert ids in ([12345, 12346], [12345, 12346, 12345, 12346])


@E2E
@given(cycle=st.integers(min_value=1, max_value=6), entry=st.integers(min_value=0, max_value=5))
async def test_looping_next_links_end(cycle: int, entry: int) -> None:
    """Pages 1..cycle, and the last links back to one of them: the iteration must end."""
    entry = 1 + entry % cycle
    async with mocked_client(max_retries=0) as (client, m, _):
        for n in range(1, cycle + 1):
            nxt = n + 1 if n < cycle else entry
            body = deepcopy(LIST_RESPONSE)
            body["next"] = f"{BASE}/servers/?page={nxt}"
            url = BASE + "/servers/" if n == 1 else f"{BASE}/servers/?page={n}"
            m.get(url, payload=body, repeat=True)
            if n == 1:
                m.get(f"{BASE}/servers/?page=1", payload=body, repeat=True)
        with pytest.raises(ResponseDecodeError, match="loop"):
            async with asyncio.timeout(5):
                _ = [s async for s in client.iter_servers()]
        assert sum(len(v) for v in m.requests.values()) <= cycle + 2


@E2E
@given(size=st.integers(min_value=1001, max_value=20_000), with_length=st.booleans())
async def test_huge_bodies_end_to_end(size: int, with_length: bool) -> None:
    body = b"{" + b" " * (size - 2) + b"}"
    headers = {"Content-Length": str(size)} if with_length else {}
    async with mocked_client(max_retries=0, max_response_bytes=1000) as (client, m, _):
        m.get(ITEM, body=body, headers=headers)
        result = await outcome(client.get_server(12345))
    assert isinstance(result, ResponseDecodeError)
    assert "cap" in str(result)


async def test_the_requests_go_only_to_the_api() -> None:
    async with mocked_client() as (client, m, _):
        m.get(ITEM, payload=DETAIL_RESPONSE)
        await client.get_server(12345)
    assert list(m.requests) == [("GET", URL(ITEM))]
