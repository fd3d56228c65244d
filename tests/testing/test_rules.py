"""400 rules for bodies and actions, 402 for the balance, and suspended servers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vpsorg_async.testing import Simulator
from vpsorg_async.testing.examples import CREATE_REQUEST, UPDATE_REQUEST

from .helpers import Api

REQUIRED = ["This field is required."]
BAD_NAME = ["Enter a valid name consisting of letters, numbers or hyphens."]


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"name": None}, {"name": ["This field may not be null."]}),
        ({"name": ""}, {"name": ["This field may not be blank."]}),
        ({"name": "web server"}, {"name": BAD_NAME}),
        ({"name": "web_01"}, {"name": BAD_NAME}),
        ({"name": 7}, {"name": ["Not a valid string."]}),
        ({"name": "x" * 65}, {"name": ["Ensure this field has no more than 64 characters."]}),
        ({"plan_id": "1"}, {"plan_id": ["A valid integer is required."]}),
        ({"plan_id": True}, {"plan_id": ["A valid integer is required."]}),
        ({"os_id": 1.5}, {"os_id": ["A valid integer is required."]}),
        ({"location": 1}, {"location": ["Not a valid string."]}),
        ({"hostname": "web02"}, {"hostname": ["Enter a valid hostname (FQDN)."]}),
        ({"hostname": "-bad.example.com"}, {"hostname": ["Enter a valid hostname (FQDN)."]}),
        ({"hostname": 5}, {"hostname": ["Not a valid string."]}),
        ({"backups_enabled": "yes"}, {"backups_enabled": ["Must be a valid boolean."]}),
        ({"ssh_key_id": "k"}, {"ssh_key_id": ["A valid integer is required."]}),
        ({"plan_id": 99}, {"plan_id": ["Invalid plan."]}),
        ({"os_id": 99}, {"os_id": ["Invalid OS."]}),
        ({"location": "mars-1"}, {"location": ["Invalid location."]}),
    ],
)
async def test_create_field_errors(api: Api, fields: dict[str, Any], errors: Any) -> None:
    reply = await api.create(**fields)
    assert (reply.status, reply.data) == (400, errors)
    assert api.sim.ledger.creates == []


async def test_create_reports_every_missing_field(api: Api) -> None:
    reply = await api.post("/servers/", {})
    assert reply.status == 400
    assert reply.data == {f: REQUIRED for f in ("name", "plan_id", "os_id", "location")}


async def test_create_optional_fields(api: Api) -> None:
    body = {k: CREATE_REQUEST[k] for k in ("name", "plan_id", "os_id", "location")}
    reply = await api.post("/servers/", {**body, "ssh_key_id": 42, "unknown": "ignored"})
    assert reply.status == 201
    assert reply.data["backups_enabled"] is False
    assert reply.data["hostname"] == "web-server-02.example.com"


async def test_an_empty_body_is_an_empty_object(api: Api) -> None:
    reply = await api.call("POST", "/servers/", data=b"")
    assert reply.status == 400
    assert set(reply.data) == {"name", "plan_id", "os_id", "location"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/servers/"), ("PUT", "/servers/12345/"), ("PATCH", "/servers/12345/")],
)
async def test_a_non_json_body_is_a_parse_error(api: Api, method: str, path: str) -> None:
    reply = await api.call(method, path, data=b"name=web")
    assert reply.status == 400
    assert reply.data["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize(
    ("body", "kind"), [([1], "list"), ("web", "str"), (3, "int"), (None, "NoneType")]
)
async def test_a_body_that_is_not_an_object(api: Api, body: Any, kind: str) -> None:
    reply = await api.call("POST", "/servers/", data=json.dumps(body).encode())
    assert reply.status == 400
    assert reply.data == {
        "non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]
    }


@pytest.mark.parametrize("missing", ["name", "hostname", "backups_enabled"])
async def test_put_requires_every_field(api: Api, missing: str) -> None:
    body = {k: v for k, v in UPDATE_REQUEST.items() if k != missing}
    reply = await api.call("PUT", "/servers/12345/", json_body=body)
    assert (reply.status, reply.data) == (400, {missing: REQUIRED})


async def test_put_validates_its_fields(api: Api) -> None:
    body = {"name": "ok", "hostname": "not a host", "backups_enabled": None}
    reply = await api.call("PUT", "/servers/12345/", json_body=body)
    assert reply.status == 400
    assert reply.data == {
        "hostname": ["Enter a valid hostname (FQDN)."],
        "backups_enabled": ["This field may not be null."],
    }
    assert (await api.get("/servers/12345/")).data["name"] == "web-server-01"


async def test_patch_changes_only_the_given_fields(api: Api) -> None:
    before = (await api.get("/servers/12345/")).data
    reply = await api.call("PATCH", "/servers/12345/", json_body={"hostname": "h.example.org"})
    assert reply.status == 200
    assert reply.data["hostname"] == "h.example.org"
    assert reply.data["name"] == before["name"]
    assert reply.data["backups_enabled"] == before["backups_enabled"]


async def test_patch_validates_what_it_gets(api: Api) -> None:
    reply = await api.call("PATCH", "/servers/12345/", json_body={"name": "bad name"})
    assert reply.status == 400
    assert list(reply.data) == ["name"]


async def test_start_on_a_running_server(api: Api) -> None:
    reply = await api.post("/servers/12345/start/")
    assert (reply.status, reply.data) == (400, {"detail": "Server is already running"})


@pytest.mark.parametrize("action", ["stop", "reboot"])
async def test_stop_and_reboot_need_a_running_server(api: Api, sim: Simulator, action: str) -> None:
    sim.set_status(12345, "stopped")
    reply = await api.post(f"/servers/12345/{action}/")
    assert (reply.status, reply.data) == (400, {"detail": "Server is not running"})


@pytest.mark.parametrize("busy", ["provisioning", "starting", "stopping", "rebooting"])
@pytest.mark.parametrize("action", ["start", "stop", "reboot"])
async def test_no_action_during_a_transition(
    api: Api, sim: Simulator, busy: str, action: str
) -> None:
    sim.set_status(12345, busy)
    reply = await api.post(f"/servers/12345/{action}/")
    assert (reply.status, reply.data) == (400, {"detail": f"Server is busy ({busy})"})


@pytest.mark.parametrize("action", ["start", "stop", "reboot"])
async def test_a_suspended_server_cannot_act(api: Api, sim: Simulator, action: str) -> None:
    suspended = sim.add_server(status="suspended")
    reply = await api.post(f"/servers/{suspended['id']}/{action}/")
    assert (reply.status, reply.data) == (400, {"detail": "Server is suspended"})


async def test_an_unknown_status_cannot_start(api: Api, sim: Simulator) -> None:
    sim.set_status(12345, "error")
    reply = await api.post("/servers/12345/start/")
    assert (reply.status, reply.data) == (400, {"detail": "Server cannot be started while error"})


async def test_refused_actions_change_nothing(api: Api, sim: Simulator) -> None:
    await api.post("/servers/12345/start/")
    assert sim.ledger.applied["start_server"] == 0
    assert (await api.get("/servers/12345/")).data["status"] == "active"


async def test_creates_spend_the_balance_then_402(api: Api, sim: Simulator) -> None:
    sim.balance = 50.0  # plan 1 costs 20, plan 2 costs 40
    assert (await api.create(name="a", plan_id=1)).status == 201
    assert (await api.create(name="b", plan_id=1)).status == 201
    reply = await api.create(name="c", plan_id=2)
    assert (reply.status, reply.data) == (402, {"detail": "Insufficient balance"})
    assert sim.balance == 10.0
    assert sim.ledger.created_names == ["a", "b"]
    assert len(sim.servers) == 4


async def test_an_invalid_create_is_400_even_without_balance(api: Api, sim: Simulator) -> None:
    sim.balance = 0.0
    assert (await api.create(name="bad name")).status == 400
    assert (await api.create()).status == 402


async def test_the_balance_is_unlimited_by_default(api: Api, sim: Simulator) -> None:
    for i in range(5):
        assert (await api.create(name=f"srv-{i}", plan_id=4)).status == 201
    assert sim.balance is None


async def test_update_bodies_must_be_objects(api: Api) -> None:
    reply = await api.call("PUT", "/servers/12345/", json_body=["name"])
    assert (reply.status, reply.data) == (
        400,
        {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
    )


async def test_a_blank_hostname_is_refused(api: Api) -> None:
    reply = await api.call("PATCH", "/servers/12345/", json_body={"hostname": ""})
    assert (reply.status, reply.data) == (400, {"hostname": ["This field may not be blank."]})
