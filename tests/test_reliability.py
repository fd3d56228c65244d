"""Reliability against the simulator: safe creates, cancellation, and secret hygiene end to end."""

from __future__ import annotations

import asyncio
import logging

import pytest

from vpsorg_async import (
    AmbiguousCreateError,
    Client,
    CreateServer,
    FleetError,
    FleetResult,
    TransportError,
    fleet,
)
from vpsorg_async.testing import Delays, Faults, Simulator

CREATE = CreateServer(name="web-07", plan_id=1, os_id=5, location="us-west")
# The nasty case on every create: the server acts, then the connection is cut before the answer.
DROP_AFTER_CREATE = Faults(drop_after_rate=1.0, endpoints=frozenset({"create_server"}))


async def _no_sleep(_: float) -> None:
    await asyncio.sleep(0)


async def test_a_create_cut_after_acting_is_ambiguous_and_not_resent() -> None:
    async with Simulator(delays=Delays.fast(), faults=DROP_AFTER_CREATE) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            with pytest.raises(AmbiguousCreateError) as info:
                await client.create_server(
                    name=CREATE.name, plan_id=1, os_id=5, location=CREATE.location
                )
        assert isinstance(info.value.cause, TransportError)
        assert info.value.request.name == "web-07"
        assert sim.ledger.count("create_server") == 1  # exactly one POST went out
        assert sim.ledger.created_names == ["web-07"]  # and the server does exist


async def test_reconcile_returns_the_server_the_first_attempt_made() -> None:
    async with Simulator(delays=Delays.fast(), faults=DROP_AFTER_CREATE) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            server = await client.create_server(
                name=CREATE.name, plan_id=1, os_id=5, location=CREATE.location, reconcile=True
            )
        assert server.name == "web-07"
        assert sim.ledger.created_names == ["web-07"]
        assert sim.ledger.duplicate_creates() == {}
        assert [s["id"] for s in sim.servers] == [server.id]


async def test_reconcile_creates_when_the_first_attempt_made_nothing() -> None:
    faults = Faults(drop_before_rate=1.0, endpoints=frozenset({"create_server"}))
    async with Simulator(delays=Delays.fast(), faults=faults, seed=3) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            first = asyncio.create_task(
                client.create_server(
                    name=CREATE.name, plan_id=1, os_id=5, location=CREATE.location, reconcile=True
                )
            )
            # Let the first attempt be cut (nothing made), then heal the network.
            while sim.ledger.count("create_server") == 0:  # noqa: ASYNC110 - the ledger has no event
                await asyncio.sleep(0.001)
            sim.faults = Faults()
            server = await first
        assert server.name == "web-07"
        assert sim.ledger.created_names == ["web-07"]


async def test_cancelling_the_task_that_owns_a_client_leaves_nothing_open() -> None:
    async with Simulator(servers=0, delays=Delays(start=(5.0, 5.0))) as sim:
        ids = [sim.add_server(status="stopped")["id"] for _ in range(40)]
        owned: list[Client] = []

        async def owner() -> None:
            async with Client(sim.token, base_url=sim.url) as client:
                owned.append(client)
                await fleet.start(client, ids, wait=True, concurrency=8, poll_interval=0.01)

        task = asyncio.create_task(owner())
        while sim.ledger.count("start_server") < 10:  # noqa: ASYNC110 - the ledger has no event
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        current = asyncio.current_task()
        left = [
            t
            for t in asyncio.all_tasks()
            if t is not current
            and not t.done()
            # the in-process simulator's own connection handlers are the server's, not ours
            and not t.get_coro().__qualname__.startswith("RequestHandler.")  # type: ignore[union-attr]
        ]
        assert left == []
        assert owned[0].closed


