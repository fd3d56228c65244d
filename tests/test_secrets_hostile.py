"""Against a hostile server on loopback: the token never shows, messages stay short, memory bounded.

The server echoes the token in every way it can: JSON-escaped (``\\/`` and ``\\u00XX``), in a
request id header, percent-encoded, across the cut of a body excerpt, as the value of a field of
the wrong type, and in a malformed HTTP line so that aiohttp's own parser error quotes it. For
each error, no rendering (``str``, ``repr``, ``traceback.format_exception``, the chain, the
attributes) may hold the token or any 12 characters of it, however escaped.
"""

from __future__ import annotations

import asyncio
import json
import re
import traceback
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from copy import deepcopy
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import attrs
import pytest
from aiohttp import web
from aioresponses import aioresponses
from secret_helpers import chain, renderings

from vpsorg_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Client,
    Events,
    NotFoundError,
    RateLimitError,
    RequestEvent,
    RequestTimeoutError,
    ResponseDecodeError,
    ResponseEvent,
    RetryEvent,
    ServerError,
    ServerList,
    TransportError,
    ValidationError,
    VPSOrgError,
)
from vpsorg_async import _policy as policy
from vpsorg_async._answers import error_from_response
from vpsorg_async._convert import decode_json
from vpsorg_async._redact import bounded, redact
from vpsorg_async.testing.examples import DETAIL_RESPONSE, LIST_RESPONSE

if TYPE_CHECKING:
    from conftest import Serve

#: A token with ``/`` (JSON may escape it as ``\/``) and ``+`` (percent-encoding changes it).
TOKEN = "tok/S3CRET+5f3a9c1e7b2d4086/do-not-log"
#: Any run of this many of the token's characters counts as a leak (a cut token leaks too).
WINDOW = 12
BASE = "https://admin.vps.org/api/v1"


def u_escaped(text: str) -> str:
    """``text`` as JSON string content with every character ``\\u``-escaped."""
    return "".join(f"\\u{ord(c):04x}" for c in text)


def readings(text: str) -> list[str]:
    """``text`` as a reader could read it: raw, JSON-unescaped, percent-decoded, bytes-unescaped."""
    unescaped = re.sub(
        r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text.replace("\\/", "/")
    )
    return [text, unescaped, unquote(text), unquote(unescaped), text.replace("\\\\", "\\")]


def leaks(text: str, token: str = TOKEN) -> bool:
    windows = {token[i : i + WINDOW] for i in range(len(token) - WINDOW + 1)}
    return any(w in reading for reading in readings(text) for w in windows)


def assert_no_leak(exc: BaseException) -> None:
    for seen in chain(exc):
        assert seen.__cause__ is None or isinstance(seen.__cause__, VPSOrgError)
    for text in renderings(exc):
        assert not leaks(text), text


async def failure(call: Awaitable[Any]) -> VPSOrgError:
    try:
        await call
    except VPSOrgError as exc:
        return exc
    raise AssertionError("the call did not fail")


def test_the_leak_check_sees_every_form() -> None:
    for form in (
        TOKEN,
        TOKEN.replace("/", "\\/"),
        u_escaped(TOKEN),
        quote(TOKEN, safe=""),
        quote(TOKEN, safe="").lower(),
        "xx" + TOKEN[:WINDOW],
        repr(TOKEN.encode()),
    ):
        assert leaks(f"detail: {form} ..."), form
    assert not leaks(f"detail: {TOKEN[: WINDOW - 1]} ***")


# --- the hostile server ---------------------------------------------------------------------------


#: The detail example, as text, with the token planted as a field value of the wrong type.
def _detail_with(**fields: Any) -> str:
    return json.dumps({**deepcopy(DETAIL_RESPONSE), **fields})


