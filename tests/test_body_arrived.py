"""A body that came with its headers is taken without awaiting; anything else is read as before."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from vpsorg_async import Client
from vpsorg_async.testing.examples import DETAIL_RESPONSE

if TYPE_CHECKING:
    from conftest import Serve

DETAIL = json.dumps(DETAIL_RESPONSE).encode()
SERVER_ID: int = DETAIL_RESPONSE["id"]


async def _whole(request: web.Request) -> web.Response:
    return web.Response(body=DETAIL, content_type="application/json")


async def _in_two_parts(request: web.Request) -> web.StreamResponse:
    # Sized, but half of the body comes later: it has not arrived when the headers have.
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(DETAIL)
    await response.prepare(request)
    await response.write(DETAIL[:100])
    await asyncio.sleep(0.05)
    await response.write(DETAIL[100:])
    await response.write_eof()
    return response


def _app(handler: Any) -> web.Application:
    app = web.Application()
    app.router.add_get("/api/v1/servers/{server_id}/", handler)
    return app


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts ``ClientResponse.read`` calls (the awaited way to a body)."""
    calls: list[int] = []
    real = aiohttp.ClientResponse.read

    async def counted(self: aiohttp.ClientResponse) -> bytes:
        calls.append(1)
        return await real(self)

    monkeypatch.setattr(aiohttp.ClientResponse, "read", counted)
    return calls


async def test_a_body_that_came_with_its_headers_is_not_awaited(
    serve: Serve, token: str, reads: list[int]
) -> None:
    base = await serve(_app(_whole))
    async with Client(token, base_url=base) as client:
        for _ in range(3):
            assert (await client.get_server(SERVER_ID)).id == SERVER_ID
    assert reads == []


async def test_a_body_still_on_its_way_is_read_whole(
    serve: Serve, token: str, reads: list[int]
) -> None:
    base = await serve(_app(_in_two_parts))
    async with Client(token, base_url=base) as client:
        assert (await client.get_server(SERVER_ID)).id == SERVER_ID
    assert reads == [1]


async def test_a_borrowed_session_that_traces_body_chunks_still_hears_of_them(
    serve: Serve, token: str
) -> None:
    heard: list[bytes] = []

    async def on_chunk(
        session: aiohttp.ClientSession,
        context: Any,
        params: aiohttp.TraceResponseChunkReceivedParams,
    ) -> None:
        heard.append(params.chunk)

    trace = aiohttp.TraceConfig()
    trace.on_response_chunk_received.append(on_chunk)
    base = await serve(_app(_whole))
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as http,
        Client(token, base_url=base, session=http) as client,
    ):
        assert (await client.get_server(SERVER_ID)).id == SERVER_ID
    assert heard == [DETAIL]
