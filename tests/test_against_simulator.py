"""Every endpoint of the client against the simulator (the aioresponses suite checks the wire)."""

from __future__ import annotations

import time

import pytest

from vpsorg_async import (
    ActionResult,
    AuthenticationError,
    BadRequestError,
    Client,
    CreatedServer,
    NotFoundError,
    PaymentRequiredError,
    ServerDetail,
    ServerError,
    ServerStatus,
    waiters,
)
from vpsorg_async._endpoints import ENDPOINTS
from vpsorg_async.testing import Delays, Faults, ManualClock, Simulator, examples


async def test_every_endpoint_round_trips() -> None:
    async with Simulator(servers=4, delays=Delays.fast(), page_size=2) as sim:
        async with Client(sim.token, base_url=sim.url) as client:
            page = await client.list_servers()
            assert page.count == 4
            assert len(page.results) == 2
            assert page.next is not None
            listed = [s.id async for s in client.iter_servers()]
            assert sorted(listed) == sorted(s["id"] for s in sim.servers)

            new = await client.create_server(**examples.CREATE_REQUEST)  # every field
            assert isinstance(new, CreatedServer)
            assert new.status is ServerStatus.PROVISIONING
            assert new.ip_address is None
            assert new.backups_enabled is True

            active = await waiters.wait_until_active(client, new.id, poll_interval=0.01)
            assert active.ip_address is not None
            detail = await client.get_server(new.id)
            assert isinstance(detail, ServerDetail)
            assert detail.plan.bandwidth is not None
            assert detail.created_at.tzinfo is not None

            updated = await client.update_server(
                new.id, name="web-03", hostname="web03.example.com", backups_enabled=False
            )
            assert (updated.name, updated.hostname, updated.backups_enabled) == (
                "web-03",
                "web03.example.com",
                False,
            )
            patched = await client.patch_server(new.id, name="web-04")
            assert (patched.name, patched.hostname) == ("web-04", "web03.example.com")

            stopped = await client.stop_server(new.id)
            assert isinstance(stopped, ActionResult)
            assert stopped.server.status is ServerStatus.STOPPING
            await waiters.wait_until_stopped(client, new.id, poll_interval=0.01)
            started = await client.start_server(new.id)
            assert started.server.status is ServerStatus.STARTING
            await waiters.wait_until_active(client, new.id, poll_interval=0.01)
            rebooted = await client.reboot_server(new.id)
            assert rebooted.server.status is ServerStatus.REBOOTING
            await waiters.wait_until_active(client, new.id, poll_interval=0.01)

            assert await client.delete_server(new.id) is None  # type: ignore[func-returns-value]
            with pytest.raises(NotFoundError):
                await client.get_server(new.id)
        counted = {name for name, _status in sim.ledger.requests}
        assert set(ENDPOINTS) <= counted  # every endpoint of the table was called


async def test_the_simulators_errors_map_to_the_error_tree() -> None:
    async with Simulator(delays=Delays.fast(), balance=25.0) as sim:
        running = sim.add_server(status="active")["id"]
        async with Client(sim.token, base_url=sim.url) as client:
            with pytest.raises(BadRequestError, match="already running") as info:
                await client.start_server(running)
            assert info.value.status == 400
            with pytest.raises(BadRequestError) as bad:
                await client.create_server(name="x1", plan_id=999, os_id=5, location="us-west")
            assert "plan_id" in bad.value.field_errors
            await client.create_server(name="x2", plan_id=1, os_id=5, location="us-west")
            with pytest.raises(PaymentRequiredError, match="Insufficient balance"):
                await client.create_server(name="x3", plan_id=1, os_id=5, location="us-west")
        async with Client("not-the-token", base_url=sim.url) as stranger:
            with pytest.raises(AuthenticationError):
                await stranger.list_servers()


async def test_one_manual_clock_drives_the_simulator_and_the_client() -> None:
    """The public fake clock as documented: a 30 s provisioning and the backoff take no real time."""
    clock = ManualClock(1000.0)
    began = time.monotonic()
    async with (
        Simulator(delays=Delays(provision=(30.0, 30.0)), clock=clock) as sim,
        Client(
            sim.token, base_url=sim.url, clock=clock, sleep=clock.sleep, max_retries=2
        ) as client,
    ):
        server_id = sim.add_server(status="provisioning")["id"]
        active = await waiters.wait_until_active(client, server_id, timeout=120)
        assert active.status is ServerStatus.ACTIVE
        assert clock() - 1000.0 == pytest.approx(sum(clock.sleeps))  # time moved by sleeps only
        assert clock() - 1000.0 >= 30.0
        polls = len(clock.sleeps)
        sim.faults = Faults(error_rate=1.0, endpoints=["get_server"])
        with pytest.raises(ServerError):
            await client.get_server(server_id)
        assert len(clock.sleeps) == polls + 2  # one backoff before each of the two retries
    assert time.monotonic() - began < 10