ESCAPED_SLASH = TOKEN.replace("/", "\\/")
MIXED_ESCAPES = u_escaped(TOKEN[:20]) + TOKEN[20:].replace("/", "\\/")
#: What each server id answers: (status, headers, body).
ANSWERS: dict[int, tuple[int, dict[str, str], str]] = {
    # JSON-escaped echoes, in the detail, in field errors, as a field name, nested
    1: (401, {}, f'{{"detail": "Invalid token: Bearer {ESCAPED_SLASH}"}}'),
    2: (400, {}, f'{{"name": ["echo {u_escaped(TOKEN)}"], "{u_escaped(TOKEN)}": ["bad"]}}'),
    3: (400, {}, f'{{"detail": {{"echo": "{ESCAPED_SLASH}"}}, "x": [{{"h": "{TOKEN}"}}]}}'),
    4: (400, {}, f'{{"non_field_errors": ["{MIXED_ESCAPES}"]}}'),
    # request id headers
    5: (404, {"X-Request-Id": f"req-{TOKEN}"}, '{"detail": "Not found."}'),
    6: (429, {"X-Correlation-Id": quote(TOKEN, safe=""), "Retry-After": "1"}, ""),
    # excerpts of non-JSON bodies, the token across the cut (80 bytes before, 200 now)
    7: (200, {}, "x" * 60 + TOKEN + "y" * 40),
    8: (500, {}, "x" * 185 + TOKEN + "y" * 40),
    9: (502, {}, "<html>Authorization: Bearer " + quote(TOKEN, safe="") + "</html>"),
    10: (200, {}, f'{{"id": 10, "detail": "Bearer {ESCAPED_SLASH}'),  # truncated JSON
    # a wrong-type field whose value is the token
    11: (200, {}, _detail_with(id=TOKEN)),
    12: (200, {}, _detail_with(created_at=TOKEN)),
    13: (200, {}, _detail_with(plan={**DETAIL_RESPONSE["plan"], "memory": TOKEN})),
    14: (200, {}, _detail_with(status=[TOKEN])),
}
EXPECTED: dict[int, type[VPSOrgError]] = {
    1: AuthenticationError,
    2: BadRequestError,
    3: BadRequestError,
    4: BadRequestError,
    5: NotFoundError,
    6: RateLimitError,
    7: ResponseDecodeError,
    8: ServerError,
    9: ServerError,
    10: ResponseDecodeError,
    11: ResponseDecodeError,
    12: ResponseDecodeError,
    13: ResponseDecodeError,
    14: ResponseDecodeError,
}


@pytest.fixture
async def echoing(serve: Serve) -> str:
    async def answer(request: web.Request) -> web.Response:
        status, headers, body = ANSWERS[int(request.match_info["id"])]
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        return web.Response(status=status, headers=headers, text=body)

    app = web.Application()
    app.router.add_get("/api/v1/servers/{id}/", answer)
    return await serve(app)


@pytest.mark.parametrize("server_id", sorted(ANSWERS))
async def test_an_echoed_token_never_shows(echoing: str, server_id: int) -> None:
    async with Client(TOKEN, base_url=echoing, max_retries=0) as client:
        error = await failure(client.get_server(server_id))
    assert type(error) is EXPECTED[server_id]
    assert_no_leak(error)
    if isinstance(error, APIError):  # the data a user may print stays clean too
        for text in (error.detail or "", repr(error.field_errors), error.request_id or ""):
            assert not leaks(text), text


async def test_the_hooks_records_never_carry_an_echoed_token(echoing: str) -> None:
    """Every record of every attempt (retries of 429, 500 and 502 included), rendered every way."""
    heard: list[RequestEvent | ResponseEvent | RetryEvent] = []
    events = Events(on_request=heard.append, on_response=heard.append, on_retry=heard.append)

    async def no_wait(seconds: float) -> None:
        return None

    async with Client(TOKEN, base_url=echoing, sleep=no_wait, events=events) as client:
        for server_id in sorted(ANSWERS):
            await failure(client.get_server(server_id))
    assert {r.server_id for r in heard} == set(ANSWERS)
    assert sum(isinstance(r, RetryEvent) for r in heard) >= 6  # 6, 8, 9 were retried
    for record in heard:
        for text in (repr(record), str(attrs.asdict(record, recurse=False))):
            assert not leaks(text), text
        error = getattr(record, "error", None)
        if error is not None:
            assert_no_leak(error)


