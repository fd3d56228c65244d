"""OpenTelemetry: calls, attempts, waits and fleets as spans (the SDK's in-memory exporter), and
nothing at all for a program that does not trace.

The tracer provider is handed to the library by patching ``get_tracer_provider`` for one test
at a time: OpenTelemetry lets a process set its global provider only once, and the other tests
of this process must run untraced.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aioresponses import aioresponses
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from vpsorg_async import (
    Client,
    ConfigurationError,
    NotFoundError,
    RateLimitError,
    TransportError,
    fleet,
    waiters,
)
from vpsorg_async._ratelimit import DeadlineWouldPass
from vpsorg_async.testing import Delays, Simulator
from vpsorg_async.testing.examples import DETAIL_RESPONSE

if TYPE_CHECKING:
    from conftest import MakeClient, Stall

BASE = "https://api.example.test/api/v1"
ITEM = f"{BASE}/servers/12345/"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """An SDK provider the library sees as the application's, exporting into memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    yield exporter
    provider.shutdown()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def attributes_of(item: ReadableSpan | Event) -> dict[str, Any]:
    return dict(item.attributes or {})


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_call_is_a_client_span_and_each_attempt_its_child(
    spans: InMemorySpanExporter, mocked: aioresponses, make_client: MakeClient
) -> None:
    client = make_client(base_url=BASE)  # tracing by default: the application set a provider
    mocked.get(ITEM, status=503)
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    (call,) = named(spans, "GET /servers/{server_id}/")
    assert call.kind is SpanKind.CLIENT
    attributes = dict(call.attributes or {})
    assert attributes == {
        "http.request.method": "GET",
        "url.template": "/servers/{server_id}/",
        "server.address": "api.example.test",
        "server.port": 443,
        "vpsorg.server_id": 12345,
        "http.response.status_code": 200,
        "http.request.resend_count": 1,
    }
    assert call.status.status_code is StatusCode.UNSET
    first, second = named(spans, "GET /servers/{server_id}/ attempt")
    assert {parent_of(first), parent_of(second)} == {call.context.span_id}
    assert first.kind is second.kind is SpanKind.INTERNAL
    one, two = attributes_of(first), attributes_of(second)
    assert (one["http.response.status_code"], one["error.type"]) == (503, "503")
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in one
    assert (two["http.request.resend_count"], two["http.response.status_code"]) == (1, 200)
    (retry,) = call.events
    assert retry.name == "retry"
    assert attributes_of(retry)["error.type"] == "ServerError"
    assert attributes_of(retry)["vpsorg.retry.delay"] > 0


async def test_a_failed_call_carries_its_error_type(
    spans: InMemorySpanExporter, mocked: aioresponses, make_client: MakeClient
) -> None:
    client = make_client(base_url=BASE)
    mocked.get(ITEM.replace("12345", "7"), status=404)
    with pytest.raises(NotFoundError):
        await client.get_server(7)
    (call,) = named(spans, "GET /servers/{server_id}/")
    assert attributes_of(call)["error.type"] == "404"
    assert call.status.status_code is StatusCode.ERROR
    mocked.get(ITEM, exception=aiohttp.ClientConnectionError("refused"), repeat=True)
    spans.clear()
    with pytest.raises(TransportError):
        await make_client(base_url=BASE, max_retries=0).get_server(12345)
    (call,) = named(spans, "GET /servers/{server_id}/")
    assert attributes_of(call)["error.type"] == "TransportError"
    assert "http.response.status_code" not in attributes_of(call)


async def test_a_cancelled_call_still_ends_its_spans(
    spans: InMemorySpanExporter, mocked: aioresponses, make_client: MakeClient, stall: Stall
) -> None:
    client = make_client(base_url=BASE, sleep=stall)
    mocked.get(ITEM, status=503)
    await stall.cancel_in_sleep(client.get_server(12345))
    (call,) = named(spans, "GET /servers/{server_id}/")
    assert attributes_of(call)["error.type"] == "CancelledError"
    assert len(named(spans, "GET /servers/{server_id}/ attempt")) == 1


class _RefusesTheSecond:
    """A pacer that lets the first attempt go and refuses every later one (a 429's pause)."""

    def __init__(self) -> None:
        self.turns = 0

    async def wait_turn(self, deadline: float) -> None:
        self.turns += 1
        if self.turns > 1:
            raise DeadlineWouldPass(30.0, pause=30.0)

    def on_success(self) -> None:
        return None

    def on_throttle(self, retry_after: float | None) -> None:
        return None


async def test_a_call_refused_before_sending_is_a_span_of_its_own(
    spans: InMemorySpanExporter, mocked: aioresponses, make_client: MakeClient
) -> None:
    client = make_client(base_url=BASE, pacer=_RefusesTheSecond())
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await client.get_server(12345)
    with pytest.raises(RateLimitError):
        await client.get_server(12345)  # the same task: the first call's span is over
    first, second = named(spans, "GET /servers/{server_id}/")
    assert attributes_of(first)["http.response.status_code"] == 200
    assert "error.type" not in attributes_of(first)
    assert attributes_of(second)["error.type"] == "RateLimitError"
    assert second.status.status_code is StatusCode.ERROR
    assert len(named(spans, "GET /servers/{server_id}/ attempt")) == 1  # nothing sent


