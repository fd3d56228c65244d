"""Fleet operations against the simulator (fast-forwarded time) and a fake API (exact timing)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

import pytest
from fleet_helpers import FakeAPI, FakeServer

from vpsorg_async import (
    BadRequestError,
    Client,
    CreateServer,
    FleetError,
    ServerError,
    ValidationError,
    WaiterFailedError,
    WaiterTimeoutError,
    fleet,
)
from vpsorg_async.fleet import FleetAbortedError, FleetEvent, FleetResult
from vpsorg_async.testing import Delays, Faults, ManualClock, Simulator


class Timing(TypedDict):
    poll_interval: float
    max_poll_interval: float
    timeout: float


#: Fast enough for tests on a fast-forwarded clock, slow enough that polls see transitions.
POLL: Timing = {"poll_interval": 0.05, "max_poll_interval": 0.4, "timeout": 3600.0}


@asynccontextmanager
async def simulated(
    servers: int = 0, *, faults: Faults | None = None, seed: int = 7, **client: Any
) -> AsyncIterator[tuple[Simulator, Client]]:
    """A simulator and a client sharing one fast-forwarded clock (no real waiting)."""
    time = ManualClock(1000.0)
    async with (
        Simulator(servers=servers, delays=Delays.fast().scaled(20), faults=faults, seed=seed,
                  clock=time) as sim,
        Client(sim.token, base_url=sim.url, clock=time, sleep=time.sleep, **client) as client_,
    ):  # fmt: skip
        yield sim, client_


def statuses(sim: Simulator, ids: list[int]) -> set[str]:
    return {str(server["status"]) for server in sim.servers if server["id"] in ids}


def assert_nothing_left_running() -> None:
    """No task of ours is left: only this test's own and the simulator's connection handlers."""
    ours = {
        task
        for task in asyncio.all_tasks()
        if "aiohttp/web_protocol" not in task.get_coro().cr_code.co_filename  # type: ignore[union-attr]
    }
    assert ours == {asyncio.current_task()}


# -- a 200-server fleet, whole life ----------------------------------------------------------


async def test_200_server_fleet_from_mixed_states_through_its_whole_life() -> None:
    async with simulated(200) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        mixed = {"starting": ids[:5], "stopping": ids[5:10], "rebooting": ids[10:15],
                 "provisioning": ids[15:20]}  # fmt: skip
        for status, some in mixed.items():
            for server_id in some:
                sim.set_status(server_id, status)
        active_before = {s["id"] for s in sim.servers if s["status"] == "active"}

        started = await fleet.start(client, ids, concurrency=32, **POLL)
        assert started.ok
        assert statuses(sim, ids) == {"active"}
        assert {o.key for o in started.succeeded if o.already} == active_before
        assert all(o.server is not None and o.server.status == "active" for o in started.succeeded)
        # the stopping ones were waited for until stopped, then started
        assert sim.ledger.count("start_server", 200) == 200 - len(active_before) - 15

        rebooted = await fleet.reboot(client, ids, **POLL)
        assert rebooted.ok
        assert not any(o.already for o in rebooted.succeeded)
        stopped = await fleet.stop(client, ids, **POLL)
        assert stopped.ok
        assert statuses(sim, ids) == {"stopped"}
        deleted = await fleet.delete(client, ids, **POLL)
        assert deleted.ok
        assert sim.servers == []
        assert all(o.server is None for o in deleted.succeeded)
        # waiting was coalesced: list sweeps, not a GET per server per tick
        assert sim.ledger.count("get_server") <= 10
        assert sim.ledger.count("list_servers") < 100


async def test_rerunning_a_finished_fleet_changes_nothing() -> None:
    async with simulated(60) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        assert (await fleet.stop(client, ids, **POLL)).ok
        sim.ledger.reset()
        again = await fleet.stop(client, ids, **POLL)
        assert again.ok
        assert all(o.already for o in again.outcomes.values())
        assert sim.ledger.applied == {}
        assert (await fleet.delete(client, ids, **POLL)).ok
        gone = await fleet.delete(client, ids, **POLL)
        assert all(o.ok and o.already for o in gone.outcomes.values())
        assert len(gone.outcomes) == 60


async def test_suspended_servers_fail_while_the_rest_succeed() -> None:
    async with simulated(50) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        suspended = ids[3], ids[17], ids[40]
        for server_id in suspended:
            sim.set_status(server_id, "suspended")
        result = await fleet.start(client, ids, **POLL)
        assert not result.ok
        assert sorted(o.key for o in result.failed) == sorted(suspended)
        assert len(result.succeeded) == 47
        assert statuses(sim, [i for i in ids if i not in suspended]) == {"active"}
        with pytest.raises(FleetError) as caught:
            result.raise_for_failures()
        group = caught.value
        assert len(group.exceptions) == 3
        assert all(isinstance(e, BadRequestError) for e in group.exceptions)
        assert all(e.detail == "Server is suspended" for e in group.exceptions)  # type: ignore[attr-defined]
        notes = [note for e in group.exceptions for note in e.__notes__]
        assert notes == [f"fleet start: server {i}" for i in suspended]
        assert "3 of 50 servers failed" in str(group)


async def test_reboot_of_a_stopped_server_fails_with_its_reason() -> None:
    async with simulated() as (sim, client):
        up, down = sim.add_server(status="active")["id"], sim.add_server(status="stopped")["id"]
        result = await fleet.reboot(client, [up, down], **POLL)
        assert result.outcomes[up].ok
        error = result.outcomes[down].error
        assert isinstance(error, BadRequestError)
        assert error.detail == "Server is not running"


# -- faults the fleet rides out --------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        Faults(throttle_rate=0.35, retry_after=2),
        Faults(rate_limit=50, burst=10),
        Faults(error_rate=0.35, error_statuses=(500, 502, 503)),
        Faults(drop_before_rate=0.1, drop_after_rate=0.1, error_rate=0.1, throttle_rate=0.1),
    ],
    ids=["429-storm", "rate-limit", "5xx-burst", "everything"],
)
async def test_fleet_rides_out_429_storms_and_5xx_bursts(faults: Faults) -> None:
    async with simulated(120, faults=faults) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        result = await fleet.stop(client, ids, concurrency=24, **POLL)
        assert result.ok, [o.error for o in result.failed][:3]
        sim.faults = Faults()
        assert statuses(sim, ids) == {"stopped"}
        assert sum(sim.ledger.faults.values()) > 20


# -- coalesced polling, proven by the ledger -------------------------------------------------


async def test_coalesced_waiting_costs_about_one_request_per_tick() -> None:
    async with simulated(200) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        for server_id in ids:
            sim.set_status(server_id, "stopped")
        sim.ledger.reset()
        await fleet.start(client, ids, **POLL)
        coalesced = sim.ledger.count("list_servers") + sim.ledger.count("get_server")
        assert sim.ledger.count("get_server") <= 2
        # about one request a tick: the ticks of the shared schedule (pauses of 0.4 of the
        # time waited, at least poll_interval) while 200 servers take their time, nowhere near
        # one GET per server per tick
        assert coalesced <= 20

        sim.ledger.reset()
        await fleet.stop(client, ids, coalesce=False, **POLL)
        per_server = sim.ledger.count("get_server")
        assert sim.ledger.count("list_servers") == 0
        assert per_server >= 2 * 200  # every server polled more than once
        assert coalesced * 20 < per_server


# -- create ----------------------------------------------------------------------------------


def bodies(count: int, *, location: str = "us-east") -> list[CreateServer]:
    return [
        CreateServer(name=f"web-{i}", plan_id=1, os_id=5, location=location) for i in range(count)
    ]


async def test_create_reconciles_lost_answers_without_duplicates() -> None:
    faults = Faults(drop_after_rate=0.3, drop_before_rate=0.1, endpoints=["create_server"])
    async with simulated(faults=faults) as (sim, client):
        result = await fleet.create(client, bodies(100), **POLL)
        assert result.ok, [o.error for o in result.failed][:3]
        assert sim.ledger.faults["drop_after"] > 10
        assert sim.ledger.duplicate_creates() == {}
        assert sorted(sim.ledger.created_names) == sorted(f"web-{i}" for i in range(100))
        assert all(o.server is not None and o.server.status == "active" for o in result.succeeded)
        assert list(result.outcomes) != []
        # re-running finds them all by name: nothing is created twice
        sim.faults = Faults()
        again = await fleet.create(client, bodies(100), **POLL)
        assert all(o.ok and o.already for o in again.outcomes.values())
        assert len(sim.ledger.creates) == 100


async def test_create_refuses_duplicate_names_before_sending_anything() -> None:
    async with simulated() as (sim, client):
        with pytest.raises(ValidationError, match="web-0"):
            await fleet.create(client, [*bodies(3), *bodies(2)])
        assert sim.ledger.total == 0


async def test_create_without_waiting_and_a_suspended_namesake() -> None:
    async with simulated() as (sim, client):
        taken = sim.add_server(name="web-0", location="us-east", status="suspended")["id"]
        result = await fleet.create(client, bodies(3), wait=False, **POLL)
        assert result.outcomes["web-1"].ok
        created = result.outcomes["web-1"].server
        assert created is not None
        assert created.status == "provisioning"
        error = result.outcomes["web-0"].error
        assert isinstance(error, WaiterFailedError)
        assert error.server.id == taken


# -- cancellation, fail_fast, deadlines ------------------------------------------------------


async def test_cancelling_mid_fleet_keeps_every_outcome_and_leaves_nothing_running() -> None:
    async with simulated(200) as (sim, client):
        ids = [s["id"] for s in sim.servers]
        for server_id in ids:
            sim.set_status(server_id, "active")
        collected: FleetResult[int] = FleetResult()
        events: list[FleetEvent[int]] = []
        task: asyncio.Task[FleetResult[int]] | None = None

        def progress(event: FleetEvent[int]) -> None:
            events.append(event)
            if event.done == 60 and task is not None:
                task.cancel()

        task = asyncio.create_task(
            fleet.stop(client, ids, concurrency=4, result=collected, on_progress=progress, **POLL)
        )
        with pytest.raises(asyncio.CancelledError):
            await task
        assert_nothing_left_running()
        assert len(collected.outcomes) == 200
        aborted = [o.error for o in collected.failed]
        assert len(collected.succeeded) >= 20
        assert aborted
        assert all(isinstance(e, FleetAbortedError) and e.reason == "cancelled" for e in aborted)
        stages = {e.stage for e in aborted if isinstance(e, FleetAbortedError)}
        assert stages <= {"queued", "requesting", "waiting"}
        assert "queued" in stages
        # every success was reported; the inputs cut short by the cancellation were not
        assert sum(e.phase == "done" for e in events) == len(collected.succeeded)
        assert not any(e.phase == "failed" for e in events)
        requests = sim.ledger.total
        await asyncio.sleep(0.05)
        assert sim.ledger.total == requests  # nothing still talking to the API


async def test_fail_fast_stops_the_rest_and_reports_them() -> None:
    api = FakeAPI()
    api.add(*(FakeServer(i, "stopped") for i in range(1, 41)))
    api.servers[3].status = "suspended"
    result = await fleet.start(api.client, range(1, 41), concurrency=2, fail_fast=True, **POLL)
    assert len(result.outcomes) == 40
    first = result.outcomes[3].error
    assert isinstance(first, BadRequestError)
    aborted = [o.error for o in result.failed if o.key != 3]
    assert len(aborted) > 30
    assert all(isinstance(e, FleetAbortedError) and e.reason == "fail_fast" for e in aborted)
    assert all(e.cause is first for e in aborted if isinstance(e, FleetAbortedError))
    assert api.calls["start_server"] < 10
    assert_nothing_left_running()


async def test_fleet_deadline_is_honoured() -> None:
    api = FakeAPI(request_time=10)
    api.add(*(FakeServer(i, "stopped") for i in range(1, 6)))
    api.transition_time = 1e9
    result = await fleet.start(
        api.client, range(1, 6), concurrency=1, timeout=25, poll_interval=1, max_poll_interval=5
    )
    reasons = {key: type(o.error).__name__ for key, o in result.outcomes.items()}
    assert reasons == {
        1: "WaiterTimeoutError",
        2: "WaiterTimeoutError",
        3: "WaiterTimeoutError",
        4: "FleetAbortedError",
        5: "FleetAbortedError",
    }
    timed_out = result.outcomes[1].error
    assert isinstance(timed_out, WaiterTimeoutError)
    assert timed_out.last_server is not None
    assert timed_out.last_server.status == "starting"
    assert api.calls["start_server"] == 3
    assert max(api.sleeps, default=0) <= 5


# -- bounded, and waiting holds no slot ------------------------------------------------------


async def test_concurrency_bounds_requests_and_waiting_holds_no_slot() -> None:
    api = FakeAPI()
    api.action_delay = 5
    api.add(*(FakeServer(i, "stopped") for i in range(1, 101)))
    acted_at: list[float] = []
    api.on_action = lambda verb, server_id: acted_at.append(api.now)
    result = await fleet.start(
        api.client, range(1, 101), concurrency=4, coalesce=False, poll_interval=1,
        max_poll_interval=2, timeout=1000,
    )  # fmt: skip
    assert result.ok
    assert api.max_in_flight <= 4
    assert api.max_in_flight == 4
    # every start went out before the first server could be active: nobody waited in a slot
    assert max(acted_at) < api.transition_time


async def test_progress_events_tell_each_step_with_running_counts() -> None:
    api = FakeAPI()
    api.add(*(FakeServer(i, "stopped") for i in range(1, 11)), FakeServer(11, "suspended"))
    events: list[FleetEvent[int]] = []
    result = await fleet.start(api.client, range(1, 12), on_progress=events.append, **POLL)
    phases = [e.phase for e in events if e.key == 1]
    assert phases == ["requested", "waiting", "done"]
    assert [e.phase for e in events if e.key == 11] == ["failed"]
    last = events[-1]
    assert (last.done, last.failed, last.in_flight, last.total) == (10, 1, 0, 11)
    assert all(0 <= e.in_flight <= e.total for e in events)
    assert [e.outcome for e in events if e.outcome is not None] == list(result.outcomes.values())


async def test_without_waiting_the_fleet_returns_once_the_api_accepted() -> None:
    api = FakeAPI()
    api.add(*(FakeServer(i, "active") for i in range(1, 6)))
    result = await fleet.stop(api.client, range(1, 6), wait=False)
    assert result.ok
    assert all(o.server is None and not o.already for o in result.outcomes.values())
    assert set(api.calls) == {"stop_server"}


async def test_busy_moving_away_is_waited_for_then_asked_again() -> None:
    api = FakeAPI()
    api.add(
        FakeServer(1, "stopping", then="stopped", at=3),
        FakeServer(2, "starting", then="active", at=3),
    )
    result = await fleet.start(api.client, [1, 2], **POLL)
    assert result.ok
    assert api.calls["start_server"] == 3  # server 1 twice: busy, then started
    assert not result.outcomes[2].already


@pytest.mark.parametrize(
    ("ids", "options"),
    [
        ([1, 2, 1], {}),
        ([0], {}),
        ([1], {"concurrency": 0}),
        ([1], {"wait": "yes"}),
        ([1], {"timeout": 0}),
        ([1], {"coalesce": 1}),
        ([1], {"on_progress": 3}),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    ids: list[int], options: dict[str, Any]
) -> None:
    api = FakeAPI()
    with pytest.raises(ValidationError):
        await fleet.start(api.client, ids, **options)
    assert api.calls == {}


async def test_empty_fleet_and_result_helpers() -> None:
    api = FakeAPI()
    result = await fleet.delete(api.client, [])
    assert result.ok
    assert result.outcomes == {}
    result.raise_for_failures()


async def test_create_counts_namesakes_as_already_and_waits_for_provisioning_ones() -> None:
    async with simulated() as (sim, client):
        provisioning = sim.add_server(name="web-1", location="us-east", status="provisioning")
        stopped = sim.add_server(name="web-2", location="us-east", status="stopped")
        sim.add_server(name="web-0", location="us-west", status="active")  # another location
        result = await fleet.create(client, bodies(3), **POLL)
        assert result.ok
        assert [result.outcomes[f"web-{i}"].already for i in range(3)] == [False, True, True]
        first = result.outcomes["web-1"].server
        assert first is not None
        assert (first.id, first.status) == (provisioning["id"], "active")
        second = result.outcomes["web-2"].server
        assert second is not None
        assert (second.id, second.status) == (stopped["id"], "stopped")
        assert sim.ledger.created_names == ["web-0"]


async def test_a_failing_progress_callback_ends_the_call_and_keeps_the_outcomes() -> None:
    api = FakeAPI()
    api.add(*(FakeServer(i, "active") for i in range(1, 21)))
    collected: FleetResult[int] = FleetResult()

    def progress(event: FleetEvent[int]) -> None:
        if event.done == 5:
            raise LookupError("progress bar broke")

    with pytest.raises(ExceptionGroup) as caught:
        await fleet.stop(api.client, range(1, 21), on_progress=progress, result=collected, **POLL)
    assert caught.group_contains(LookupError)
    assert len(collected.outcomes) == 20
    reasons = {o.error.reason for o in collected.failed if isinstance(o.error, FleetAbortedError)}
    assert reasons == {"error"}
    assert_nothing_left_running()


async def test_a_bad_token_fails_every_server_quickly() -> None:
    async with simulated(5) as (sim, _):
        ids = [s["id"] for s in sim.servers]
        async with Client("not-the-token", base_url=sim.url) as client:
            result = await fleet.start(client, ids, **POLL)
        assert [type(o.error).__name__ for o in result.outcomes.values()] == [
            "AuthenticationError"
        ] * 5
        assert sim.ledger.count("start_server", 401) == 5


async def test_create_survives_chaos_on_create_and_list_without_duplicates() -> None:
    faults = Faults(
        drop_after_rate=0.3, error_rate=0.3, endpoints=["create_server", "list_servers"]
    )
    async with simulated(faults=faults, seed=11, max_retries=0) as (sim, client):
        result = await fleet.create(client, bodies(40), concurrency=8, **POLL)
        assert result.ok, [o.error for o in result.failed][:3]
        assert sim.ledger.duplicate_creates() == {}
        assert len(sim.ledger.creates) == 40


async def test_transient_action_errors_are_retried_until_the_deadline() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "active"), FakeServer(2, "active"))
    storm = [ServerError(status=503, method="POST", path="/servers/1/stop/") for _ in range(3)]
    api.action_errors = list(storm)
    result = await fleet.stop(api.client, [1, 2], concurrency=1, wait=False, **POLL)
    assert result.ok
    assert api.calls["stop_server"] == 5
    # a storm longer than the deadline: the last transient error is the failure, with a note
    api.add(FakeServer(3, "active"))
    api.action_errors = [ServerError(status=503, method="POST", path="/x/") for _ in range(99)]
    began = api.now
    result = await fleet.stop(api.client, [3], wait=False, timeout=5)
    error = result.outcomes[3].error
    assert isinstance(error, ServerError)
    assert "not retried: the fleet's deadline would pass" in error.__notes__
    assert api.now - began <= 5


async def test_a_server_that_never_settles_is_given_up_after_a_few_rounds() -> None:
    api = FakeAPI()
    api.transition_time = 1
    api.add(FakeServer(1, "stopping", then="stopped", at=1))

    def keep_it_busy(verb: str, server_id: int) -> None:
        fake = api.servers[server_id]
        fake.status, fake.then, fake.at = "stopping", "stopped", api.now + 1

    api.on_action = keep_it_busy
    result = await fleet.start(api.client, [1], **POLL)
    error = result.outcomes[1].error
    assert error is not None
    assert "kept changing state" in str(error)
    assert api.calls["start_server"] == 4


async def test_bad_inputs_of_create_and_result() -> None:
    api = FakeAPI()
    with pytest.raises(ValidationError):
        await fleet.create(api.client, ["web-1"])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        await fleet.start(api.client, [1], result={})  # type: ignore[arg-type]
    assert api.calls == {}
