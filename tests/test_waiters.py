"""Waiters: the state table, exact deadlines and schedules on a fake clock, and shared polling."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest
from fleet_helpers import FakeAPI, FakeServer

from vpsorg_async import (
    AuthenticationError,
    Client,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseDecodeError,
    ServerError,
    TransportError,
    ValidationError,
    WaiterFailedError,
    WaiterTimeoutError,
    waiters,
)
from vpsorg_async._policy import MIN_POLL_TIMEOUT
from vpsorg_async.testing import Delays, Faults, ManualClock, Simulator
from vpsorg_async.waiters import DELETED, WAITERS, StatusWatcher, Verdict, rule_for
from vpsorg_async.waiters._schedule import AgeSchedule, PollSchedule, half_jitter


def _5xx() -> ServerError:
    return ServerError(status=503, method="GET", path="/servers/1/")


def _429() -> RateLimitError:
    return RateLimitError(status=429, method="GET", path="/servers/1/", retry_after=1.0)


# -- the state table -------------------------------------------------------------------------


def test_state_table_rows() -> None:
    assert WAITERS["active"].success == {"active"}
    assert WAITERS["active"].failure == {"suspended"}
    assert WAITERS["stopped"].success == {"stopped"}
    assert WAITERS[DELETED].gone is Verdict.SUCCESS
    assert WAITERS["active"].gone is Verdict.FAILURE
    assert waiters.SETTLES_TO == {
        "provisioning": "active",
        "starting": "active",
        "stopping": "stopped",
        "rebooting": "active",
    }


def test_rule_for_adds_caller_failures_and_refuses_nonsense() -> None:
    rule = rule_for("active", ["stopped"])
    assert rule.failure == {"suspended", "stopped"}
    assert rule_for("suspended").success == {"suspended"}
    assert rule_for("suspended").failure == frozenset()
    with pytest.raises(ValidationError):
        rule_for("active", ["active"])
    with pytest.raises(ValidationError):
        rule_for("")


def test_poll_schedule_grows_to_the_cap_and_jitter_stays_within() -> None:
    doubling = PollSchedule(first=1.0, cap=8.0, jitter=None)
    assert [doubling.next_delay() for _ in range(5)] == [1, 2, 4, 8, 8]
    schedule = PollSchedule(first=1.0, cap=8.0, jitter=None, growth=1.5)
    assert [schedule.next_delay() for _ in range(8)] == [1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 8, 8]
    schedule.restart()
    assert schedule.next_delay() == 1
    random.seed(3)
    jittered = PollSchedule(first=1.0, cap=8.0, jitter=half_jitter, growth=1.5)
    for expected in [1, 1.5, 2.25, 3.375, 5.0625, 7.59375, 8]:
        assert expected / 2 <= jittered.next_delay() <= expected


# -- one server, exact timing on a fake clock ------------------------------------------------


async def test_waits_through_pending_statuses_with_the_exponential_schedule() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "stopped", script=["starting", "starting", "starting", "active"]))
    server = await waiters.wait_until_active(
        api.client, 1, timeout=100, poll_interval=1, max_poll_interval=3, jitter=None
    )
    assert server.status == "active"
    assert api.sleeps == [1, 2, 3]  # a single waiter doubles: each poll is a GET of its own
    assert api.calls == {"get": 4}


async def test_timeout_is_exact_last_sleep_clipped_one_last_poll() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting"))
    with pytest.raises(WaiterTimeoutError) as caught:
        await waiters.wait_until_active(
            api.client, 1, timeout=10, poll_interval=1, max_poll_interval=4, jitter=None
        )
    # polls at t = 0, 1, 3, 7 and, clipped, exactly at the deadline t = 10
    assert api.sleeps == [1, 2, 4, 3]
    assert api.now == 10
    error = caught.value
    assert error.polls == 5
    assert error.elapsed == 10
    assert error.last_server is not None
    assert error.last_server.status == "starting"
    assert error.target == "active"
    assert error.server_id == 1
    # each poll gets the time left as its timeout; the last look still gets a moment
    assert api.timeouts == [10, 9, 7, 3, MIN_POLL_TIMEOUT]


@pytest.mark.parametrize("seed", range(5))
async def test_never_sleeps_past_the_deadline_with_jitter_and_slow_answers(seed: int) -> None:
    random.seed(seed)
    api = FakeAPI(request_time=0.3)
    api.add(FakeServer(1, "stopping"))
    timeout = 7.5 + seed
    with pytest.raises(WaiterTimeoutError) as caught:
        await waiters.wait_until_stopped(
            api.client, 1, timeout=timeout, poll_interval=0.5, max_poll_interval=2
        )
    polls = caught.value.polls
    assert sum(api.sleeps) + polls * 0.3 == pytest.approx(api.now)
    # the last sleep ended at the deadline at the latest; then one poll (0.3 s) was made
    assert api.now - 0.3 <= timeout + 1e-9
    assert all(sleep <= 2 for sleep in api.sleeps)


async def test_failure_status_ends_the_wait_at_once() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting", script=["starting", "suspended", "active"]))
    with pytest.raises(WaiterFailedError) as caught:
        await waiters.wait_until_active(api.client, 1, poll_interval=1, jitter=None)
    assert caught.value.server.status == "suspended"
    assert caught.value.target == "active"
    assert api.calls == {"get": 2}


async def test_caller_failure_statuses() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "stopped"))
    with pytest.raises(WaiterFailedError):
        await waiters.wait_for_status(api.client, 1, "active", failure_statuses={"stopped"})
    assert api.calls == {"get": 1}


async def test_transient_errors_are_polled_through() -> None:
    api = FakeAPI()
    errors: list[str | Exception] = [
        _5xx(),
        _429(),
        TransportError("cut", method="GET", path="/servers/1/"),
        RequestTimeoutError("slow", method="GET", path="/servers/1/"),
        ResponseDecodeError("<html>"),
    ]
    api.add(FakeServer(1, "starting", script=[*errors, "active"]))
    server = await waiters.wait_until_active(
        api.client, 1, timeout=1000, poll_interval=1, max_poll_interval=2, jitter=None
    )
    assert server.status == "active"
    assert api.calls == {"get": 6}


async def test_timeout_after_failed_polls_keeps_last_server_and_cause() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting", script=["starting", _5xx(), _5xx(), _5xx()]))
    with pytest.raises(WaiterTimeoutError) as caught:
        await waiters.wait_until_active(
            api.client, 1, timeout=3, poll_interval=1, max_poll_interval=1, jitter=None
        )
    assert caught.value.polls == 4
    assert caught.value.last_server is not None
    assert caught.value.last_server.status == "starting"
    assert isinstance(caught.value.__cause__, ServerError)


@pytest.mark.parametrize("error", [AuthenticationError, PermissionDeniedError, NotFoundError])
async def test_401_403_404_end_the_wait(error: type[AuthenticationError]) -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting", script=[error(status=0, method="GET", path="/")]))
    with pytest.raises(error):
        await waiters.wait_until_active(api.client, 1)
    assert api.calls == {"get": 1}
    assert api.sleeps == []


async def test_wait_until_deleted_ends_on_404() -> None:
    api = FakeAPI()
    gone = NotFoundError(status=404, method="GET", path="/servers/1/")
    api.add(FakeServer(1, "active", script=["active", "active", gone]))
    await waiters.wait_until_deleted(api.client, 1, poll_interval=1)
    assert api.calls == {"get": 3}


async def test_unknown_status_is_pending_and_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "migrating", script=["migrating", "active"]))
    with caplog.at_level(logging.DEBUG, logger="vpsorg_async"):
        server = await waiters.wait_until_active(api.client, 1, poll_interval=1)
    assert server.status == "active"
    assert any("unknown status 'migrating'" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "migrating" in r.message)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": -1},
        {"poll_interval": -1},
        {"poll_interval": 5, "max_poll_interval": 1},
        {"timeout": True},
    ],
)
async def test_bad_options_are_refused_before_any_request(options: dict[str, Any]) -> None:
    api = FakeAPI()
    with pytest.raises(ValidationError):
        await waiters.wait_until_active(api.client, 1, **options)
    assert api.calls == {}


async def test_bad_arguments_are_refused() -> None:
    api = FakeAPI()
    with pytest.raises(ValidationError):
        await waiters.wait_until_active(api.client, 0)
    with pytest.raises(ValidationError):
        await waiters.wait_for_status(api.client, 1, DELETED)
    assert api.calls == {}


async def test_cancelling_a_waiter_leaves_nothing_behind() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting"))
    task = asyncio.create_task(waiters.wait_until_active(api.client, 1, poll_interval=1))
    for _ in range(10):  # let it poll and sleep a few times
        await asyncio.sleep(0)
    assert api.calls["get"] >= 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == {asyncio.current_task()}


# -- many servers: StatusWatcher and wait_many ------------------------------------------------


def _fleet_of(api: FakeAPI, count: int, *, ready_every: float = 1.0) -> list[int]:
    for i in range(1, count + 1):
        api.add(FakeServer(i, "starting", then="active", at=ready_every * (i % 10 + 1)))
    return list(range(1, count + 1))


async def test_wait_many_polls_the_list_once_per_tick() -> None:
    api = FakeAPI()
    ids = _fleet_of(api, 200)
    results = await waiters.wait_many(
        api.client, ids, "active", poll_interval=1, max_poll_interval=1, jitter=None
    )
    assert all(
        r.ok and r.server is not None and r.server.status == "active" for r in results.values()
    )
    assert list(results) == ids
    # ready at t = 1..10: ticks at t = 0..10, one list request each, no GETs at all
    assert api.calls == {"list": 11}


async def test_wait_many_forced_per_server() -> None:
    api = FakeAPI()
    ids = _fleet_of(api, 20)
    await waiters.wait_many(
        api.client, ids, "active", poll_interval=1, max_poll_interval=1, jitter=None, coalesce=False
    )
    # each server is polled until its own time: 2 + 3 + ... (t = 0..k for ready at k)
    assert api.calls == {"get": sum(i % 10 + 2 for i in ids)}


async def test_few_servers_in_a_big_paged_account_are_polled_one_by_one() -> None:
    api = FakeAPI(page_size=50)
    _fleet_of(api, 1000)
    results = await waiters.wait_many(
        api.client, [995, 996, 997], "active", poll_interval=1, max_poll_interval=1, jitter=None
    )
    assert all(r.ok for r in results.values())
    # the first tick reads page 1 (count and page length), then prefers 3 GETs to 19 pages
    assert api.calls["list"] == 1
    assert api.calls["get"] <= 3 * 10


async def test_many_servers_in_a_paged_account_are_swept() -> None:
    api = FakeAPI(page_size=50)
    ids = _fleet_of(api, 200)
    await waiters.wait_many(
        api.client, ids, "active", poll_interval=1, max_poll_interval=1, jitter=None
    )
    # 4 pages a tick at most, fewer as servers finish (the sweep stops once all were seen)
    assert api.calls.get("get", 0) == 0
    assert api.calls["list"] <= 4 * 11


async def test_sweep_uses_the_location_filter_when_all_share_one() -> None:
    api = FakeAPI()
    for i in (1, 2, 3):
        api.add(FakeServer(i, "starting", location="eu-central", then="active", at=3))
    await waiters.wait_many(api.client, [1, 2, 3], "active", poll_interval=1, location="eu-central")
    assert set(api.list_locations) == {"eu-central"}


async def test_absent_from_the_list_is_deleted_or_confirmed_with_a_get() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "active"), FakeServer(2, "active"))
    results = await waiters.wait_many(api.client, [7, 8], DELETED)
    assert all(r.ok and r.server is None for r in results.values())
    assert api.calls == {"list": 1}
    results = await waiters.wait_many(api.client, [1, 8], "active")
    assert results[1].ok
    assert isinstance(results[8].error, NotFoundError)
    assert api.calls == {"list": 2, "get": 1}


async def test_sweep_errors_postpone_or_fall_back_to_gets() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "active"), FakeServer(2, "active"))
    api.list_errors = [_5xx(), AuthenticationError(status=401, method="GET", path="/servers/")]
    results = await waiters.wait_many(api.client, [1, 2], "active", poll_interval=1, jitter=None)
    assert all(r.ok for r in results.values())
    # tick 1: 5xx, wait; tick 2: 401, so each server is asked on its own
    assert api.calls == {"list": 2, "get": 2}


async def test_watcher_deadlines_are_exact_per_server() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting"), FakeServer(2, "starting"), FakeServer(3, "starting"))
    results: dict[int, waiters.WaitResult] = {}
    async with StatusWatcher(
        api.client, poll_interval=1, max_poll_interval=4, jitter=None, coalesce=True
    ) as watcher:
        all_done = asyncio.Event()

        def done(result: waiters.WaitResult) -> None:
            results[result.server_id] = result
            if len(results) == 3:
                all_done.set()

        for server_id, timeout in ((1, 2.5), (2, 6.0), (3, 6.0)):
            watcher.watch(server_id, WAITERS["active"], timeout=timeout, on_done=done)
        await all_done.wait()
    # pauses of 0.4 of the time since the join, at least 1: ticks at t = 0, 1, 2, 2.5 (server
    # 1's deadline), 3.5, 4.9, then 6 (clipped: not 6.86)
    ticks = [sum(api.sleeps[:i]) for i in range(1, len(api.sleeps) + 1)]
    assert ticks == pytest.approx([1, 2, 2.5, 3.5, 4.9, 6])
    first, second = results[1].error, results[2].error
    assert isinstance(first, WaiterTimeoutError)
    assert isinstance(second, WaiterTimeoutError)
    assert (first.elapsed, first.polls) == (2.5, 4)
    assert (second.elapsed, second.polls) == (6, 7)


async def test_watcher_wait_and_a_failing_callback() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "active"), FakeServer(2, "suspended"))
    async with StatusWatcher(api.client) as watcher:
        server = await watcher.wait(1, WAITERS["active"])
        assert server is not None
        assert server.id == 1
        with pytest.raises(WaiterFailedError):
            await watcher.wait(2, WAITERS["active"])

    def explode(result: waiters.WaitResult) -> None:
        raise LookupError("callback bug")

    async def watch_with_a_bad_callback() -> None:
        async with StatusWatcher(api.client) as watcher:
            watcher.watch(1, WAITERS["active"], on_done=explode)
            await asyncio.sleep(3600)  # the failing callback ends the block long before

    with pytest.raises(ExceptionGroup) as caught:
        await watch_with_a_bad_callback()
    assert caught.group_contains(LookupError)
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_watcher_refuses_misuse() -> None:
    api = FakeAPI()
    watcher = StatusWatcher(api.client)
    with pytest.raises(RuntimeError):
        watcher.watch(1, WAITERS["active"], on_done=print)
    async with watcher:
        watcher.watch(1, WAITERS["active"], on_done=print)
        with pytest.raises(RuntimeError):
            watcher.watch(1, WAITERS["active"], on_done=print)
        watcher.forget(1)
        assert watcher.pending == 0
    with pytest.raises(ValidationError):
        StatusWatcher(api.client, concurrency=0)


# -- against the simulator -------------------------------------------------------------------


async def test_waiters_against_the_simulator() -> None:
    time = ManualClock(1000.0)
    async with (
        Simulator(servers=3, delays=Delays.fast().scaled(10), seed=4, clock=time) as sim,
        Client(sim.token, base_url=sim.url, clock=time, sleep=time.sleep) as client,
    ):
        stopped = sim.add_server(status="stopped")["id"]
        await client.start_server(stopped)
        server = await waiters.wait_until_active(client, stopped, poll_interval=0.05)
        assert server.status == "active"
        await client.stop_server(stopped)
        assert (await waiters.wait_until_stopped(client, stopped)).status == "stopped"
        await client.delete_server(stopped)
        await waiters.wait_until_deleted(client, stopped)
        suspended = sim.add_server(status="suspended")["id"]
        with pytest.raises(WaiterFailedError):
            await waiters.wait_until_active(client, suspended)


async def test_waiter_rides_out_5xx_and_429_from_the_simulator() -> None:
    time = ManualClock(1000.0)
    faults = Faults(error_rate=0.4, throttle_rate=0.3, endpoints=["get_server"])
    async with (
        Simulator(delays=Delays.fast().scaled(50), faults=faults, seed=9, clock=time) as sim,
        Client(sim.token, base_url=sim.url, clock=time, sleep=time.sleep, max_retries=0) as client,
    ):
        server_id = sim.add_server(status="provisioning")["id"]
        server = await waiters.wait_until_active(client, server_id, poll_interval=0.1)
        assert server.status == "active"
        assert (
            sim.ledger.faults["throttle"]
            + sum(n for kind, n in sim.ledger.faults.items() if kind.startswith("error_"))
            > 0
        )


async def test_wait_many_against_the_simulator_costs_one_list_per_tick() -> None:
    time = ManualClock(1000.0)
    async with (
        Simulator(servers=200, delays=Delays.fast().scaled(20), seed=2, clock=time) as sim,
        Client(sim.token, base_url=sim.url, clock=time, sleep=time.sleep) as client,
    ):
        ids = [s["id"] for s in sim.servers]
        for server_id in ids:
            sim.set_status(server_id, "starting")
        results = await waiters.wait_many(client, ids, "active", poll_interval=0.1)
        assert all(r.ok for r in results.values())
        ticks = sim.ledger.count("list_servers")
        assert sim.ledger.count("get_server") == 0
        assert 1 <= ticks <= 10


async def test_watcher_is_single_use_and_a_cancelled_wait_is_forgotten() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "starting"))
    watcher = StatusWatcher(api.client, poll_interval=1)
    async with watcher:
        task = asyncio.create_task(watcher.wait(1, WAITERS["active"]))
        for _ in range(5):
            await asyncio.sleep(0)
        assert watcher.pending == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert watcher.pending == 0
    with pytest.raises(RuntimeError):
        async with watcher:
            pass
    assert await waiters.wait_many(api.client, [], "active") == {}


@pytest.mark.parametrize("took", [0.3, 1.0, 2.2, 3.0, 7.5, 40.0])
def test_a_shared_tick_sees_a_change_within_1_4_times_the_time_it_took(took: float) -> None:
    schedule = AgeSchedule(first=1.0, cap=60.0, jitter=None, growth=1.4)
    schedule.restart(100.0)  # the last server joined at t = 100
    tick = 100.0
    while tick < 100.0 + took:
        pause = schedule.next_delay(tick)
        assert pause >= 1.0  # never more often than poll_interval
        tick += pause
    assert tick - 100.0 <= max(1.4 * took, took + 1.0)
