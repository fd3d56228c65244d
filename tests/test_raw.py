"""``client.with_raw_response``: the final attempt's answer, its headers, and ``parse()``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from vpsorg_async import (
    ActionResult,
    AmbiguousCreateError,
    AuthenticationError,
    BadRequestError,
    Client,
    CreatedServer,
    RawResponse,
    ResponseDecodeError,
    ServerDetail,
    ServerError,
    ServerList,
    ValidationError,
)
from vpsorg_async._endpoints import ENDPOINTS
from vpsorg_async._raw import RawClient, check_raw_echo
from vpsorg_async.testing import Delays, Simulator
from vpsorg_async.testing.examples import DETAIL_RESPONSE, STOP_RESPONSE

if TYPE_CHECKING:
    from conftest import Handler, MakeClient, Serve

    from vpsorg_async.testing import ManualClock


async def test_every_endpoint_answers_a_raw_response_whose_parse_is_the_model() -> None:
    async with (
        Simulator(servers=1, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url) as client,
    ):
        raw = client.with_raw_response
        sid = sim.servers[0]["id"]
        listed = await raw.list_servers(page_size=1)
        assert (listed.status, listed.method, listed.path) == (200, "GET", "/servers/")
        assert isinstance(listed.parse(), ServerList)
        assert listed.parse().count == 1
        assert listed.headers["content-type"].startswith("application/json")
        assert json.loads(listed.content)["count"] == 1
        created = await raw.create_server(name="web-9", plan_id=1, os_id=5, location="us-west")
        assert created.status == 201
        assert isinstance(created.parse(), CreatedServer)
        detail = await raw.get_server(sid)
        assert detail.parse() == await client.get_server(sid)
        assert (detail.attempts, detail.path) == (1, f"/servers/{sid}/")
        assert detail.elapsed > 0
        put = await raw.update_server(
            sid, name="a-1", hostname="a.example.com", backups_enabled=True
        )
        assert isinstance(put.parse(), ServerDetail)
        assert put.parse().name == "a-1"
        patched = await raw.patch_server(sid, name="a-2")
        assert patched.parse().name == "a-2"
        stopped = await raw.stop_server(sid)
        assert isinstance(stopped.parse(), ActionResult)
        for action in (raw.start_server, raw.reboot_server):
            with pytest.raises(BadRequestError):  # not running: the usual error tree
                await action(sid)
        deleted = await raw.delete_server(created.parse().id)
        assert (deleted.status, deleted.content, deleted.parse()) == (204, b"", None)


def test_the_raw_client_has_exactly_the_endpoint_table(client: Client) -> None:
    raw = client.with_raw_response
    assert isinstance(raw, RawClient)
    methods = {n for n in vars(raw) if not n.startswith("_")}
    assert methods == set(ENDPOINTS)
    assert "RawClient of <Client" in repr(raw)


def detail_answer(
    seen: list[str], *, headers: dict[str, str], body: Any, status: int = 200
) -> Handler:
    async def answer(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(
            status=status, text=text, headers=headers, content_type="application/json"
        )

    return answer


async def test_headers_and_request_id_are_kept_with_any_echo_of_the_token_blanked(
    make_client: MakeClient, serve: Serve, token: str
) -> None:
    seen: list[str] = []
    headers = {"X-Request-Id": f"req-{token}", "X-Echo": f"Bearer {token}", "X-Plain": "ok"}
    client = make_client(
        base_url=await serve(detail_answer(seen, headers=headers, body=DETAIL_RESPONSE))
    )
    raw = await client.with_raw_response.get_server(DETAIL_RESPONSE["id"])
    assert seen == [f"Bearer {token}"]
    assert raw.request_id == "req-***"
    assert raw.headers["x-echo"] == "Bearer ***"
    assert raw.headers["X-PLAIN"] == "ok"
    shown = repr(raw)
    assert token not in shown
    assert "req-***" in shown
    assert "content" not in shown
    assert token not in str(dict(raw.headers))
    with pytest.raises(TypeError):
        raw.headers["x-plain"] = "changed"  # type: ignore[index]
    with pytest.raises(AttributeError):
        raw.status = 500  # type: ignore[misc]


async def test_a_body_the_model_cannot_hold_is_returned_and_parse_raises(
    make_client: MakeClient, serve: Serve
) -> None:
    seen: list[str] = []
    body = {**DETAIL_RESPONSE, "plan": "not a plan"}
    client = make_client(base_url=await serve(detail_answer(seen, headers={}, body=body)))
    raw = await client.with_raw_response.get_server(DETAIL_RESPONSE["id"])
    assert raw.status == 200
    assert json.loads(raw.content)["plan"] == "not a plan"
    with pytest.raises(ResponseDecodeError, match="plan"):
        raw.parse()
    with pytest.raises(ResponseDecodeError):  # the typed method refuses it at once
        await client.get_server(DETAIL_RESPONSE["id"])


async def test_parse_decodes_once(make_client: MakeClient, serve: Serve) -> None:
    seen: list[str] = []
    client = make_client(
        base_url=await serve(detail_answer(seen, headers={}, body=DETAIL_RESPONSE))
    )
    raw = await client.with_raw_response.get_server(DETAIL_RESPONSE["id"])
    assert raw.parse() is raw.parse()


async def test_errors_raise_the_usual_tree(make_client: MakeClient, serve: Serve) -> None:
    seen: list[str] = []
    body = {"detail": "Invalid token."}
    client = make_client(
        base_url=await serve(detail_answer(seen, headers={}, body=body, status=401))
    )
    with pytest.raises(AuthenticationError):
        await client.with_raw_response.get_server(1)
    with pytest.raises(AuthenticationError):
        await client.with_raw_response.list_servers()


async def test_the_raw_response_is_of_the_final_attempt(
    make_client: MakeClient, serve: Serve, fake_time: ManualClock
) -> None:
    answers = [(503, {"X-Request-Id": "first"}, "busy"), (200, {"X-Request-Id": "second"}, None)]

    async def answer(request: web.Request) -> web.Response:
        status, headers, text = answers.pop(0)
        return web.Response(
            status=status, headers=headers, text=text or json.dumps(DETAIL_RESPONSE)
        )

    client = make_client(base_url=await serve(answer))
    raw = await client.with_raw_response.get_server(DETAIL_RESPONSE["id"])
    assert (raw.status, raw.attempts, raw.request_id) == (200, 2, "second")
    assert len(fake_time.sleeps) == 1  # one backoff, on fake time


async def test_a_stray_answer_is_refused_and_retried_in_raw_mode_too(
    make_client: MakeClient, serve: Serve, fake_time: ManualClock
) -> None:
    other = {**DETAIL_RESPONSE, "id": DETAIL_RESPONSE["id"] + 1}
    bodies = [other, DETAIL_RESPONSE]

    async def answer(request: web.Request) -> web.Response:
        return web.json_response(bodies.pop(0))

    client = make_client(base_url=await serve(answer))
    raw = await client.with_raw_response.get_server(DETAIL_RESPONSE["id"])
    assert raw.attempts == 2
    assert raw.parse().id == DETAIL_RESPONSE["id"]


def test_the_raw_echo_check_reads_only_the_id() -> None:
    row, stop = ENDPOINTS["get_server"], ENDPOINTS["stop_server"]
    check_raw_echo(row, "/p", json.dumps(DETAIL_RESPONSE).encode(), DETAIL_RESPONSE["id"])
    check_raw_echo(stop, "/p", json.dumps(STOP_RESPONSE).encode(), STOP_RESPONSE["server"]["id"])
    for unreadable in (b"<html>", b"[]", b'{"id": "7"}', b"{}", b'{"server": null}'):
        check_raw_echo(row, "/p", unreadable, 7)  # parse() will say what is wrong
        check_raw_echo(stop, "/p", unreadable, 7)
    with pytest.raises(ResponseDecodeError, match="about server 8"):
        check_raw_echo(row, "/p", b'{"id": 8}', 7)
    with pytest.raises(ResponseDecodeError, match="about server 8"):
        check_raw_echo(stop, "/p", b'{"server": {"id": 8}}', 7)


async def test_a_lost_delete_answer_is_a_raw_404_parsing_to_none(
    make_client: MakeClient, serve: Serve, fake_time: ManualClock
) -> None:
    answers = [503, 404]

    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=answers.pop(0), text="{}", content_type="application/json")

    client = make_client(base_url=await serve(answer))
    raw = await client.with_raw_response.delete_server(5)
    assert (raw.status, raw.attempts, raw.parse()) == (404, 2, None)


async def test_a_reconciling_create_is_refused_in_raw_mode(client: Client) -> None:
    with pytest.raises(ValidationError) as caught:
        await client.with_raw_response.create_server(
            name="a", plan_id=1, os_id=5, location="us-west", reconcile=True
        )
    assert caught.value.param == "reconcile"


async def test_an_ambiguous_create_still_raises_in_raw_mode(
    make_client: MakeClient, serve: Serve
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    client = make_client(base_url=await serve(answer))
    with pytest.raises(AmbiguousCreateError):
        await client.with_raw_response.create_server(
            name="a", plan_id=1, os_id=5, location="us-west"
        )


async def test_raw_and_options_combine(make_client: MakeClient, serve: Serve) -> None:
    hits: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        hits.append(1)
        return web.Response(status=503, text="down")

    client = make_client(base_url=await serve(answer), max_retries=4)
    with pytest.raises(ServerError) as caught:
        await client.with_options(max_retries=0).with_raw_response.get_server(1)
    assert caught.value.attempts == 1
    assert hits == [1]


def test_raw_response_is_public_and_generic() -> None:
    answer: RawResponse[None] = RawResponse(
        status=204,
        headers=CIMultiDictProxy(CIMultiDict()),
        request_id=None,
        elapsed=0.0,
        attempts=1,
        method="DELETE",
        path="/servers/1/",
        content=b"",
        decode=lambda: None,
    )
    assert answer.parse() is None
