"""The session layer: retries, backoff, Retry-After, deadlines, create safety, cancellation, logs."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import json
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from vpsorg_async import (
    AmbiguousCreateError,
    APIError,
    Client,
    CreateServer,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TransportError,
)
from vpsorg_async._wire import parse_retry_after
from vpsorg_async.testing.examples import (
    CREATE_REQUEST,
    CREATE_RESPONSE,
    DETAIL_RESPONSE,
    LIST_RESPONSE,
    START_RESPONSE,
)

if TYPE_CHECKING:
    from conftest import Hanging, MakeClient, Serve, Stall

    from vpsorg_async.testing import ManualClock

BASE = "https://admin.vps.org/api/v1"
ITEM = BASE + "/servers/12345/"
CREATE_URL = BASE + "/servers/"


def connect_error() -> aiohttp.ClientConnectorError:
    key = ConnectionKey("admin.vps.org", 443, True, True, None, None, None)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


def count(m: aioresponses, method: str = "GET", url: str = ITEM) -> int:
    return len(m.requests.get((method, URL(url)), []))


@pytest.fixture
def upper_jitter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Full jitter draws uniform(0, step); make it draw the step itself and record the calls."""
    calls: list[tuple[float, float]] = []

    def uniform(a: float, b: float) -> float:
        calls.append((a, b))
        return b

    monkeypatch.setattr(random, "uniform", uniform)
    return calls