async def test_tracing_false_and_no_provider_trace_nothing(
    mocked: aioresponses, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert make_client(base_url=BASE)._session.hooks is None  # imported, but no provider set
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    off = make_client(base_url=BASE, tracing=False)
    assert off._session.hooks is None
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    await off.get_server(12345)
    assert exporter.get_finished_spans() == ()


def test_tracing_true_without_the_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "vpsorg_async._otel", raising=False)
    with pytest.raises(ConfigurationError, match=r"vpsorg-async\[otel\]"):
        Client("t", base_url=BASE, tracing=True)


async def test_a_wait_is_a_span_with_its_polls(spans: InMemorySpanExporter) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        server_id = sim.add_server(name="web-01", status="provisioning")["id"]
        async with Client(sim.token, base_url=sim.url) as client:
            await waiters.wait_until_active(client, server_id, poll_interval=0.01)
    (wait,) = named(spans, "vpsorg.wait")
    found = attributes_of(wait)
    assert found["vpsorg.wait.target"] == "active"
    assert found["vpsorg.server_id"] == server_id
    assert found["vpsorg.server.status"] == "active"
    polls = found["vpsorg.wait.polls"]
    assert polls >= 2
    assert [event.name for event in wait.events] == ["poll"] * polls
    assert dict(wait.events[-1].attributes or {})["vpsorg.server.status"] == "active"
    gets = named(spans, "GET /servers/{server_id}/")
    assert len(gets) == polls
    assert {parent_of(get) for get in gets} == {wait.context.span_id}


async def test_a_failed_wait_records_the_error(spans: InMemorySpanExporter) -> None:
    async with (
        Simulator(servers=0, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url) as client,
    ):
        with pytest.raises(NotFoundError):
            await waiters.wait_until_active(client, 404404, poll_interval=0.01)
    (wait,) = named(spans, "vpsorg.wait")
    assert attributes_of(wait)["error.type"] == "NotFoundError"
    assert wait.status.status_code is StatusCode.ERROR
    assert "vpsorg.server.status" not in attributes_of(wait)  # never seen; not "deleted"


async def test_wait_many_is_one_span_with_its_counts(spans: InMemorySpanExporter) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        ids = [sim.add_server(name=f"w{i}", status="provisioning")["id"] for i in range(3)]
        async with Client(sim.token, base_url=sim.url) as client:
            await waiters.wait_many(client, ids, "active", poll_interval=0.01)
    (wait,) = named(spans, "vpsorg.wait")
    found = attributes_of(wait)
    assert found["vpsorg.wait.servers"] == 3
    assert (found["vpsorg.wait.reached"], found["vpsorg.wait.failed"]) == (3, 0)


async def test_a_fleet_is_a_span_with_its_counts(spans: InMemorySpanExporter) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        ids = [sim.add_server(name=f"s{i}", status="active")["id"] for i in range(2)]
        ids.append(sim.add_server(name="s2", status="stopped")["id"])
        async with Client(sim.token, base_url=sim.url) as client:
            result = await fleet.stop(client, [*ids, 99999], poll_interval=0.01)
    assert len(result.failed) == 1
    (span,) = named(spans, "vpsorg.fleet stop")
    found = attributes_of(span)
    counts = {k: found[f"vpsorg.fleet.{k}"] for k in ("ok", "already", "failed")}
    assert counts == {"ok": 2, "already": 1, "failed": 1}
    assert found["vpsorg.fleet.total"] == 4
    assert span.status.status_code is StatusCode.ERROR
    calls = named(spans, "POST /servers/{server_id}/stop/")
    assert len(calls) == 4  # one stop each; the API's 400 and 404 tell "already" and "gone"
    by_id = {s.context.span_id: s for s in spans.get_finished_spans()}

    def under_fleet(s: ReadableSpan) -> bool:
        while s.parent is not None:
            if s.parent.span_id == span.context.span_id:
                return True
            s = by_id[s.parent.span_id]
        return False

    assert all(under_fleet(call) for call in calls)


def test_a_program_that_does_not_trace_never_imports_opentelemetry() -> None:
    """Installed or not: a call against the simulator loads no ``opentelemetry`` module."""
    code = textwrap.dedent(
        """
        import asyncio, sys
        from vpsorg_async import Client, waiters
        from vpsorg_async.testing import Delays, Simulator

        async def main():
            async with Simulator(servers=1, delays=Delays.fast()) as sim:
                async with Client(sim.token, base_url=sim.url) as client:
                    page = await client.list_servers()
                    await waiters.wait_until_active(client, page.results[0].id)
                    assert client._session.hooks is None

        asyncio.run(main())
        print(sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


async def test_a_deletion_wait_ends_with_the_servers_absence(spans: InMemorySpanExporter) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        server_id = sim.add_server(name="gone", status="active")["id"]
        async with Client(sim.token, base_url=sim.url) as client:
            await client.delete_server(server_id)
            await waiters.wait_until_deleted(client, server_id, poll_interval=0.01)
    (wait,) = named(spans, "vpsorg.wait")
    assert attributes_of(wait)["vpsorg.server.status"] == "deleted"
    assert attributes_of(wait.events[-1])["error.type"] == "NotFoundError"  # the API's 404
    assert wait.status.status_code is StatusCode.UNSET
