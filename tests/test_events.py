"""Hooks as data: the records each call reports, their order, and what a hook cannot break."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import aiohttp
import attrs
import pytest
from aioresponses import aioresponses

from vpsorg_async import (
    Client,
    Events,
    NotFoundError,
    RateLimitError,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    ServerError,
    TransportError,
    ValidationError,
)
from vpsorg_async._ratelimit import DeadlineWouldPass
from vpsorg_async.testing import ManualClock
from vpsorg_async.testing.examples import DETAIL_RESPONSE, LIST_RESPONSE

if TYPE_CHECKING:
    from conftest import MakeClient, Stall

BASE = "https://api.example.test/api/v1"
ITEM = f"{BASE}/servers/12345/"
LIST = f"{BASE}/servers/"

Record = RequestEvent | ResponseEvent | RetryEvent


def recorder() -> tuple[list[Record], Events]:
    """Every record in the order the hooks heard them, and the hooks that record them."""
    heard: list[Record] = []
    return heard, Events(on_request=heard.append, on_response=heard.append, on_retry=heard.append)


async def test_a_retried_call_reports_each_attempt_and_each_retry(
    mocked: aioresponses, make_client: MakeClient, fake_time: ManualClock
) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events)
    mocked.get(ITEM, status=503)
    mocked.get(ITEM, exception=aiohttp.ServerDisconnectedError())
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    kinds = [type(record).__name__ for record in heard]
    assert kinds == [
        "RequestEvent", "ResponseEvent", "RetryEvent",
        "RequestEvent", "ResponseEvent", "RetryEvent",
        "RequestEvent", "ResponseEvent",
    ]  # fmt: skip
    for record in heard:
        assert (record.endpoint, record.method) == ("get_server", "GET")
        assert (record.path_template, record.path) == ("/servers/{server_id}/", "/servers/12345/")
        assert record.server_id == 12345
    responses = [r for r in heard if isinstance(r, ResponseEvent)]
    assert [r.attempt for r in responses] == [1, 2, 3]
    assert [r.status for r in responses] == [503, None, 200]
    assert [r.error_type for r in responses] == ["ServerError", "TransportError", None]
    assert isinstance(responses[0].error, ServerError)
    assert responses[0].error.status == 503
    assert isinstance(responses[1].error, TransportError)
    assert responses[2].error is None
    assert [r.final for r in responses] == [False, False, True]
    assert all(r.sent and r.elapsed >= 0 for r in responses)
    retries = [r for r in heard if isinstance(r, RetryEvent)]
    assert [r.attempt for r in retries] == [1, 2]
    assert [r.delay for r in retries] == fake_time.sleeps  # the delay each retry then slept
    assert responses[2].call_elapsed == pytest.approx(sum(fake_time.sleeps))


async def test_a_call_that_fails_reports_one_final_record_with_its_error(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events, max_retries=1)
    mocked.get(ITEM, status=503, repeat=True)
    with pytest.raises(ServerError):
        await client.get_server(12345)
    finals = [r for r in heard if isinstance(r, ResponseEvent) and r.final]
    assert len(finals) == 1
    assert (finals[0].attempt, finals[0].status, finals[0].error_type) == (2, 503, "ServerError")
    assert isinstance(finals[0].error, ServerError)
    heard.clear()
    mocked.get(ITEM.replace("12345", "7"), status=404)
    with pytest.raises(NotFoundError):
        await client.get_server(7)
    assert [type(r).__name__ for r in heard] == ["RequestEvent", "ResponseEvent"]
    last = heard[-1]
    assert isinstance(last, ResponseEvent)
    assert (last.final, last.status, last.error_type) == (True, 404, "NotFoundError")


async def test_a_list_call_names_no_server(mocked: aioresponses, make_client: MakeClient) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events)
    mocked.get(LIST, payload=LIST_RESPONSE)
    await client.list_servers()
    assert [(r.path_template, r.server_id) for r in heard] == [("/servers/", None)] * 2


class _Refusing:
    """A pacer whose every turn would come after the deadline."""

    async def wait_turn(self, deadline: float) -> None:
        raise DeadlineWouldPass(30.0, pause=30.0)

    def on_success(self) -> None:
        raise AssertionError("nothing was sent")

    def on_throttle(self, retry_after: float | None) -> None:
        raise AssertionError("nothing was sent")


async def test_a_call_refused_before_sending_still_reports_its_end(
    make_client: MakeClient,
) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events, pacer=_Refusing())
    with pytest.raises(RateLimitError):
        await client.get_server(12345)
    assert len(heard) == 1  # no request: nothing was sent
    (end,) = heard
    assert isinstance(end, ResponseEvent)
    assert (end.final, end.sent, end.status, end.elapsed) == (True, False, None, 0.0)
    assert isinstance(end.error, RateLimitError)


async def test_a_call_cancelled_in_its_backoff_reports_its_end(
    mocked: aioresponses, make_client: MakeClient, stall: Stall
) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events, sleep=stall)
    mocked.get(ITEM, status=503)
    await stall.cancel_in_sleep(client.get_server(12345))
    assert [type(r).__name__ for r in heard] == [
        "RequestEvent", "ResponseEvent", "RetryEvent", "ResponseEvent",
    ]  # fmt: skip
    end = heard[-1]
    assert isinstance(end, ResponseEvent)
    assert (end.final, end.sent, end.error_type, end.error) == (True, False, "CancelledError", None)


async def test_records_are_frozen(mocked: aioresponses, make_client: MakeClient) -> None:
    heard, events = recorder()
    client = make_client(base_url=BASE, events=events)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        heard[0].attempt = 5  # type: ignore[misc]


async def test_events_and_single_hooks_are_both_heard(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    heard, events = recorder()
    retried: list[RetryEvent] = []
    client = make_client(base_url=BASE, events=events, on_retry=retried.append)
    mocked.get(ITEM, status=502)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    assert len(retried) == 1
    assert retried == [r for r in heard if isinstance(r, RetryEvent)]


async def test_a_failing_hook_breaks_no_call_and_is_logged_once(
    mocked: aioresponses, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: RequestEvent) -> None:
        raise RuntimeError("the hook's own bug")

    responses: list[ResponseEvent] = []
    client = make_client(base_url=BASE, on_request=broken, on_response=responses.append)
    mocked.get(ITEM, payload=DETAIL_RESPONSE, repeat=True)
    with caplog.at_level(logging.DEBUG, logger="vpsorg_async.events"):
        for _ in range(3):
            assert (await client.get_server(12345)).id == 12345
    assert len(responses) == 3  # the other hooks still hear every record
    logged = [r for r in caplog.records if r.name == "vpsorg_async.events"]
    assert [r.levelno for r in logged] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert logged[0].exc_info is not None  # the first failure with its traceback
    assert "the hook's own bug" in caplog.text


async def test_a_hook_may_not_swallow_a_cancellation(
    mocked: aioresponses, make_client: MakeClient
) -> None:
    def cancels(event: RequestEvent) -> None:
        raise asyncio.CancelledError

    client = make_client(base_url=BASE, on_request=cancels)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    with pytest.raises(asyncio.CancelledError):
        await client.get_server(12345)


async def test_without_hooks_the_session_has_none(make_client: MakeClient) -> None:
    """The guard of the cost: with nothing listening, each attempt tests ``None`` and moves on."""
    assert make_client()._session.hooks is None
    assert make_client(events=Events())._session.hooks is not None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"events": {"on_request": print}}, "events"),
        ({"on_request": "print"}, "on_request"),
        ({"on_retry": 1}, "on_retry"),
        ({"tracing": "yes"}, "tracing"),
    ],
)
def test_bad_hooks_are_refused_at_construction(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Client("t", base_url=BASE, **options)  # type: ignore[arg-type]
    assert caught.value.param == field
