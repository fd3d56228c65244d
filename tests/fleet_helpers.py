"""Helpers for test_waiters.py and test_fleet.py: servers, and a scripted fake API on fake time.

- :class:`FakeAPI`: a stand-in for ``Client`` with the methods waiters and fleets use, a
  :class:`~vpsorg_async.testing.ManualClock` (recorded sleeps), recorded request timeouts, servers that change status at set times, and
  counters of requests and of requests in flight. For exact timing tests.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

import attrs

from vpsorg_async import (
    ActionResult,
    ActionServer,
    BadRequestError,
    Client,
    NotFoundError,
    OperatingSystem,
    PlanDetail,
    ServerDetail,
    ServerList,
)
from vpsorg_async.testing import ManualClock

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def server(
    server_id: int, status: str = "active", *, location: str = "us-west", name: str | None = None
) -> ServerDetail:
    """A ServerDetail as the API would answer it."""
    return ServerDetail(
        id=server_id,
        name=name or f"srv-{server_id}",
        hostname=f"srv-{server_id}.example.com",
        status=status,
        ip_address="203.0.113.10",
        location=location,
        plan=PlanDetail(id=1, name="Starter", vcpus=1, memory=1024, storage=25, bandwidth=1000),
        os=OperatingSystem(id=5, name="Ubuntu 22.04"),
        created_at=EPOCH,
        updated_at=EPOCH,
    )


Answer = str | Exception


@attrs.define
class FakeServer:
    """A fake server: ``status`` now; ``then`` from time ``at`` on; or a script of answers."""

    id: int
    status: str
    location: str = "us-west"
    then: str | None = None
    at: float = math.inf
    script: list[Answer] = attrs.Factory(list)  # per-GET answers, used first when not empty


class FakeAPI:
    """Enough of ``Client`` for waiters and fleets, on a fake clock; see the module docstring."""

    def __init__(self, *, request_time: float = 0.0, page_size: int | None = None) -> None:
        self.time = ManualClock()
        self.timeout = 60.0  # as Client.timeout: the cap of one request
        self.coordinator = None  # as Client.coordinator: no shared backend
        self.request_time = request_time
        self.page_size = page_size
        self.servers: dict[int, FakeServer] = {}
        self.timeouts: list[float | None] = []
        self.calls: dict[str, int] = {}
        self.list_locations: list[str | None] = []
        self.list_errors: list[Exception] = []  # raised by the next list calls, in order
        self.in_flight = 0
        self.max_in_flight = 0
        self.action_delay = 0  # event-loop turns an action takes (to observe concurrency)
        self.action_errors: list[Exception] = []  # raised by the next actions, in order
        self.on_action: Callable[[str, int], None] | None = None

    # -- the parts of Client that waiters and fleets use -------------------------------------

    def clock(self) -> float:
        return self.time.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds  # waiters compute their sleeps; a negative one is a bug
        await self.time.sleep(seconds)

    @property
    def now(self) -> float:
        return self.time.now

    @property
    def sleeps(self) -> list[float]:
        return self.time.sleeps

    @property
    def client(self) -> Client:
        """This fake, typed as the Client it stands in for."""
        return cast(Client, self)

    def add(self, *servers: FakeServer) -> None:
        for fake in servers:
            self.servers[fake.id] = fake

    def status_of(self, fake: FakeServer) -> str:
        if fake.then is not None and self.now >= fake.at:
            fake.status, fake.then, fake.at = fake.then, None, math.inf
        return fake.status

    async def _request(self, name: str, timeout: float | None) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        self.timeouts.append(timeout)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(self.action_delay if name.endswith("_server") else 0):
                await asyncio.sleep(0)
            await asyncio.sleep(0)
            self.time.advance(self.request_time)
        finally:
            self.in_flight -= 1

    async def get_server(self, server_id: int, *, timeout: float | None = None) -> ServerDetail:
        await self._request("get", timeout)
        fake = self.servers.get(server_id)
        if fake is None:
            raise NotFoundError(status=404, method="GET", path=f"/servers/{server_id}/")
        if fake.script:
            answer = fake.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            fake.status = answer
        return server(server_id, self.status_of(fake), location=fake.location)

    # no ``status`` filter: waiters and fleets never ask for one, so a call that did would fail
    async def list_servers(
        self,
        *,
        location: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> ServerList:
        await self._request("list", timeout)
        self.list_locations.append(location)
        if self.list_errors:
            raise self.list_errors.pop(0)
        items = [
            server(fake.id, self.status_of(fake), location=fake.location)
            for fake in self.servers.values()
            if location is None or fake.location == location
        ]
        size = page_size or len(items) or 1
        if self.page_size is not None:
            size = min(size, self.page_size)
        number = page or 1
        chunk = items[(number - 1) * size : number * size]
        more = number * size < len(items)
        return ServerList(
            count=len(items),
            results=list(chunk),
            next=f"http://fake/servers/?page={number + 1}" if more else None,
        )

    async def _action(self, verb: str, server_id: int, timeout: float | None) -> ActionResult:
        await self._request(f"{verb}_server", timeout)
        if self.action_errors:
            raise self.action_errors.pop(0)
        if self.on_action is not None:
            self.on_action(verb, server_id)
        fake = self.servers.get(server_id)
        if fake is None:
            raise NotFoundError(status=404, method="POST", path=f"/servers/{server_id}/{verb}/")
        status = self.status_of(fake)
        allowed = {"start": "stopped", "stop": "active", "reboot": "active"}[verb]
        if status != allowed:
            detail = {
                ("start", "active"): "Server is already running",
                ("stop", "stopped"): "Server is not running",
                ("reboot", "stopped"): "Server is not running",
            }.get((verb, status), f"Server is busy ({status})")
            if status == "suspended":
                detail = "Server is suspended"
            raise BadRequestError(
                status=400, method="POST", path=f"/servers/{server_id}/{verb}/", detail=detail
            )
        transitional = {"start": "starting", "stop": "stopping", "reboot": "rebooting"}[verb]
        fake.status = transitional
        fake.then = "stopped" if verb == "stop" else "active"
        fake.at = self.now + self.transition_time
        return ActionResult(
            status="success",
            message=f"Server is {transitional}",
            server=ActionServer(id=server_id, name=f"srv-{server_id}", status=transitional),
        )

    transition_time = 10.0

    async def start_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        return await self._action("start", server_id, timeout)

    async def stop_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        return await self._action("stop", server_id, timeout)

    async def reboot_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        return await self._action("reboot", server_id, timeout)

    async def delete_server(self, server_id: int, *, timeout: float | None = None) -> None:
        await self._request("delete_server", timeout)
        if self.servers.pop(server_id, None) is None:
            raise NotFoundError(status=404, method="DELETE", path=f"/servers/{server_id}/")
