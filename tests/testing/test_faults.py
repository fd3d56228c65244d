"""Injected faults: 5xx, 429, rate limit, latency, dropped connections; seeded and switchable."""

from __future__ import annotations

import time

import aiohttp
import pytest

from vpsorg_async.testing import Faults, ManualClock, Simulator
from vpsorg_async.testing.examples import CREATE_REQUEST

from .helpers import Api

ALWAYS_503 = Faults(error_rate=1.0, error_statuses=(503,))


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_look_like_a_proxy_or_django(
    api: Api, sim: Simulator, status: int
) -> None:
    sim.faults = Faults(error_rate=1.0, error_statuses=(status,), retry_after=7)
    reply = await api.get("/servers/")
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("text/html")
    assert reply.data is None
    assert reply.headers.get("Retry-After") == ("7" if status == 503 else None)
    assert sim.ledger.faults == {f"error_{status}": 1}


async def test_errors_draw_from_the_configured_statuses(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(error_rate=1.0)
    statuses = {(await api.get("/servers/12345/")).status for _ in range(40)}
    assert statuses == {500, 502, 503}


async def test_a_server_error_is_not_applied(api: Api, sim: Simulator) -> None:
    sim.faults = ALWAYS_503
    assert (await api.create()).status == 503
    assert sim.ledger.creates == []
    assert len(sim.servers) == 2


async def test_random_429_carries_retry_after(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(throttle_rate=1.0, retry_after=3)
    reply = await api.get("/servers/")
    assert (reply.status, reply.headers["Retry-After"]) == (429, "3")
    assert reply.data == {"detail": "Request was throttled. Expected available in 3 seconds."}
    assert sim.ledger.faults == {"throttle": 1}


async def test_the_rate_limit_is_a_token_bucket(
    clock: ManualClock, api: Api, sim: Simulator
) -> None:
    sim.faults = Faults(rate_limit=2.0, burst=3)
    statuses = [(await api.get("/servers/")).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    reply = await api.get("/servers/")
    assert (reply.status, reply.headers["Retry-After"]) == (429, "1")
    assert reply.data == {"detail": "Request was throttled. Expected available in 1 second."}
    clock.advance(0.5)  # one token back at 2 per second
    assert [(await api.get("/servers/")).status for _ in range(2)] == [200, 429]
    assert sim.ledger.faults == {"rate_limit": 3}


async def test_the_rate_limit_bucket_defaults_to_one_second(
    clock: ManualClock, api: Api, sim: Simulator
) -> None:
    sim.faults = Faults(rate_limit=0.25)
    assert [(await api.get("/servers/")).status for _ in range(2)] == [200, 429]
    assert (await api.get("/servers/")).headers["Retry-After"] == "4"
    clock.advance(4)
    assert (await api.get("/servers/")).status == 200


async def test_latency_is_added(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(latency=(0.02, 0.03))
    started = time.perf_counter()
    assert (await api.get("/servers/")).status == 200
    assert time.perf_counter() - started >= 0.02
    assert sim.ledger.faults == {"latency": 1}


async def test_drop_before_cuts_the_connection_and_applies_nothing(
    api: Api, sim: Simulator
) -> None:
    sim.faults = Faults(drop_before_rate=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.create()
    assert sim.ledger.creates == []
    assert len(sim.servers) == 2
    assert sim.ledger.faults == {"drop_before": 1}
    assert sim.ledger.count("create_server", 0) == 1


async def test_drop_after_applies_then_cuts_the_connection(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(drop_after_rate=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.create()
    assert sim.ledger.created_names == [CREATE_REQUEST["name"]]
    assert [s["name"] for s in sim.servers][-1] == CREATE_REQUEST["name"]
    assert sim.ledger.faults == {"drop_after": 1}
    # A naive client retries, and the ledger proves it made a duplicate.
    sim.faults = Faults()
    assert (await api.create()).status == 201
    assert sim.ledger.duplicate_creates() == {CREATE_REQUEST["name"]: 2}


async def test_drop_after_on_an_action_applies_it(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(drop_after_rate=1.0, endpoints={"reboot_server"})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.post("/servers/12345/reboot/")
    assert (await api.get("/servers/12345/")).data["status"] == "rebooting"
    assert sim.ledger.applied["reboot_server"] == 1


async def test_a_reset_drop_is_a_connection_reset(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(drop_after_rate=1.0, drop_style="reset")
    with pytest.raises(aiohttp.ClientOSError):
        await api.create()
    assert sim.ledger.created_names == [CREATE_REQUEST["name"]]


async def test_aiohttp_itself_retries_idempotent_requests_once_on_a_drop(
    api: Api, sim: Simulator
) -> None:
    # Worth knowing for clients built on aiohttp: a dropped GET/PUT/DELETE reaches the
    # server twice before the caller sees the error.
    sim.faults = Faults(drop_before_rate=1.0)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get("/servers/")
    assert sim.ledger.count("list_servers", 0) in (1, 2)


async def test_faults_can_target_some_endpoints(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(error_rate=1.0, error_statuses=(503,), endpoints={"get_server"})
    assert (await api.get("/servers/")).status == 200
    assert (await api.get("/servers/12345/")).status == 503
    assert (await api.post("/servers/12345/reboot/")).status == 200


async def test_faults_can_be_switched_at_run_time(api: Api, sim: Simulator) -> None:
    sim.faults = ALWAYS_503
    assert (await api.get("/servers/")).status == 503
    sim.faults = Faults()
    assert (await api.get("/servers/")).status == 200
    assert sim.faults == Faults()


async def test_admin_routes_are_never_faulted(api: Api, sim: Simulator) -> None:
    sim.faults = Faults(drop_before_rate=0.5, error_rate=0.5, rate_limit=0.001, latency=(1, 1))
    for path in ("/_sim/ledger", "/_sim/faults", "/_sim/state"):
        assert (await api.call("GET", path, root=True)).status == 200
    assert (await api.call("GET", "/nothing/", root=True)).status == 404
    assert sim.ledger.faults == {}


async def test_faults_are_reproducible_by_seed(session: aiohttp.ClientSession) -> None:
    faults = Faults(error_rate=0.3, throttle_rate=0.2, latency=(0.0, 0.001))

    async def statuses(seed: int) -> list[int]:
        async with Simulator(servers=1, seed=seed, faults=faults) as sim:
            api = Api(session, sim)
            return [(await api.get("/servers/12345/")).status for _ in range(30)]

    first = await statuses(7)
    assert first == await statuses(7)
    assert {200, 429} <= set(first)
    assert first != await statuses(8)


async def test_delays_and_population_are_reproducible_by_seed() -> None:
    clock = ManualClock()

    def run(seed: int) -> list[object]:
        sim = Simulator(servers=30, seed=seed, clock=clock)
        sim.set_status(12350, "rebooting")
        return [(r.status, r.location, r.plan.id, r.ready_at) for r in sim.state]

    assert run(3) == run(3)
    assert run(3) != run(4)


def test_fault_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="within"):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError, match="sum"):
        Faults(error_rate=0.6, drop_after_rate=0.6)
    with pytest.raises(ValueError, match="unknown endpoint"):
        Faults(endpoints={"get_servers"})
    with pytest.raises(ValueError, match="5xx"):
        Faults(error_statuses=(404,))
    with pytest.raises(ValueError, match="latency"):
        Faults(latency=(1.0, 0.5))
    with pytest.raises(ValueError, match="drop_style"):
        Faults(drop_style="explode")  # type: ignore[arg-type]
    assert Faults(endpoints="get_server").endpoints == frozenset({"get_server"})
    assert not Faults().active
    assert Faults(rate_limit=1).active


def test_faults_round_trip_through_json() -> None:
    faults = Faults(error_rate=0.1, latency=(0.1, 0.2), endpoints={"list_servers"})
    assert Faults.from_dict(faults.to_dict()) == faults
    with pytest.raises(ValueError, match="unknown fault fields"):
        Faults.from_dict({"eror_rate": 0.1})


async def test_faults_can_be_set_through_the_admin_route(api: Api, sim: Simulator) -> None:
    reply = await api.call("POST", "/_sim/faults", json_body=ALWAYS_503.to_dict(), root=True)
    assert (reply.status, reply.data) == (200, ALWAYS_503.to_dict())
    assert sim.faults == ALWAYS_503
    assert (await api.call("GET", "/_sim/faults", root=True)).data == ALWAYS_503.to_dict()
    bad = await api.call("POST", "/_sim/faults", json_body={"error_rate": 2}, root=True)
    assert bad.status == 400
    assert "error_rate" in bad.data["detail"]
    assert sim.faults == ALWAYS_503