async def test_redaction_keeps_what_is_not_the_token(echoing: str) -> None:
    async with Client(TOKEN, base_url=echoing, max_retries=0) as client:
        error = await failure(client.get_server(2))
        assert isinstance(error, BadRequestError)
        assert error.field_errors == {"name": ["echo ***"], "***": ["bad"]}
        error = await failure(client.get_server(5))
        assert isinstance(error, APIError)
        assert error.request_id == "req-***"
        error = await failure(client.get_server(11))
        assert "expected int, got str @ ServerDetail.id" in str(error)
        error = await failure(client.get_server(13))
        assert "ServerDetail.plan.memory" in str(error)


# --- malformed HTTP: aiohttp's parser quotes the raw line --------------------------------------

RAW_ANSWERS = {
    "status": f"HTTP/1.1 2x0 Bearer {TOKEN}\r\nContent-Length: 0\r\n\r\n",
    "header": f"HTTP/1.1 200 OK\r\nBad header {TOKEN}\r\nContent-Length: 0\r\n\r\n",
    "chunk": f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{TOKEN}\r\n",
    "cut": f"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n{TOKEN}",
}


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[str], str]]:
    answer: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer[0].encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def serving(text: str) -> str:
        answer[:] = [text]
        return f"http://127.0.0.1:{port}/api/v1"

    yield serving
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("kind", sorted(RAW_ANSWERS))
async def test_a_parser_error_quoting_the_token_never_shows_it(
    raw_server: Callable[[str], str], kind: str
) -> None:
    async with Client(TOKEN, base_url=raw_server(RAW_ANSWERS[kind]), max_retries=0) as client:
        error = await failure(client.get_server(1, timeout=5))
    assert type(error) is TransportError
    assert "ClientResponseError" in str(error) or "Payload" in str(error)
    # aiohttp's exception carries the request's headers: it is neither cause nor context
    assert error.__cause__ is None
    assert error.__context__ is None
    assert_no_leak(error)


async def test_a_connect_failure_names_its_cause(unused_tcp_port: int) -> None:
    base = f"http://127.0.0.1:{unused_tcp_port}/api/v1"
    async with Client(TOKEN, base_url=base, max_retries=0) as client:
        error = await failure(client.get_server(1, timeout=5))
    assert isinstance(error, TransportError)
    assert not error.sent
    assert "cannot connect: ClientConnectorError: Cannot connect to host 127.0.0.1" in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None
    assert_no_leak(error)


def test_redact_catches_every_form_and_only_the_token() -> None:
    escaped_mix = u_escaped(TOKEN[:9]) + TOKEN[9:].replace("/", "\\/")
    for form in (TOKEN, escaped_mix, quote(TOKEN, safe=""), quote(TOKEN).lower(), repr(TOKEN)):
        text = redact(f"a\\nb {form} c", TOKEN)
        assert not leaks(text), text
        assert "***" in text
    assert redact("C:\\temp \\u0041 plain", TOKEN) == "C:\\temp \\u0041 plain"  # no token: as is
    assert redact(TOKEN, None) == TOKEN
    assert redact(TOKEN, "") == TOKEN


# --- bounded messages ---------------------------------------------------------------------------


def message_parts(text: str) -> tuple[str, int]:
    match = re.fullmatch(r"(.*)… \((\d+) more\)", text, re.DOTALL)
    assert match, text[-80:]
    return match.group(1), int(match.group(2))


def test_a_huge_detail_gives_a_short_message_and_keeps_the_data() -> None:
    detail = "d" * 60_000  # under the error body cap: parsed, and kept whole on the attribute
    body = json.dumps({"detail": detail}).encode()
    error = error_from_response(status=400, method="POST", path="/servers/", headers={}, body=body)
    assert error.detail == detail
    full = f"POST /servers/ answered 400: {detail}"
    assert len(str(error)) <= policy.MESSAGE_CHARS
    assert len(repr(error)) <= policy.MESSAGE_CHARS + len("BadRequestError('')")
    kept, more = message_parts(str(error))
    assert full.startswith(kept)
    assert len(kept) + more == len(full)


