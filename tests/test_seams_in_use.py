"""The seams in use: a status source other than the API feeds waiters and fleets; fleet.create
holds each name's create lock from its lookup until its create is decided."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import attrs
import pytest
from board_helpers import LocalCoordinator
from fleet_helpers import FakeAPI, FakeServer, server

from vpsorg_async import (
    AuthenticationError,
    Client,
    ConfigurationError,
    CreateServer,
    NotFoundError,
    RequestTimeoutError,
    ValidationError,
    WaiterTimeoutError,
    fleet,
    waiters,
)
from vpsorg_async._ratelimit import RateLimiter
from vpsorg_async._seams import (
    Ask,
    Coordinator,
    CreateLock,
    LocalCreateLocks,
    Pacer,
    Sighting,
    StatusSource,
    Unseen,
)
from vpsorg_async.testing import Delays, Simulator
from vpsorg_async.waiters import DELETED, WAITERS, StatusWatcher
from vpsorg_async.waiters._sweep import ApiStatusSource, WatcherStats


class Board:
    """A status board as another process would feed it: the watcher reads it, never the API."""

    def __init__(self, api: FakeAPI | None = None) -> None:
        self.api = api
        self.sightings: dict[int, Sighting] = {}
        self.asked: list[list[Ask]] = []

    async def statuses(self, asks: Sequence[Ask]) -> Mapping[int, Sighting]:
        self.asked.append(list(asks))
        return {
            ask.server_id: self.sightings[ask.server_id]
            for ask in asks
            if ask.server_id in self.sightings
        }


def test_the_default_source_and_a_board_both_satisfy_the_protocol() -> None:
    api = FakeAPI()
    default = ApiStatusSource(
        client=api.client,
        coalesce=None,
        concurrency=1,
        slots=asyncio.Semaphore(1),
        page_size=10,
        on_poll=None,
        stats=WatcherStats(),
    )
    assert isinstance(default, StatusSource)
    assert isinstance(Board(api), StatusSource)


async def test_a_watcher_fed_by_a_board_makes_no_request() -> None:
    api = FakeAPI()
    board = Board(api)
    board.sightings = {1: server(1, "active"), 2: None, 3: server(3, "starting")}
    async with StatusWatcher(api.client, jitter=None, status_source=board) as watcher:
        active = await watcher.wait(1, WAITERS["active"])
        gone = await watcher.wait(2, WAITERS[DELETED])
        with pytest.raises(WaiterTimeoutError) as timed_out:
            await watcher.wait(3, WAITERS["active"], timeout=3)
    assert active is not None
    assert active.status == "active"
    assert gone is None
    assert timed_out.value.last_server is not None
    assert timed_out.value.last_server.status == "starting"
    assert api.calls == {}  # nothing went to the API
    assert board.asked[0] == [Ask(1, 600.0, None, unlisted_is_gone=False)]
    assert board.asked[1] == [Ask(2, 600.0, None, unlisted_is_gone=True)]


async def test_a_board_answers_are_judged_like_the_apis() -> None:
    api = FakeAPI()
    board = Board(api)
    storm = RequestTimeoutError("the board is slow", method="GET", path="/board")
    refused = AuthenticationError(status=401, method="GET", path="/servers/4/")
    board.sightings = {1: None, 2: Unseen(storm), 4: refused}
    results = await waiters.wait_many(
        api.client, [1, 2, 4], "active", timeout=2, jitter=None, status_source=board
    )
    assert isinstance(results[1].error, NotFoundError)  # absent, yet it had to exist
    assert isinstance(results[2].error, WaiterTimeoutError)
    assert results[2].error.__cause__ is storm  # the last reason it went unseen
    assert results[4].error is refused
    assert api.calls == {}


async def test_a_fleet_acts_through_the_api_and_waits_through_the_board() -> None:
    api = FakeAPI()
    api.add(FakeServer(1, "stopped"), FakeServer(2, "stopped"))
    board = Board(api)
    board.sightings = {1: server(1, "active"), 2: server(2, "active")}
    result = await fleet.start(api.client, [1, 2], status_source=board)
    assert result.ok
    assert api.calls == {"start_server": 2}  # the actions; no list, no GET for the waits
    assert board.asked


class RecordingLock:
    """A CreateLock that tells when each name was held and let go."""

    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.inner = LocalCreateLocks()

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        async with self.inner.hold(name, timeout=timeout):
            self.events.append(f"hold {name}")
            try:
                yield
            finally:
                self.events.append(f"free {name}")


async def test_create_holds_each_name_from_the_lookup_until_its_create_is_decided() -> None:
    specs = [CreateServer(name=n, plan_id=1, os_id=5, location="us-west") for n in ("b", "a")]
    events: list[str] = []
    lock = RecordingLock(events)
    assert isinstance(lock, CreateLock)
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        sim.add_server(name="b", location="us-west")

        def seen(what: str) -> None:
            events.append(what)

        async with Client(sim.token, base_url=sim.url) as client:
            list_servers, create_server = client.list_servers, client.create_server

            async def listing(**kwargs: object) -> object:
                seen("list")
                return await list_servers(**kwargs)  # type: ignore[arg-type]

            async def creating(**kwargs: object) -> object:
                seen(f"create {kwargs['name']}")
                return await create_server(**kwargs)  # type: ignore[arg-type]

            client.list_servers = listing  # type: ignore[method-assign,assignment]
            client.create_server = creating  # type: ignore[method-assign,assignment]
            result = await fleet.create(client, specs, wait=False, create_lock=lock)
    assert result.ok
    assert [o.already for o in result.outcomes.values()] == [True, False]
    # every name is held (in one order for every creator) before the one lookup; "b" existed
    # and is let go when that is decided, "a" only once its create has answered
    assert events == ["hold a", "hold b", "list", "free b", "create a", "free a"]


async def test_two_fleets_creating_one_name_make_one_server() -> None:
    spec = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    async with (
        Simulator(servers=0, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url) as client,
    ):
        first, second = await asyncio.gather(
            fleet.create(client, [spec], wait=False), fleet.create(client, [spec], wait=False)
        )
        assert sim.ledger.created_names == ["web-1"]  # without the lock both would create it
    assert sorted(o.already for r in (first, second) for o in r.outcomes.values()) == [False, True]


class TakenLock:
    """A CreateLock another creator holds past our deadline."""

    @contextlib.asynccontextmanager
    async def hold(self, name: str, *, timeout: float) -> AsyncIterator[None]:
        raise TimeoutError
        yield  # pragma: no cover - never held


async def test_a_name_locked_past_the_deadline_fails_every_input_before_any_request() -> None:
    spec = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    async with (
        Simulator(servers=0, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url) as client,
    ):
        result = await fleet.create(client, [spec], create_lock=TakenLock())
        assert sim.ledger.count("list_servers") == 0
    [outcome] = result.failed
    assert isinstance(outcome.error, fleet.FleetAbortedError)
    assert (outcome.error.reason, outcome.error.stage) == ("timeout", "queued")


async def test_fleets_and_reconciling_creates_hold_the_clients_create_lock() -> None:
    events: list[str] = []
    spec = CreateServer(name="web-1", plan_id=1, os_id=5, location="us-west")
    async with (
        Simulator(servers=0, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url, create_lock=RecordingLock(events)) as client,
    ):
        await fleet.create(client, [spec], wait=False)  # no create_lock=: the client's
        await client.create_server(
            name="web-2", plan_id=1, os_id=5, location="us-west", reconcile=True
        )
    assert events == ["hold web-1", "free web-1", "hold web-2", "free web-2"]


@attrs.define(eq=False)
class FakeCoordinator(LocalCoordinator):
    """A Coordinator of in-process parts that records what the client asked for, and whose
    status source is a ``Board``."""

    reachable: bool = attrs.field(default=True, kw_only=True)
    opened: int = attrs.field(default=0, init=False)
    rates: list[float | None] = attrs.field(factory=list, init=False)
    wrapped: list[StatusSource] = attrs.field(factory=list, init=False)
    board: Board = attrs.field(factory=Board, init=False)

    async def open(self) -> None:
        self.opened += 1
        if not self.reachable:
            raise ConfigurationError("the coordinator cannot be reached")

    def pacer(self, rate: float | None, **parts: Any) -> Pacer:
        self.rates.append(rate)
        return super().pacer(rate, **parts)

    def status_source(self, own: StatusSource, **parts: Any) -> StatusSource:
        self.wrapped.append(own)
        return self.board


async def test_a_coordinator_supplies_the_pace_the_lock_and_the_statuses() -> None:
    coordinator = FakeCoordinator()
    assert isinstance(coordinator, Coordinator)
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        stopped = sim.add_server(status="stopped")["id"]
        async with Client(
            sim.token, base_url=sim.url, rate_limit=50, coordinator=coordinator
        ) as client:
            assert coordinator.opened == 1
            assert coordinator.rates == [50]
            assert client.create_lock is coordinator.locks
            coordinator.board.sightings = {stopped: server(stopped, "active")}
            result = await fleet.start(client, [stopped])  # waits through the board
        assert result.ok
        assert len(coordinator.wrapped) == 1  # the watcher's own source, kept as the fallback
        assert sim.ledger.count("list_servers") == 0
        assert sim.ledger.count("get_server") == 0


async def test_an_unreachable_coordinator_fails_the_client_at_the_start() -> None:
    client = Client("t0k3n", coordinator=FakeCoordinator(reachable=False))
    with pytest.raises(ConfigurationError, match="cannot be reached"):
        async with client:
            pass  # pragma: no cover - never entered
    assert client.closed


def test_a_coordinator_and_a_pacer_do_not_mix() -> None:
    with pytest.raises(ValidationError, match="pacer"):
        Client(
            "t0k3n",
            coordinator=FakeCoordinator(),
            pacer=RateLimiter(None, clock=lambda: 0.0, sleep=asyncio.sleep),
        )
