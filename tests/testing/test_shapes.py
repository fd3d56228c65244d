"""Every endpoint's success answer has the document's keys and JSON types."""

from __future__ import annotations

import re
from typing import Any

import pytest

from vpsorg_async.testing import ManualClock, Simulator
from vpsorg_async.testing import examples as doc

from .helpers import Api

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def assert_timestamps(server: dict[str, Any]) -> None:
    assert TIMESTAMP.fullmatch(server["created_at"]), server["created_at"]
    assert TIMESTAMP.fullmatch(server["updated_at"]), server["updated_at"]


async def test_list_matches_the_document(api: Api) -> None:
    reply = await api.get("/servers/")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    assert doc.json_shape(reply.data) == doc.json_shape(doc.LIST_RESPONSE)
    assert reply.data["count"] == 2
    for server in reply.data["results"]:
        assert_timestamps(server)


async def test_prepopulated_servers_are_the_documents_examples(api: Api) -> None:
    reply = await api.get("/servers/")
    volatile = {"created_at", "updated_at"}
    for got, example in zip(reply.data["results"], doc.LIST_RESPONSE["results"], strict=True):
        assert {k: v for k, v in got.items() if k not in volatile} == {
            k: v for k, v in example.items() if k not in volatile
        }


async def test_create_matches_the_document(api: Api) -> None:
    reply = await api.create()
    assert reply.status == 201
    assert doc.json_shape(reply.data) == doc.json_shape(doc.CREATE_RESPONSE)
    volatile = {"created_at", "updated_at"}
    assert {k: v for k, v in reply.data.items() if k not in volatile} == {
        k: v for k, v in doc.CREATE_RESPONSE.items() if k not in volatile
    }
    assert reply.data["created_at"] == reply.data["updated_at"]
    assert_timestamps(reply.data)


async def test_detail_matches_the_document(api: Api) -> None:
    reply = await api.get("/servers/12345/")
    assert reply.status == 200
    assert doc.json_shape(reply.data) == doc.json_shape(doc.DETAIL_RESPONSE)
    assert reply.data["ipv6_address"] == "2001:0db8::1"
    assert reply.data["plan"] == doc.DETAIL_RESPONSE["plan"]
    assert_timestamps(reply.data)


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", doc.UPDATE_REQUEST), ("PATCH", doc.PATCH_REQUEST)]
)
async def test_updates_answer_the_detail_shape(api: Api, method: str, body: dict[str, Any]) -> None:
    reply = await api.call(method, "/servers/12345/", json_body=body)
    assert reply.status == 200
    assert doc.json_shape(reply.data) == doc.json_shape(doc.DETAIL_RESPONSE)
    assert {k: reply.data[k] for k in body} == body


async def test_delete_answers_204_without_a_body(api: Api) -> None:
    reply = await api.call("DELETE", "/servers/12345/")
    assert (reply.status, reply.body) == (204, b"")


@pytest.mark.parametrize(
    ("action", "example", "status_before"),
    [
        ("start", doc.START_RESPONSE, "stopped"),
        ("stop", doc.STOP_RESPONSE, "active"),
        ("reboot", doc.REBOOT_RESPONSE, "active"),
    ],
)
async def test_actions_match_the_document(
    api: Api, sim: Simulator, action: str, example: dict[str, Any], status_before: str
) -> None:
    sim.set_status(12345, status_before)
    reply = await api.post(f"/servers/12345/{action}/")
    assert reply.status == 200
    assert reply.data == example


async def test_unknown_id_is_404(api: Api) -> None:
    for method, path in [
        ("GET", "/servers/99999/"),
        ("PUT", "/servers/99999/"),
        ("PATCH", "/servers/99999/"),
        ("DELETE", "/servers/99999/"),
        ("POST", "/servers/99999/start/"),
        ("POST", "/servers/99999/stop/"),
        ("POST", "/servers/99999/reboot/"),
    ]:
        reply = await api.call(method, path, json_body={"name": "x"})
        assert (reply.status, reply.data) == (404, {"detail": "Not found."}), (method, path)


@pytest.mark.parametrize(
    "path", ["/servers", "/servers/12345", "/servers/abc/", "/servers/12345/explode/", "/x/"]
)
async def test_unknown_routes_are_404(api: Api, path: str) -> None:
    reply = await api.get(path)
    assert (reply.status, reply.data) == (404, {"detail": "Not found."})


async def test_a_wrong_method_is_405(api: Api) -> None:
    reply = await api.call("DELETE", "/servers/")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, POST"
    assert reply.data == {"detail": 'Method "DELETE" not allowed.'}


async def test_timestamps_follow_the_clock(clock: ManualClock, api: Api) -> None:
    before = (await api.get("/servers/12345/")).data["updated_at"]
    clock.advance(3600 * 24 * 400)
    after = (await api.call("PATCH", "/servers/12345/", json_body={"name": "renamed"})).data
    assert after["updated_at"] > before
    assert_timestamps(after)