def test_an_error_body_over_its_cap_is_not_parsed() -> None:
    body = json.dumps({"detail": "d" * policy.ERROR_BODY_BYTES}).encode()
    error = error_from_response(status=400, method="POST", path="/servers/", headers={}, body=body)
    assert error.detail is not None
    assert error.detail.startswith('{"detail": "ddd')
    assert error.detail.endswith("...")


async def test_an_8_mib_detail_gives_a_short_message(mocked: aioresponses) -> None:
    mocked.get(BASE + "/servers/1/", status=400, payload={"detail": "x" * 8 * 1024 * 1024})
    async with Client(TOKEN) as client:
        error = await failure(client.get_server(1))
    assert isinstance(error, BadRequestError)
    assert len(str(error)) <= policy.MESSAGE_CHARS
    assert len(repr(error)) <= policy.MESSAGE_CHARS + 50
    assert len("".join(traceback.format_exception(error))) < policy.MESSAGE_CHARS + 2000


@pytest.mark.parametrize(
    "make",
    [
        lambda text: VPSOrgError(text),
        lambda text: ValidationError("name", text),
        lambda text: ResponseDecodeError(text, method="GET", path="/p/", status=200),
        lambda text: TransportError(text, method="GET", path="/p/"),
        lambda text: RequestTimeoutError(text, method="GET", path="/p/"),
        lambda text: APIError(status=400, method="GET", path="/p/", field_errors={"f": [text]}),
        lambda text: APIError(status=400, method="GET", path="/p/", request_id=text),
    ],
)
def test_every_error_message_is_bounded(make: Callable[[str], VPSOrgError]) -> None:
    error = make("z" * 1_000_000)
    assert len(str(error)) <= policy.MESSAGE_CHARS
    _kept, more = message_parts(str(error))
    assert more > 990_000
    assert len(repr(error)) <= policy.MESSAGE_CHARS + 50
    assert "short" in str(make("short"))


def test_bounded_cuts_exactly() -> None:
    assert bounded("abc", 10) == "abc"
    assert bounded("a" * 10, 10) == "a" * 10
    text = bounded("a" * 100, 20)
    assert len(text) <= 20
    kept, more = message_parts(text)
    assert len(kept) + more == 100


# --- bounded memory ------------------------------------------------------------------------------


def test_an_answer_over_its_endpoint_cap_is_refused() -> None:
    from vpsorg_async._endpoints import ENDPOINTS

    assert ENDPOINTS["list_servers"].max_body == policy.MAX_RESPONSE_BYTES
    for name, row in ENDPOINTS.items():
        if name != "list_servers":
            assert row.max_body == policy.ANSWER_BYTES, name


async def test_a_detail_over_one_mib_is_refused_under_the_client_cap(
    mocked: aioresponses,
) -> None:
    body = _detail_with(padding="p" * (policy.ANSWER_BYTES + 10))
    mocked.get(BASE + "/servers/12345/", body=body)
    async with Client(TOKEN, max_retries=0) as client:  # the client's own cap is 32 MiB
        error = await failure(client.get_server(12345))
    assert isinstance(error, ResponseDecodeError)
    assert f"{policy.ANSWER_BYTES}-byte cap" in str(error)


async def test_an_endless_error_body_is_cut_not_read(serve: Serve) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=400, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"detail": "' + b"e" * 1000)
        while True:  # never ends: only a client that stops reading gets its answer
            await response.write(b"e" * 65536)

    app = web.Application()
    app.router.add_get("/api/v1/servers/1/", endless)
    base = await serve(app)
    async with Client(TOKEN, base_url=base, max_retries=0) as client:
        error = await failure(client.get_server(1, timeout=10))
    assert isinstance(error, BadRequestError)  # the status still says what went wrong
    assert error.detail is not None
    assert error.detail.startswith('{"detail": "eee')
    assert len(error.detail) < 1000


def hostile_31_mib(wrapped: bool) -> bytes:
    """31 MiB of ``[{},{},...]`` (under the 32 MiB list cap), bare or as a page's results."""
    units = 31 * 1024 * 1024 // 3
    array = b"[" + b"{}," * (units - 1) + b"{}]"
    return b'{"count": 1, "results": ' + array + b"}" if wrapped else array


