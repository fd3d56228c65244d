"""Lazy lifecycle transitions on an injectable clock, and the test-author helpers."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from vpsorg_async.testing import Delays, ManualClock, Simulator

from .conftest import ACTION, PROVISION
from .helpers import Api

ZERO_USAGE = {"cpu_percent": 0.0, "memory_used": 0, "disk_used": 0, "bandwidth_used": 0}


async def status_of(api: Api, server_id: int) -> str:
    reply = await api.get(f"/servers/{server_id}/")
    status: str = reply.data["status"]
    return status


async def test_create_provisions_then_becomes_active(clock: ManualClock, api: Api) -> None:
    created = (await api.create()).data
    assert (created["status"], created["ip_address"]) == ("provisioning", None)
    clock.advance(PROVISION - 0.01)
    detail = (await api.get(f"/servers/{created['id']}/")).data
    assert (detail["status"], detail["ip_address"], detail["ipv6_address"]) == (
        "provisioning",
        None,
        None,
    )
    assert detail["resource_usage"] == ZERO_USAGE
    clock.advance(0.01)
    detail = (await api.get(f"/servers/{created['id']}/")).data
    assert detail["status"] == "active"
    assert detail["ip_address"].count(".") == 3
    assert detail["ipv6_address"].startswith("2001:0db8::")
    assert detail["resource_usage"]["cpu_percent"] > 0


@pytest.mark.parametrize(
    ("action", "before", "during", "after"),
    [
        ("start", "stopped", "starting", "active"),
        ("stop", "active", "stopping", "stopped"),
        ("reboot", "active", "rebooting", "active"),
    ],
)
async def test_actions_pass_through_their_transitional_status(
    clock: ManualClock, sim: Simulator, api: Api, action: str, before: str, during: str, after: str
) -> None:
    sim.set_status(12345, before)
    reply = await api.post(f"/servers/12345/{action}/")
    assert reply.data["server"]["status"] == during
    assert await status_of(api, 12345) == during
    clock.advance(ACTION)
    assert await status_of(api, 12345) == after


async def test_a_stopped_server_uses_nothing_but_keeps_its_address(
    clock: ManualClock, api: Api
) -> None:
    await api.post("/servers/12345/stop/")
    clock.advance(ACTION)
    detail = (await api.get("/servers/12345/")).data
    assert detail["status"] == "stopped"
    assert detail["resource_usage"] == ZERO_USAGE
    assert detail["ip_address"] == "203.0.113.10"


async def test_updated_at_moves_with_every_change(clock: ManualClock, api: Api) -> None:
    first = (await api.get("/servers/12345/")).data["updated_at"]
    clock.advance(5)
    await api.post("/servers/12345/reboot/")
    rebooting = (await api.get("/servers/12345/")).data["updated_at"]
    clock.advance(ACTION + 5)
    rebooted = (await api.get("/servers/12345/")).data["updated_at"]
    clock.advance(5)
    patch = {"name": "renamed"}
    patched = (await api.call("PATCH", "/servers/12345/", json_body=patch)).data["updated_at"]
    assert first < rebooting < rebooted < patched
    unchanged = (await api.call("PATCH", "/servers/12345/", json_body=patch)).data["updated_at"]
    assert unchanged == patched


async def test_list_reads_advance_state_too(clock: ManualClock, api: Api) -> None:
    await api.post("/servers/12345/stop/")
    clock.advance(ACTION)
    listed = {s["id"]: s["status"] for s in (await api.get("/servers/")).data["results"]}
    assert listed == {12345: "stopped", 12346: "active"}


async def test_delete_removes_the_server(api: Api, sim: Simulator) -> None:
    assert (await api.call("DELETE", "/servers/12346/")).status == 204
    assert (await api.get("/servers/12346/")).status == 404
    assert (await api.call("DELETE", "/servers/12346/")).status == 404
    assert [s["id"] for s in (await api.get("/servers/")).data["results"]] == [12345]
    assert sim.get(12346) is None


async def test_delete_during_a_transition(clock: ManualClock, api: Api) -> None:
    await api.post("/servers/12345/reboot/")
    assert (await api.call("DELETE", "/servers/12345/")).status == 204
    clock.advance(ACTION)  # the stale deadline must not resurrect it
    assert (await api.get("/servers/12345/")).status == 404


async def test_delays_are_jittered_within_their_range(clock: ManualClock) -> None:
    delays = Delays(provision=(1.0, 3.0))
    async with Simulator(clock=clock, delays=delays) as sim:
        ids = [sim.add_server(status="provisioning")["id"] for _ in range(20)]
        deadlines = [record.ready_at for record in sim.state if record.id in ids]
    offsets = [d - clock() for d in deadlines if d is not None]
    assert len(offsets) == 20
    assert all(1.0 <= o <= 3.0 for o in offsets)
    assert len(set(offsets)) == 20


def test_delays_validate_and_scale() -> None:
    with pytest.raises(ValueError, match="min <= max"):
        Delays(start=(2.0, 1.0))
    with pytest.raises(ValueError, match=">= 0"):
        Delays().scaled(-1)
    assert Delays(stop=(1, 2)).scaled(0.5).stop == (0.5, 1.0)
    assert Delays.instant().reboot == (0.0, 0.0)
    assert Delays.fast().provision == (0.01, 0.03)


def test_the_manual_clock_only_goes_forward() -> None:
    clock = ManualClock()
    clock.advance(1.5)
    assert clock() == 1.5
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


async def test_the_manual_clock_sleeps_by_moving_and_yields_once() -> None:
    clock = ManualClock(10.0)
    steps: list[str] = []

    async def other() -> None:
        steps.append("other ran")

    task = asyncio.create_task(other())
    await clock.sleep(2.5)
    steps.append("slept")
    await clock.sleep(-1.0)  # like asyncio.sleep: no wait, and never backwards
    await task
    assert steps == ["other ran", "slept"]  # the sleep was a scheduling point
    assert clock() == 12.5
    assert clock.sleeps == [2.5, -1.0]


async def test_helpers_for_test_authors(clock: ManualClock, sim: Simulator) -> None:
    added = sim.add_server(name="odd-one", status="error", location="eu-central", plan_id=3)
    assert (added["status"], added["location"], added["plan"]["name"]) == (
        "error",
        "eu-central",
        "Starter VPS",
    )
    assert added["hostname"] == "odd-one.example.com"
    assert sim.get(added["id"]) == added
    assert [s["id"] for s in sim.servers] == [12345, 12346, added["id"]]
    assert sim.set_status(12345, "starting")["status"] == "starting"
    clock.advance(ACTION)
    assert sim.get(12345) == sim.servers[0]
    assert sim.servers[0]["status"] == "active"
    with pytest.raises(KeyError):
        sim.set_status(1, "active")
    with pytest.raises(ValueError, match="unknown plan"):
        sim.add_server(plan_id=99)


async def test_a_provisioning_server_added_by_hand_finishes(
    clock: ManualClock, sim: Simulator
) -> None:
    added = sim.add_server(status="provisioning")
    assert added["ip_address"] is None
    clock.advance(PROVISION)
    server = sim.get(added["id"])
    assert server is not None
    assert (server["status"], server["ip_address"] is not None) == ("active", True)


async def test_ten_thousand_servers_need_no_tasks(
    clock: ManualClock, session: aiohttp.ClientSession
) -> None:
    async with Simulator(servers=10_000, clock=clock, delays=Delays.instant()) as big:
        tasks_before = len(asyncio.all_tasks())
        for record in big.state:
            if record.status == "active":
                big.set_status(record.id, "rebooting")
        assert len(asyncio.all_tasks()) == tasks_before
        clock.advance(0.001)
        statuses = {s["status"] for s in big.servers}
        assert statuses == {"active", "stopped"}
        reply = await Api(session, big).get("/servers/?status=rebooting")
        assert reply.data == {"count": 0, "results": []}