async def hang(url: URL, **kwargs: Any) -> CallbackResult:
    """An aioresponses callback whose answer never comes."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


# --- what is retried, and how often --------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_transient_statuses_are_retried(
    mocked: aioresponses, client: Client, fake_time: ManualClock, status: int
) -> None:
    mocked.get(ITEM, status=status)
    mocked.get(ITEM, status=status)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(12345)).id == 12345
    assert count(mocked) == 3
    assert len(fake_time.sleeps) == 2


@pytest.mark.parametrize(("max_retries", "requests"), [(0, 1), (1, 2), (2, 3), (5, 6)])
async def test_retry_counts(
    mocked: aioresponses,
    make_client: MakeClient,
    fake_time: ManualClock,
    max_retries: int,
    requests: int,
) -> None:
    client = make_client(max_retries=max_retries, timeout=600)
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(ServerError) as info:
        await client.get_server(12345)
    assert count(mocked) == requests
    assert info.value.attempts == requests
    assert len(fake_time.sleeps) == requests - 1


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 418, 501, 505])
async def test_other_errors_are_not_retried(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock, status: int
) -> None:
    client = make_client(max_retries=5)
    mocked.get(ITEM, status=status, repeat=True)
    with pytest.raises(APIError) as info:
        await client.get_server(12345)
    assert info.value.status == status
    assert count(mocked) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    ("error", "sent"),
    [
        (connect_error(), False),
        (aiohttp.ConnectionTimeoutError("connect timed out"), False),
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientPayloadError("cut"), True),
        (aiohttp.ServerTimeoutError("read timed out"), True),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), True),
    ],
    ids=["connect", "connect-timeout", "disconnected", "payload", "read-timeout", "reset"],
)
async def test_transport_failures_are_retried(
    mocked: aioresponses, client: Client, error: Exception, sent: bool
) -> None:
    mocked.get(ITEM, exception=error)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(12345)).id == 12345
    assert count(mocked) == 2
    mocked.get(ITEM, exception=error, repeat=True)
    with pytest.raises(TransportError) as info:
        await client.get_server(12345)
    assert info.value.sent is sent
    assert info.value.attempts == 3
    # aiohttp's exception carries the request's headers: named in the message, never chained
    assert info.value.__cause__ is None
    assert info.value.__context__ is None
    assert type(error).__name__ in str(info.value)
    assert str(info.value).startswith("GET /servers/12345/: ")
    assert count(mocked) == 5


async def test_max_retries_zero_makes_exactly_one_request(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(max_retries=0)
    mocked.get(ITEM, exception=aiohttp.ServerDisconnectedError(), repeat=True)
    with pytest.raises(TransportError):
        await client.get_server(12345)
    mocked.post(CREATE_URL, status=429, repeat=True)
    with pytest.raises(RateLimitError):
        await client.create_server(**CREATE_REQUEST)
    assert count(mocked) == 1
    assert count(mocked, "POST", CREATE_URL) == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "name", ["update_server", "patch_server", "delete_server", "start_server", "list_servers"]
)
async def test_idempotent_endpoints_are_retried_after_a_lost_answer(
    mocked: aioresponses, client: Client, name: str
) -> None:
    calls: dict[str, tuple[str, str, dict[str, Any], str]] = {
        "update_server": (
            "PUT",
            ITEM,
            {"name": "a", "hostname": "a.example.com", "backups_enabled": True},
            json.dumps(DETAIL_RESPONSE),
        ),
        "patch_server": ("PATCH", ITEM, {"name": "a"}, json.dumps(DETAIL_RESPONSE)),
        "delete_server": ("DELETE", ITEM, {}, ""),
        "start_server": ("POST", ITEM + "start/", {}, json.dumps(START_RESPONSE)),
        "list_servers": ("GET", BASE + "/servers/", {}, json.dumps(LIST_RESPONSE)),
    }
    method, url, kwargs, body = calls[name]
    status = 204 if method == "DELETE" else 200
    mocked.add(url, method, exception=aiohttp.ServerDisconnectedError())
    mocked.add(url, method, status=status, body=body)
    args = () if name == "list_servers" else (12345,)
    await getattr(client, name)(*args, **kwargs)
    assert count(mocked, method, url) == 2


# --- backoff: exponential full jitter ------------------------------------------------------------


async def test_backoff_steps_are_exponential_and_capped(
    mocked: aioresponses,
    make_client: MakeClient,
    fake_time: ManualClock,
    upper_jitter: list[tuple[float, float]],
) -> None:
    client = make_client(max_retries=6, timeout=600)
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(ServerError):
        await client.get_server(12345)
    assert fake_time.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert upper_jitter == [(0, s) for s in fake_time.sleeps]  # full jitter: uniform(0, step)


async def test_backoff_sleeps_are_jittered_within_bounds(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(max_retries=6, timeout=600)
    mocked.get(ITEM, status=502, repeat=True)
    for _ in range(5):
        with pytest.raises(ServerError):
            await client.get_server(12345)
    bounds = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0] * 5
    assert len(fake_time.sleeps) == len(bounds)
    assert all(0 <= s <= b for s, b in zip(fake_time.sleeps, bounds, strict=True))
    assert len(set(fake_time.sleeps)) > 1  # drawn, not fixed
    assert any(s < b for s, b in zip(fake_time.sleeps, bounds, strict=True))


# --- Retry-After ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "header", "low", "high"),
    [
        (429, "7", 7.0, 7.0),
        (429, "0.25", 0.25, 0.5),  # the jittered step may be longer than the hint
        (429, "3600", 60.0, 60.0),  # capped
        (429, "-5", 0.0, 0.5),  # negative: no pause beyond the backoff step
        (429, "soon", 0.0, 0.5),  # garbage: ignored
        (429, "", 0.0, 0.5),
        (429, None, 0.0, 0.5),  # no Retry-After: the backoff step alone
        (503, "5", 5.0, 5.0),  # honoured on a 503 too
    ],
)
async def test_retry_after_seconds(
    mocked: aioresponses,
    make_client: MakeClient,
    fake_time: ManualClock,
    status: int,
    header: str | None,
    low: float,
    high: float,
) -> None:
    client = make_client(timeout=600)
    mocked.get(ITEM, status=status, headers={} if header is None else {"Retry-After": header})
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(12345)).id == 12345
    assert count(mocked) == 2
    assert len(fake_time.sleeps) == 1
    assert low <= fake_time.sleeps[0] <= high


async def test_retry_after_http_date(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(timeout=600)
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    mocked.get(ITEM, status=429, headers={"Retry-After": when})
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    assert 28.0 <= fake_time.sleeps[0] <= 30.5


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(timeout=10)
    mocked.get(ITEM, status=429, headers={"Retry-After": "30"}, repeat=True)
    with pytest.raises(RateLimitError) as info:
        await client.get_server(12345)
    assert info.value.retry_after == 30.0
    assert count(mocked) == 1
    assert fake_time.sleeps == []
    assert any("deadline" in note for note in info.value.__notes__)


# --- parse_retry_after ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("5", 5.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("-inf", 0.0),
        ("1e9", 60.0),
        ("inf", 60.0),
        ("60", 60.0),
        ("61", 60.0),
        ("nan", None),
        ("", None),
        ("soon", None),
        ("5 seconds", None),
        ("Tue, 99 Jan 2024 00:00:00 GMT", None),
        ("\x00", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_dates() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 10, usegmt=True)
    assert parse_retry_after(date, now=now) == 10.0
    assert parse_retry_after(date, now=now + 100) == 0.0  # in the past
    assert parse_retry_after(date, now=now - 1000) == 60.0  # capped
    assert parse_retry_after(email.utils.formatdate(now + 10), now=now) == 10.0  # numeric zone
    assert parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", now=now) == 0.0
    real = parse_retry_after(email.utils.formatdate(time.time() + 20, usegmt=True))
    assert real is not None
    assert 18 <= real <= 20.5


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 01 Jan 99999999999999999999 00:00:00 GMT",
        "Mon, 01 Jan 2024 00:00:00 +99999999999999999999",
    ],
)
def test_parse_retry_after_survives_overflowing_dates(value: str) -> None:
    assert parse_retry_after(value) is None


# --- the overall deadline ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_timeout", "call_timeout", "sleeps", "note"),
    [
        # 1.5 s spent; the next 2 s step would end at 3.5 s, past the 2 s deadline
        (2, None, [0.5, 1.0], "not retried: the call's 2.0 s deadline"),
        # a per-call timeout overrides the client's
        (600, 1, [0.5], "not retried: the call's 1 s deadline"),
    ],
    ids=["client-timeout", "per-call-timeout"],
)
async def test_no_retry_whose_sleep_would_cross_the_deadline(
    mocked: aioresponses,
    make_client: MakeClient,
    fake_time: ManualClock,
    upper_jitter: list[tuple[float, float]],
    client_timeout: float,
    call_timeout: float | None,
    sleeps: list[float],
    note: str,
) -> None:
    client = make_client(timeout=client_timeout, max_retries=10)
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(ServerError) as info:
        await client.get_server(12345, timeout=call_timeout)
    assert fake_time.sleeps == sleeps
    assert count(mocked) == len(sleeps) + 1
    assert info.value.__notes__ == [note]


async def test_an_attempt_that_outlives_the_deadline_times_out(
    hanging: Hanging, make_client: MakeClient
) -> None:
    client = make_client(base_url=hanging.base_url)
    started = time.monotonic()
    with pytest.raises(RequestTimeoutError) as info:
        await client.get_server(12345, timeout=0.05)
    assert time.monotonic() - started < 2
    assert hanging.counts == {"GET /api/v1/servers/12345/": 1}  # the deadline is spent: no retry
    assert info.value.attempts == 1
    assert info.value.sent is True
    assert "deadline" in str(info.value)


async def test_a_slow_real_server_times_out(hanging: Hanging, token: str) -> None:
    async with Client(token, base_url=hanging.base_url, timeout=0.1) as client:
        with pytest.raises(RequestTimeoutError):
            await client.get_server(1)
    assert hanging.counts["GET /api/v1/servers/1/"] >= 1


async def test_a_deadline_that_passed_during_backoff(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    # the loop woke up 5 s late, past the call's deadline
    client = make_client(timeout=2, sleep=lambda seconds: fake_time.sleep(seconds + 5.0))
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(RequestTimeoutError, match="deadline passed") as info:
        await client.get_server(12345)
    assert count(mocked) == 1
    assert info.value.attempts == 2


async def test_a_deadline_that_passed_before_sending_says_not_sent(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    client = make_client(timeout=2, sleep=lambda seconds: fake_time.sleep(seconds + 5.0))
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(RequestTimeoutError) as info:
        await client.get_server(12345)
    assert info.value.sent is False


# --- create safety -------------------------------------------------------------------------------


async def test_create_is_retried_after_429(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    mocked.post(CREATE_URL, status=429, headers={"Retry-After": "2"})
    mocked.post(CREATE_URL, status=201, payload=CREATE_RESPONSE)
    created = await client.create_server(**CREATE_REQUEST)
    assert created.id == 12347
    assert count(mocked, "POST", CREATE_URL) == 2
    assert fake_time.sleeps == [2.0]


@pytest.mark.parametrize(
    "error",
    [connect_error(), aiohttp.ConnectionTimeoutError("connect timed out")],
    ids=["refused", "connect-timeout"],
)
async def test_create_is_retried_when_the_connection_never_opened(
    mocked: aioresponses, client: Client, error: Exception
) -> None:
    mocked.post(CREATE_URL, exception=error)
    mocked.post(CREATE_URL, status=201, payload=CREATE_RESPONSE)
    assert (await client.create_server(**CREATE_REQUEST)).id == 12347
    assert count(mocked, "POST", CREATE_URL) == 2


async def test_create_gives_up_after_unsent_failures(mocked: aioresponses, client: Client) -> None:
    mocked.post(CREATE_URL, exception=connect_error(), repeat=True)
    with pytest.raises(TransportError) as info:
        await client.create_server(**CREATE_REQUEST)
    assert not isinstance(info.value, AmbiguousCreateError)
    assert info.value.sent is False
    assert count(mocked, "POST", CREATE_URL) == 3


async def test_create_rate_limited_throughout(mocked: aioresponses, client: Client) -> None:
    mocked.post(CREATE_URL, status=429, repeat=True)
    with pytest.raises(RateLimitError):
        await client.create_server(**CREATE_REQUEST)
    assert count(mocked, "POST", CREATE_URL) == 3


@pytest.mark.parametrize(
    ("answer", "cause"),
    [
        ({"status": 500}, ServerError),
        ({"status": 502, "body": "<html>Bad Gateway</html>"}, ServerError),
        ({"status": 503}, ServerError),
        ({"status": 504}, ServerError),
        ({"exception": aiohttp.ServerDisconnectedError()}, TransportError),
        ({"exception": aiohttp.ClientPayloadError("cut")}, TransportError),
        ({"exception": aiohttp.ServerTimeoutError("read timeout")}, TransportError),
    ],
    ids=["500", "502", "503", "504", "disconnected", "cut", "read-timeout"],
)
async def test_an_ambiguous_create_is_never_resent(
    mocked: aioresponses,
    client: Client,
    fake_time: ManualClock,
    answer: dict[str, Any],
    cause: type[Exception],
) -> None:
    mocked.post(CREATE_URL, repeat=True, **answer)
    with pytest.raises(AmbiguousCreateError) as info:
        await client.create_server(**CREATE_REQUEST)
    assert count(mocked, "POST", CREATE_URL) == 1
    assert fake_time.sleeps == []
    error = info.value
    assert error.request == CreateServer(**CREATE_REQUEST)
    assert isinstance(error.cause, cause)
    assert error.__cause__ is error.cause
    if isinstance(error.cause, TransportError):
        assert error.cause.sent is True
    assert "web-server-02" in str(error)


async def test_a_create_that_times_out_is_ambiguous_and_sent_once(
    hanging: Hanging, make_client: MakeClient
) -> None:
    client = make_client(base_url=hanging.base_url)
    with pytest.raises(AmbiguousCreateError) as info:
        await client.create_server(**CREATE_REQUEST, timeout=0.05)
    assert isinstance(info.value.cause, RequestTimeoutError)
    assert info.value.cause.sent
    assert hanging.counts == {"POST /api/v1/servers/": 1}


# --- DELETE after a lost answer ------------------------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [{"exception": aiohttp.ServerDisconnectedError()}, {"status": 503}],
    ids=["lost", "503"],
)
async def test_delete_retried_into_404_counts_as_done(
    mocked: aioresponses, client: Client, first: dict[str, Any]
) -> None:
    mocked.delete(ITEM, **first)
    mocked.delete(ITEM, status=404, payload={"detail": "Not found."})
    assert await client.delete_server(12345) is None  # type: ignore[func-returns-value]
    assert count(mocked, "DELETE", ITEM) == 2


async def test_a_first_404_on_delete_is_an_error(mocked: aioresponses, client: Client) -> None:
    mocked.delete(ITEM, status=404, payload={"detail": "Not found."})
    with pytest.raises(NotFoundError):
        await client.delete_server(12345)


async def test_a_404_after_a_retry_elsewhere_is_still_an_error(
    mocked: aioresponses, client: Client
) -> None:
    mocked.get(ITEM, status=503)
    mocked.get(ITEM, status=404)
    with pytest.raises(NotFoundError):
        await client.get_server(12345)


# --- cancellation --------------------------------------------------------------------------------


def pending_tasks() -> set[asyncio.Task[Any]]:
    """Unfinished tasks besides this test's own, not counting a test server's handlers."""
    return {
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task()
        and not t.done()
        and "aiohttp/web_" not in t.get_coro().cr_code.co_filename  # type: ignore[union-attr]
    }


async def test_cancel_during_backoff(
    mocked: aioresponses, make_client: MakeClient, stall: Stall
) -> None:
    client = make_client(sleep=stall)
    mocked.get(ITEM, status=503, repeat=True)
    await stall.cancel_in_sleep(client.get_server(12345))
    assert count(mocked) == 1  # not retried after the cancel
    assert pending_tasks() == set()


async def test_cancel_during_a_request(mocked: aioresponses, client: Client) -> None:
    started = asyncio.Event()

    async def stuck(url: URL, **kwargs: Any) -> CallbackResult:
        started.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")  # pragma: no cover

    mocked.post(CREATE_URL, callback=stuck, repeat=True)
    task = asyncio.create_task(client.create_server(**CREATE_REQUEST))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    assert count(mocked, "POST", CREATE_URL) == 1  # not resent, not turned into Ambiguous
    assert pending_tasks() == set()
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    assert (await client.get_server(12345)).id == 12345  # the client still works


async def test_a_cancellation_from_below_is_not_retried(
    mocked: aioresponses, client: Client, fake_time: ManualClock
) -> None:
    mocked.get(ITEM, exception=asyncio.CancelledError(), repeat=True)
    with pytest.raises(asyncio.CancelledError):
        await client.get_server(12345)
    assert count(mocked) == 1
    assert fake_time.sleeps == []


async def test_an_outer_timeout_is_not_swallowed(mocked: aioresponses, client: Client) -> None:
    mocked.get(ITEM, callback=hang, repeat=True)
    with pytest.raises(TimeoutError) as info:
        async with asyncio.timeout(0.05):
            await client.get_server(12345)  # the call's own deadline is 60 s
    assert not isinstance(info.value, RequestTimeoutError)
    assert count(mocked) == 1


async def test_cancel_a_real_request_leaves_nothing_open(serve: Serve, token: str) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/api/v1/servers/{id}/", slow)
    base = await serve(app)
    try:
        async with Client(token, base_url=base) as client:
            task = asyncio.create_task(client.get_server(1))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert client.closed
        assert pending_tasks() == set()
    finally:
        release.set()


# --- logging -------------------------------------------------------------------------------------


def records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "vpsorg_async.http" and r.levelno == level
    ]


async def test_one_debug_line_per_attempt_and_an_info_line_per_retry(
    mocked: aioresponses, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vpsorg_async")
    mocked.get(ITEM, status=503)
    mocked.get(ITEM, exception=aiohttp.ServerDisconnectedError())
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    debug = records(caplog, logging.DEBUG)
    assert len(debug) == 3
    assert debug[0].startswith("GET /servers/12345/ -> 503 in ")
    assert debug[0].endswith("ms (attempt 1)")
    assert debug[1].startswith("GET /servers/12345/ -> no answer in ")
    assert debug[1].endswith("(attempt 2)")
    assert debug[2].startswith("GET /servers/12345/ -> 200 in ")
    assert debug[2].endswith("(attempt 3)")
    info = records(caplog, logging.INFO)
    assert len(info) == 2
    assert info[0].startswith("GET /servers/12345/ failed (503); retry 1 of 2 in ")
    assert info[1].startswith("GET /servers/12345/ failed (TransportError); retry 2 of 2 in ")
    assert records(caplog, logging.WARNING) == []  # a retry is routine, not a warning


async def test_no_retry_line_without_a_retry(
    mocked: aioresponses, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="vpsorg_async")
    client = make_client(max_retries=0)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    mocked.get(ITEM, status=503)
    await client.get_server(12345)
    with pytest.raises(ServerError):
        await client.get_server(12345)
    assert len(records(caplog, logging.DEBUG)) == 2
    assert records(caplog, logging.INFO) == []


async def test_nothing_is_logged_above_debug_on_success(
    mocked: aioresponses, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vpsorg_async")
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    assert [r for r in caplog.records if r.name.startswith("vpsorg_async")] == []


# --- on the wire (a real aiohttp server on 127.0.0.1) -------------------------------------------


async def test_headers_and_body_on_the_wire(serve: Serve, token: str) -> None:
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.method, request.path_qs, dict(request.headers), await request.read()))
        if request.method == "POST":
            return web.json_response(CREATE_RESPONSE, status=201)
        return web.json_response(LIST_RESPONSE)

    app = web.Application()
    app.router.add_route("*", "/api/v1/servers/", record)
    base = await serve(app)
    async with Client(token, base_url=base + "/") as client:
        await client.list_servers(status="active")
        await client.create_server(**CREATE_REQUEST)
    (get_method, get_path, get_headers, get_body), (post_method, post_path, headers, body) = seen
    assert (get_method, get_path, get_body) == ("GET", "/api/v1/servers/?status=active", b"")
    assert get_headers["Authorization"] == f"Bearer {token}"
    assert get_headers["Accept"] == "application/json"
    assert (post_method, post_path) == ("POST", "/api/v1/servers/")
    assert headers["Authorization"] == f"Bearer {token}"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == CREATE_REQUEST


async def test_aiohttp_does_not_silently_resend_on_a_stale_connection(
    token: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A kept-alive connection the server dropped: aiohttp would resend once on its own."""
    caplog.set_level(logging.DEBUG, logger="vpsorg_async")
    heads: list[bytes] = []
    body = json.dumps(DETAIL_RESPONSE).encode()
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served = 0
        try:
            while True:
                heads.append(await reader.readuntil(b"\r\n\r\n"))
                if served == 1:  # the second request on this connection: drop it unanswered
                    break
                writer.write(answer % len(body) + body)
                await writer.drain()
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):  # pragma: no cover
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with Client(token, base_url=f"http://127.0.0.1:{port}/api/v1", max_retries=0) as c:
            await c.get_server(12345)
            with pytest.raises(TransportError):
                await c.get_server(12345)
    finally:
        server.close()
        await server.wait_closed()
    assert len(heads) == 2  # exactly one request for the call with max_retries=0
    assert len(records(caplog, logging.DEBUG)) == 2