@pytest.mark.parametrize(
    ("status", "wrapped", "expected"),
    [
        (200, False, ResponseDecodeError),
        (400, False, BadRequestError),
        (200, True, ResponseDecodeError),
        (400, True, BadRequestError),
    ],
    ids=["list-200", "list-400", "results-200", "results-400"],
)
async def test_a_31_mib_hostile_body_stays_in_the_memory_budget(
    mocked: aioresponses, status: int, wrapped: bool, expected: type[VPSOrgError]
) -> None:
    mocked.get(BASE + "/servers/", status=status, body=hostile_31_mib(wrapped))
    async with Client(TOKEN, max_retries=0) as client:
        tracemalloc.start()
        try:
            error = await failure(client.list_servers())
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert type(error) is expected
    assert len(str(error)) <= policy.MESSAGE_CHARS
    # the 31 MiB body itself is read (aioresponses copies it once more); no parse of it is made
    assert peak < 256 * 1024 * 1024, peak


def traced_peak(work: Callable[[], object]) -> int:
    """The peak of Python allocations while ``work`` runs (its result is dropped after)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(body: bytes) -> None:
    with pytest.raises(
        ResponseDecodeError, match=r"expected a JSON object for ServerList|not JSON"
    ):
        decode_json(body, ServerList, secret=TOKEN)


@pytest.mark.parametrize(
    "body",
    [
        b"[" + b",".join([b"{}"] * 200_000) + b"]",
        b"  \n" + b'"' + b"s" * 100_000 + b'"',
        b"12345",
        b"null",
        b"<html>" + b"x" * 100_000,
    ],
)
def test_a_body_that_is_not_an_object_is_refused_before_parsing(body: bytes) -> None:
    # refused at its first byte: nothing of it is built (the message's excerpt reads 64 KiB)
    assert traced_peak(lambda: refused(body)) < 256 * 1024


def test_a_page_of_the_wrong_shape_fails_at_its_first_item() -> None:
    body = b'{"count": 1, "results": [' + b",".join([b'{"":{}}'] * 1_000_000) + b"]}"

    def wrong_shape() -> None:
        with pytest.raises(ResponseDecodeError, match=r"required field.*ServerList\.results\[0\]"):
            decode_json(body, ServerList, secret=TOKEN)

    assert traced_peak(wrong_shape) < 64 * 1024


def test_unknown_fields_are_skipped_without_being_built() -> None:
    junk = b"[" + b",".join([b'{"":{}}'] * 1_000_000) + b"]"
    body = b'{"count": 0, "results": [], "junk": ' + junk + b"}"
    page = decode_json(body, ServerList, secret=TOKEN)
    assert page.results == []
    assert traced_peak(lambda: decode_json(body, ServerList)) < 64 * 1024


def test_the_densest_valid_page_costs_at_most_eight_times_its_size() -> None:
    # The list cap (32 MiB) times this ratio stays under the 256 MiB bound on any answer's
    # peak: every server with the shortest distinct strings the models allow.
    item = dict(LIST_RESPONSE["results"][0], hostname=None, ip_address=None)
    servers = [
        dict(item, id=i, name=f"{i:x}", location=f"{i % 97:x}", status=f"{i % 89:x}")
        for i in range(30_000)
    ]
    body = json.dumps({"count": 30_000, "results": servers}, separators=(",", ":")).encode()
    peak = traced_peak(lambda: decode_json(body, ServerList))
    assert peak < 8 * len(body), peak / len(body)
    assert policy.MAX_RESPONSE_BYTES * 8 <= 256 * 1024 * 1024


def test_a_large_real_list_is_still_read() -> None:
    servers = [dict(LIST_RESPONSE["results"][0], id=i, name=f"s-{i}") for i in range(20_000)]
    body = json.dumps({"count": 20_000, "results": servers}).encode()
    assert len(body) > 5 * 1024 * 1024
    page = decode_json(body, ServerList, secret=TOKEN)
    assert len(page.results) == 20_000