async def test_the_token_appears_nowhere_across_a_faulty_fleet(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="vpsorg_async")
    faults = Faults(error_rate=0.2, throttle_rate=0.1, retry_after=1, drop_after_rate=0.05)
    async with Simulator(seed=5, delays=Delays.fast(), faults=faults) as sim:
        suspended = sim.add_server(name="stuck", status="suspended")["id"]
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep, max_retries=4) as client:
            bodies = [CreateServer(name=f"h-{i}", plan_id=1, os_id=5, location="us-west")
                      for i in range(12)]  # fmt: skip
            created = await fleet.create(client, bodies, wait=True, poll_interval=0.01)
            ids = [o.server.id for o in created.succeeded if o.server is not None]
            results: list[FleetResult[int] | FleetResult[str]] = [created]
            results.append(await fleet.start(client, [*ids, suspended], poll_interval=0.01))
            results.append(await fleet.reboot(client, [*ids, suspended], poll_interval=0.01))
            results.append(await fleet.delete(client, ids, poll_interval=0.01))
            shown = [repr(client), *(repr(r) for r in results)]
            for result in results:
                for outcome in result.outcomes.values():
                    shown += [repr(outcome), str(outcome.error), repr(outcome.error)]
            assert any(not r.ok for r in results)  # the suspended server failed, with a cause
            with pytest.raises(FleetError) as group:
                results[1].raise_for_failures()
            shown.append(str(group.value))
        token = sim.token
    assert sim.ledger.faults, "the run must have been faulty"
    assert caplog.records, "DEBUG logging must have recorded the requests"
    for record in caplog.records:
        assert token not in record.getMessage()
    for text in shown:
        assert token not in text


async def test_fleet_create_lists_once_not_before_every_create() -> None:
    specs = [
        CreateServer(name=f"web-{i}", plan_id=1, os_id=5, location="us-west") for i in range(5)
    ]
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            result = await fleet.create(client, specs, wait=False)
        assert len(result.succeeded) == 5
        assert sim.ledger.count("create_server") == 5
        assert sim.ledger.count("list_servers") == 1  # the first pass, nothing per create


async def test_fleet_create_after_a_lost_answer_adopts_the_one_new_matching_server() -> None:
    async with Simulator(servers=0, delays=Delays.fast(), faults=DROP_AFTER_CREATE) as sim:
        sim.add_server(name=CREATE.name, location=CREATE.location, plan_id=2, os_id=5)
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            result = await fleet.create(client, [CREATE])
        # a namesake of another plan was there first: create-if-absent matches name and location
        # only, so it counts as already there and nothing is created
        assert [o.already for o in result.succeeded] == [True]
        assert sim.ledger.count("create_server") == 0
    other = CreateServer(name="web-08", plan_id=1, os_id=5, location="us-west")
    async with Simulator(servers=0, delays=Delays.fast(), faults=DROP_AFTER_CREATE) as sim:
        async with Client(sim.token, base_url=sim.url, sleep=_no_sleep) as client:
            result = await fleet.create(client, [other])
        assert [o.server.name for o in result.succeeded if o.server is not None] == ["web-08"]
        assert sim.ledger.created_names == ["web-08"]  # adopted after the lost answer, not resent


async def test_fleet_create_with_two_new_matching_servers_fails_with_the_candidates() -> None:
    async with Simulator(servers=0, delays=Delays.fast(), faults=DROP_AFTER_CREATE) as sim:
        added: list[int] = []

        async def sleep(_: float) -> None:
            if not added:  # someone else creates the same server while our answer is lost
                added.append(sim.add_server(name=CREATE.name, location=CREATE.location)["id"])
            await asyncio.sleep(0)

        async with Client(sim.token, base_url=sim.url, sleep=sleep) as client:
            result = await fleet.create(client, [CREATE])
        assert sim.ledger.count("create_server") == 1  # never resent
        [failed] = result.failed
        assert isinstance(failed.error, AmbiguousCreateError)
        assert len(failed.error.candidates) == 2
        assert added[0] in {c.id for c in failed.error.candidates}