async def test_a_borrowed_sessions_own_timeout_is_retried(serve: Serve, token: str) -> None:
    calls = 0

    async def slow_once(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(0.3)
        return web.json_response(DETAIL_RESPONSE)

    app = web.Application()
    app.router.add_get("/api/v1/servers/{id}/", slow_once)
    base = await serve(app)
    timeout = aiohttp.ClientTimeout(sock_read=0.05)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with Client(token, base_url=base, session=http) as client:
            assert (await client.get_server(12345)).id == 12345
        assert not http.closed
    assert calls == 2


async def test_connection_refused_for_real(token: str, fake_time: ManualClock) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before use: nothing listens there
    async with Client(
        token, base_url=f"http://127.0.0.1:{port}/api/v1", sleep=fake_time.sleep
    ) as client:
        with pytest.raises(TransportError, match="cannot connect") as info:
            await client.create_server(**CREATE_REQUEST)
    assert info.value.sent is False
    assert info.value.attempts == 3
    assert len(fake_time.sleeps) == 2


# --- bodies on success ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("<html><body>Welcome to nginx</body></html>", "not JSON"),
        ("", "not JSON"),
        ('{"id": 12345, "name": ', "not JSON"),
        ("[]", "expected a JSON object"),
        (b"\xff\xfe\x00{", "not JSON"),
    ],
)
async def test_success_bodies_that_are_not_the_model(
    mocked: aioresponses, client: Client, body: str | bytes, match: str
) -> None:
    mocked.get(ITEM, body=body, repeat=True)
    with pytest.raises(ResponseDecodeError, match=match) as info:
        await client.get_server(12345)
    assert info.value.status == 200
    assert count(mocked) == 1  # a bad body is not retried


