"""The ledger: counts per endpoint and status, faults, applied creates, admin routes."""

from __future__ import annotations

import json
import time

from vpsorg_async.testing import Faults, Ledger, Simulator

from .helpers import Api


async def test_requests_are_counted_per_endpoint_and_status(api: Api, sim: Simulator) -> None:
    await api.get("/servers/")
    await api.get("/servers/12345/")
    await api.get("/servers/1/")
    await api.call("PUT", "/servers/12345/", json_body={})
    await api.call("PATCH", "/servers/12345/", json_body={})
    await api.post("/servers/12345/stop/")
    await api.post("/servers/12345/start/")
    await api.post("/servers/12346/reboot/")
    await api.call("DELETE", "/servers/12346/")
    await api.create()
    await api.get("/nowhere/")  # not an endpoint: not counted
    assert sim.ledger.requests == {
        ("list_servers", 200): 1,
        ("get_server", 200): 1,
        ("get_server", 404): 1,
        ("update_server", 400): 1,
        ("patch_server", 200): 1,
        ("stop_server", 200): 1,
        ("start_server", 400): 1,
        ("reboot_server", 200): 1,
        ("delete_server", 204): 1,
        ("create_server", 201): 1,
    }
    assert sim.ledger.total == 10
    assert sim.ledger.count("get_server") == 2
    assert sim.ledger.count(status=200) == 5
    assert sim.ledger.count() == 10
    assert sim.ledger.applied == {
        "patch_server": 1,
        "stop_server": 1,
        "reboot_server": 1,
        "delete_server": 1,
        "create_server": 1,
    }


async def test_duplicate_creates_are_detected(api: Api, sim: Simulator) -> None:
    for name in ("a", "b", "a", "c", "a", "b"):
        await api.create(name=name)
    assert sim.ledger.created_names == ["a", "b", "a", "c", "a", "b"]
    assert sim.ledger.duplicate_creates() == {"a": 3, "b": 2}
    assert [server_id for server_id, _ in sim.ledger.creates] == list(range(12347, 12353))


def test_a_new_ledger_has_no_duplicates() -> None:
    ledger = Ledger()
    assert (ledger.total, ledger.duplicate_creates(), ledger.created_names) == (0, {}, [])


async def test_the_ledger_is_json_and_served_to_other_processes(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(error_rate=1.0, error_statuses=(502,), endpoints={"get_server"})
    await api.get("/servers/12345/")
    await api.create(name="x")
    await api.create(name="x")
    expected = {
        "total": 3,
        "requests": {"create_server": {"201": 2}, "get_server": {"502": 1}},
        "faults": {"error_502": 1},
        "applied": {"create_server": 2},
        "creates": [{"id": 12347, "name": "x"}, {"id": 12348, "name": "x"}],
        "duplicate_creates": {"x": 2},
    }
    assert json.loads(json.dumps(sim.ledger.to_dict())) == expected
    reply = await api.call("GET", "/_sim/ledger", root=True)
    assert (reply.status, reply.data) == (200, expected)
    assert sim.ledger.total == 3  # admin routes are not counted


async def test_the_ledger_can_be_reset(api: Api, sim: Simulator) -> None:
    await api.create()
    reply = await api.call("POST", "/_sim/reset-ledger", root=True)
    assert reply.status == 204
    assert sim.ledger.to_dict() == Ledger().to_dict()
    assert len(sim.servers) == 3  # the servers stay


async def test_the_state_route_summarises_the_servers(api: Api, sim: Simulator) -> None:
    sim.add_server(status="stopped")
    sim.balance = 12.5
    reply = await api.call("GET", "/_sim/state", root=True)
    assert reply.data == {
        "servers": 3,
        "by_status": {"active": 2, "stopped": 1},
        "balance": 12.5,
        "page_size": None,
    }


async def test_the_ledger_times_every_request_on_the_wall_clock(api: Api, sim: Simulator) -> None:
    before = time.time()
    await api.get("/servers/12345/")
    await api.create(name="timed")
    reply = await api.call("GET", "/_sim/ledger?times=1", root=True)
    after = time.time()
    times = reply.data["times"]
    assert [(endpoint, status) for _, endpoint, status in times] == [
        ("get_server", 200),
        ("create_server", 201),
    ]
    assert before <= times[0][0] <= times[1][0] <= after
    assert "times" not in (await api.call("GET", "/_sim/ledger", root=True)).data
