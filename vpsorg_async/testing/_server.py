"""The :class:`Simulator`: the API on a loopback port, with state, faults and a ledger."""

from __future__ import annotations

import secrets
import time
from typing import Any

from aiohttp import web

from ._app import API_PREFIX, make_app
from ._catalogue import LOCATIONS, OS_IMAGES, PLANS
from ._faults import FaultInjector, Faults
from ._handlers import Backend
from ._ledger import Ledger
from ._state import ServerStore
from ._timing import Clock, Delays

__all__ = ["Simulator"]

_SHUTDOWN_TIMEOUT = 1.0  # seconds to let in-flight handlers finish on close


class Simulator:
    """A VPS.org Servers API simulator on a loopback port, with state, faults and a ledger.

    Use it as ``async with Simulator() as sim:`` and point a client at ``sim.url`` with
    ``sim.token``. Everything is keyword-only.

    Args:
        token: the Bearer token to accept; random when ``None``.
        host: the address to bind; loopback by default.
        port: the port to bind; ``0`` picks a free one.
        servers: how many servers to pre-populate (a seeded mix of active and stopped).
        seed: seeds delay jitter, population and fault decisions, for reproducible runs.
        delays: how long transitions take (:class:`Delays`).
        faults: what goes wrong and how often (:class:`Faults`).
        balance: account balance spent by creates (each costs its plan's monthly price);
            ``None`` for unlimited. Past it, creates answer 402.
        page_size: enables DRF page-number pagination of the list with this page size.
        clock: the time source for transitions and the rate limit (seconds, monotonic).
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        servers: int = 0,
        seed: int = 0,
        delays: Delays | None = None,
        faults: Faults | None = None,
        balance: float | None = None,
        page_size: int | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        """Build the state and the application; nothing listens until :meth:`start`."""
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self.port = port
        self.clock = clock
        store = ServerStore(clock=clock, seed=seed, delays=delays or Delays())
        store.populate(servers)
        self._backend = Backend(
            token=self.token,
            store=store,
            ledger=Ledger(),
            injector=FaultInjector(faults or Faults(), seed=seed, clock=clock),
            balance=balance,
            page_size=page_size,
        )
        self.app = make_app(self._backend)
        """The ``aiohttp.web.Application``, e.g. for ``aiohttp.test_utils.TestServer``."""
        self._runner: web.AppRunner | None = None

    # -- running ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening; afterwards :attr:`port` is the bound port."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = runner.addresses[0][1]

    async def close(self) -> None:
        """Stop listening and close every connection. Safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def root_url(self) -> str:
        """``http://HOST:PORT`` of the running simulator (admin routes live under ``/_sim/``).

        Bound to every interface (``0.0.0.0``, ``::``), it names loopback: a client reaches it
        there, and refuses plain http to any other address.
        """
        if self._runner is None:
            raise RuntimeError("the simulator is not running; use `async with Simulator()`")
        host = reachable_host(self.host)
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def url(self) -> str:
        """The client's base URL, ``http://127.0.0.1:PORT/api/v1``."""
        return self.root_url + API_PREFIX

    # -- state and settings ---------------------------------------------------------------------

    @property
    def ledger(self) -> Ledger:
        """What the simulator saw and did (see :class:`Ledger`)."""
        return self._backend.ledger

    @property
    def state(self) -> ServerStore:
        """The server store itself, for advanced tests."""
        return self._backend.store

    @property
    def faults(self) -> Faults:
        """The faults in force; assign new :class:`Faults` to change them at run time."""
        return self._backend.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._backend.injector.faults = faults

    @property
    def delays(self) -> Delays:
        """Transition delays; assigning affects transitions that start afterwards."""
        return self._backend.store.delays

    @delays.setter
    def delays(self, delays: Delays) -> None:
        self._backend.store.delays = delays

    @property
    def balance(self) -> float | None:
        """What is left to spend on creates; ``None`` for unlimited."""
        return self._backend.balance

    @balance.setter
    def balance(self, balance: float | None) -> None:
        self._backend.balance = balance

    @property
    def page_size(self) -> int | None:
        """The list's page size, or ``None`` for no pagination (``{count, results}``)."""
        return self._backend.page_size

    @page_size.setter
    def page_size(self, page_size: int | None) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError("page_size must be >= 1")
        self._backend.page_size = page_size

    # -- helpers for test authors ---------------------------------------------------------------

    def add_server(
        self,
        *,
        name: str | None = None,
        status: str = "active",
        location: str = "us-west",
        plan_id: int = 1,
        os_id: int = 5,
        hostname: str | None = None,
        backups_enabled: bool = False,
    ) -> dict[str, Any]:
        """Add a server directly (no request, no ledger entry, no charge); return its detail.

        ``status`` may be anything, including statuses the document never shows; a
        transitional status (``provisioning``, ``starting``, ...) completes after its delay.
        """
        if plan_id not in PLANS or os_id not in OS_IMAGES or location not in LOCATIONS:
            raise ValueError(f"unknown plan {plan_id}, OS {os_id} or location {location!r}")
        store = self._backend.store
        record = store.add(
            name=name or f"test-server-{len(store) + 1:02d}",
            status=status,
            plan_id=plan_id,
            os_id=os_id,
            location=location,
            hostname=hostname,
            backups_enabled=backups_enabled,
        )
        return store.detail(record)

    def set_status(self, server_id: int, status: str) -> dict[str, Any]:
        """Force a server's status (e.g. ``"suspended"``); return its detail.

        Raises:
            KeyError: no server has ``server_id``.
        """
        store = self._backend.store
        store.tick()
        record = store.get(server_id)
        if record is None:
            raise KeyError(server_id)
        store.set_status(record, status)
        return store.detail(record)

    def get(self, server_id: int) -> dict[str, Any] | None:
        """The server's detail as the API would answer it now, or ``None`` if it is gone."""
        store = self._backend.store
        store.tick()
        record = store.get(server_id)
        return None if record is None else store.detail(record)

    @property
    def servers(self) -> list[dict[str, Any]]:
        """Every server's detail, as of now, in id order."""
        store = self._backend.store
        store.tick()
        return [store.detail(record) for record in store]


def reachable_host(host: str) -> str:
    """Where a client on this machine reaches a server bound to ``host``: loopback for a
    wildcard address (every interface), else ``host`` itself."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