async def test_a_deeply_nested_body_is_a_decode_error(mocked: aioresponses, client: Client) -> None:
    mocked.get(ITEM, body="[" * 100_000)
    with pytest.raises(ResponseDecodeError):
        await client.get_server(12345)


@pytest.mark.parametrize("with_length", [True, False])
async def test_bodies_over_the_cap_are_refused(
    mocked: aioresponses, make_client: MakeClient, with_length: bool
) -> None:
    client = make_client(max_response_bytes=1000)
    body = json.dumps({**DETAIL_RESPONSE, "padding": "x" * 5000})
    headers = {"Content-Length": str(len(body))} if with_length else {}
    mocked.get(ITEM, body=body, headers=headers, repeat=True)
    with pytest.raises(ResponseDecodeError, match="1000-byte cap"):
        await client.get_server(12345)
    # an error body is cut at the cap, not read in full; its status still makes the error
    mocked.get(BASE + "/servers/1/", status=404, body=body, headers=headers)
    with pytest.raises(NotFoundError) as info:
        await client.get_server(1)
    assert info.value.detail is not None
    assert info.value.detail.startswith('{"id": 12345')
    assert info.value.detail.endswith("...")


async def test_a_sized_error_body_under_the_answer_cap_is_still_cut_at_the_error_cap(
    mocked: aioresponses, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Larger than an error body may be (ERROR_BODY_BYTES), smaller than a detail answer may be:
    # the error's own cap decides, so the body is streamed and cut, never read whole.
    from vpsorg_async import _policy as policy
    from vpsorg_async import _session
    from vpsorg_async._body import read_capped as real

    streamed: list[int] = []

    async def spy(*args: Any) -> bytes:
        got = await real(*args)
        streamed.append(len(got))
        return got

    monkeypatch.setattr(_session, "read_capped", spy)
    body = json.dumps({"detail": "d" * 3 * policy.ERROR_BODY_BYTES})
    headers = {"Content-Length": str(len(body))}
    mocked.get(BASE + "/servers/1/", status=404, body=body, headers=headers)
    with pytest.raises(NotFoundError):
        await client.get_server(1)
    assert len(streamed) == 1
    assert streamed[0] <= policy.ERROR_BODY_BYTES + 1  # cut one byte past the cap, as said


@pytest.mark.parametrize("with_length", [True, False])
async def test_a_body_at_the_cap_is_read(
    mocked: aioresponses, make_client: MakeClient, with_length: bool
) -> None:
    body = json.dumps(DETAIL_RESPONSE).encode()
    size = len(body)
    client = make_client(max_response_bytes=size)
    headers = {"Content-Length": str(size)} if with_length else {}
    mocked.get(ITEM, body=body, headers=headers)
    assert (await client.get_server(12345)).id == 12345


GZIP_JSON = {"Content-Encoding": "gzip", "Content-Type": "application/json"}


async def _sized(request: web.Request, body: bytes) -> web.StreamResponse:
    return web.Response(body=body, headers=GZIP_JSON)  # with its Content-Length


async def _chunked(request: web.Request, body: bytes) -> web.StreamResponse:
    response = web.StreamResponse(headers=GZIP_JSON)  # no Content-Length: the end is the end
    response.enable_chunked_encoding()
    await response.prepare(request)
    await response.write(body)
    await response.write_eof()
    return response


@pytest.mark.parametrize("send", [_sized, _chunked], ids=["with-length", "without-length"])
async def test_a_compressed_body_is_capped_after_decompression(
    serve: Serve, token: str, send: Callable[[web.Request, bytes], Awaitable[web.StreamResponse]]
) -> None:
    inflated = json.dumps({"count": 0, "results": [], "pad": " " * 200_000}).encode()

    async def bomb(request: web.Request) -> web.StreamResponse:
        return await send(request, gzip.compress(inflated))

    app = web.Application()
    app.router.add_get("/api/v1/servers/", bomb)
    base = await serve(app)
    async with Client(token, base_url=base, max_response_bytes=10_000) as client:
        with pytest.raises(ResponseDecodeError, match="cap"):
            await client.list_servers()
