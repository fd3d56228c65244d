"""``Client``: the nine typed coroutine methods, generated from the endpoint table.

Each method is declared once with its full signature (so mypy and IDEs see real parameters and
return types) and decorated with ``@endpoint(ROW)`` (``_methods``), which replaces the
declaration's body with the table-driven implementation. ``Client._invoke`` validates the
arguments before anything is sent and hands the call to the session layer; page walks live in
``_pages`` and reconciling creates in ``_reconcile``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Self

import aiohttp

from . import _policy as policy
from ._config import check_base_url, check_settings, check_token
from ._endpoints import ENDPOINTS, Endpoint
from ._errors import ConfigurationError
from ._events import Events, RequestHook, ResponseHook, RetryHook
from ._methods import check_query, endpoint
from ._models import (
    ActionResult,
    CreatedServer,
    CreateServer,
    Server,
    ServerDetail,
    ServerList,
    ServerStatus,
)
from ._observe import observe
from ._pages import deadline_of, walk
from ._proxy import resolve_proxy
from ._ratelimit import RateLimiter
from ._raw import RawClient, RawSessionView
from ._reconcile import create_reconciled
from ._seams import Coordinator, CreateLock, LocalCreateLocks, Pacer
from ._session import Session
from ._validate import check_id, check_timeout
from ._version import __version__
from ._views import SessionView, view_of

__all__ = ["Client"]


class Client:
    """The asyncio client of the VPS.org Servers API.

    Use it as ``async with Client() as client:`` (or call ``await client.aclose()``). It opens one
    ``aiohttp.ClientSession`` on first use, or borrows the one you pass and never closes it.

    Args:
        token: the API token; defaults to ``$VPSORG_API_TOKEN``. Never printed or logged.
        base_url: defaults to ``$VPSORG_BASE_URL`` or ``https://admin.vps.org/api/v1``. Plain
            ``http://`` is refused unless the host is loopback (a local simulator).
        timeout: seconds for a whole call, retries and backoff included (each method can override).
        max_retries: retries after the first attempt for retry-safe failures; 0 disables.
        session: an ``aiohttp.ClientSession`` to borrow (it stays open after ``aclose``).
        rate_limit: requests per second for everything this client does; None: unpaced. On a 429
            the client slows down and pauses by ``Retry-After`` either way.
        max_connections: size of the connection pool of the session the client opens.
        user_agent: sent as ``User-Agent``.
        max_response_bytes: larger answers raise ``ResponseDecodeError`` instead of filling memory.
        clock, sleep: time sources; tests inject fakes so nothing waits for real.
        pacer: paces every request attempt instead of the in-process pacer that ``rate_limit``
            configures (a pacer shared by many processes, say); the two do not mix.
        create_lock: held per server name by ``create_server(..., reconcile=True)`` from its
            first lookup until the outcome is known; by default one in-process lock per name.
        coordinator: a backend shared by many processes (``vpsorg_async.redis.RedisCoordinator``)
            that supplies the pacer (``rate_limit`` then is the budget of all of them together),
            the create lock and the waiters' status source. ``async with Client(...)`` opens it.
        events: hooks that receive a frozen record at each step of every call (``Events``).
        on_request, on_response, on_retry: the same hooks one by one (both may be given).
        tracing: OpenTelemetry spans for calls, waits and fleets; None (default): on when the
            application has set a tracer provider before making the client; True: on (needs
            ``vpsorg-async[otel]``); False: off.
        proxy: an ``http(s)://`` proxy URL (``user:password@`` allowed) for every request; an
            https API is tunnelled through it (``CONNECT``), so it never sees the token.
        trust_env: True: the proxy of ``HTTPS_PROXY``/``HTTP_PROXY`` unless ``NO_PROXY`` exempts
            the API's host, read once, now (``proxy`` wins). False: the environment is ignored.

    Raises:
        ConfigurationError: no token, a base URL with a user or password in it, a plain-http
            base URL to a non-loopback host (or through a non-loopback proxy), a bad proxy URL,
            ``proxy``/``trust_env`` with a borrowed ``session`` (configure that one instead), or
            ``tracing=True`` without ``opentelemetry-api``.
        ValidationError: a bad timeout, max_retries, rate_limit, max_connections,
            max_response_bytes or user_agent (control characters such as CR or LF), or a hook
            that is not callable.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = policy.DEFAULT_TIMEOUT,
        max_retries: int = policy.DEFAULT_MAX_RETRIES,
        session: aiohttp.ClientSession | None = None,
        rate_limit: float | None = None,
        max_connections: int = policy.DEFAULT_MAX_CONNECTIONS,
        user_agent: str | None = None,
        max_response_bytes: int = policy.MAX_RESPONSE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        pacer: Pacer | None = None,
        create_lock: CreateLock | None = None,
        coordinator: Coordinator | None = None,
        events: Events | None = None,
        on_request: RequestHook | None = None,
        on_response: ResponseHook | None = None,
        on_retry: RetryHook | None = None,
        tracing: bool | None = None,
        proxy: str | None = None,
        trust_env: bool = False,
    ) -> None:
        caller = sys._getframe(1)
        self._made_at = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        token = check_token(token if token is not None else os.environ.get(policy.TOKEN_ENV))
        url = base_url or os.environ.get(policy.BASE_URL_ENV) or policy.DEFAULT_BASE_URL
        check_base_url(url)
        seconds, rate = check_settings(
            timeout=timeout, max_retries=max_retries, rate_limit=rate_limit,
            max_connections=max_connections, max_response_bytes=max_response_bytes,
            user_agent=user_agent, paced=pacer is not None, coordinated=coordinator is not None,
        )  # fmt: skip
        if coordinator is not None:
            pacer = coordinator.pacer(rate, clock=clock, sleep=sleep)
            create_lock = create_lock or coordinator.create_lock()
        self.coordinator = coordinator  #: the shared backend, if any (waiters ask it too)
        self.base_url = url.rstrip("/")
        self.clock, self.sleep = clock, sleep  #: time sources (waiters and fleets follow them)
        self.create_lock = create_lock or LocalCreateLocks()  #: held by reconciling creates
        # Who hears of each call (hooks, OpenTelemetry); None: nobody, and calls pay nothing.
        self._hooks = observe(
            events, on_request=on_request, on_response=on_response, on_retry=on_retry,
            tracing=tracing, base_url=self.base_url, clock=clock,
        )  # fmt: skip
        proxy_url = resolve_proxy(
            proxy, trust_env=trust_env, base_url=self.base_url, borrowed=session is not None
        )
        self._session = Session(
            token=token, base_url=self.base_url, timeout=float(seconds), max_retries=max_retries,
            session=session, pacer=pacer or RateLimiter(rate, clock=clock, sleep=sleep),
            max_connections=max_connections, user_agent=user_agent or f"vpsorg-async/{__version__}",
            max_response_bytes=max_response_bytes, clock=clock, sleep=sleep, hooks=self._hooks,
            proxy=proxy_url,
        )  # fmt: skip

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<Client {self.base_url!r} token=*** {state}>"

    async def __aenter__(self) -> Client:
        if self.coordinator is not None:
            try:
                await self.coordinator.open()
            except BaseException:
                await self.aclose()
                raise
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session this client opened (a borrowed one stays open). Idempotent."""
        await self._session.aclose()

    @property
    def timeout(self) -> float:
        """The default overall deadline of one call, in seconds."""
        return self._session.timeout

    @property
    def closed(self) -> bool:
        """True after ``aclose``."""
        return self._session.closed

    def with_options(self, *, timeout: float | None = None, max_retries: int | None = None) -> Self:
        """A ``Client`` with other call defaults (None keeps this one's), sharing its HTTP
        session, pacer, slots and create lock (``_views``). Its ``aclose`` ends the view only.

        Raises:
            ValidationError: a ``timeout`` or ``max_retries`` this client would refuse.
        """
        return view_of(self, timeout=timeout, max_retries=max_retries, session=SessionView)

    @property
    def with_raw_response(self) -> RawClient:
        """The nine endpoints again, each answering a ``RawResponse`` (status, headers, request
        id, elapsed, ``.parse()``) of its final attempt; errors raise as usual."""
        return RawClient(view_of(self, session=RawSessionView))

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        session = getattr(self, "_session", None)
        if session is not None and not session.closed and not isinstance(session, SessionView):
            _warn(
                f"Client made at {self._made_at} was never closed; "
                "use 'async with Client()' or 'await client.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def _invoke(
        self, row: Endpoint, values: dict[str, Any], body_fields: tuple[str, ...]
    ) -> Coroutine[Any, Any, Any]:
        """Validate ``values`` against ``row``; return the coroutine that sends it.

        A plain function, not a coroutine: the generated method awaits the session's coroutine
        directly, one frame less on every resumption of every request. Nothing is sent (and
        the check's error is raised) if a check fails.
        """
        if self._session.closed:
            raise ConfigurationError("this Client is closed")
        timeout = None if (t := values.get("timeout")) is None else check_timeout("timeout", t)
        path_params = {}  # a loop, not a comprehension: that would be one more frame (3.11)
        for name in row.path_params:
            path_params[name] = check_id(name, values[name])
        query = None
        if row.query_params:
            query = {
                name: check_query(name, values[name])
                for name in row.query_params
                if values.get(name) is not None
            }
        body = None
        if row.body is not None:
            body = row.body(**{f: values[f] for f in body_fields if f in values})
        if values.get("reconcile") and isinstance(body, CreateServer):
            return create_reconciled(self, row, body, timeout)
        # Positional: a call with keywords binds them through a dict, on every request.
        return self._session.call(row, path_params, query, body, timeout)

    async def find_server(
        self, *, name: str, location: str | None = None, timeout: float | None = None
    ) -> Server | None:
        """The first listed server called ``name``, or None.

        Names are not unique: several servers may share one, and this returns whichever the
        list shows first. Use ``iter_servers`` to see them all. ``timeout`` bounds the whole
        walk over the list's pages.
        """
        async for server in walk(
            client=self, deadline=deadline_of(self, timeout), location=location
        ):
            if server.name == name:
                return server
        return None

    async def iter_servers(
        self,
        *,
        status: ServerStatus | str | None = None,
        location: str | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
        max_pages: int | None = None,
    ) -> AsyncIterator[Server]:
        """Every server matching the filters, following ``next`` pages when the API paginates.

        ``timeout`` is one deadline for the whole walk, from the first request until the last
        page is read (the time the caller spends between servers counts too); past it,
        ``RequestTimeoutError``. A ``next`` chain that does not end raises
        ``ResponseDecodeError``: past ``max_pages`` pages (default ``MAX_LIST_PAGES``), past
        the first page's ``count`` by more than ``LIST_COUNT_SLACK`` servers, or looping. So
        does a ``next`` link to another scheme, host or port (it would carry the token there),
        or one with a user or password in it.
        """
        deadline = deadline_of(self, timeout)
        pages = policy.MAX_LIST_PAGES if max_pages is None else check_id("max_pages", max_pages)
        servers = walk(
            self, deadline, max_pages=pages, location=location, status=status, page_size=page_size
        )
        async for server in servers:
            yield server

    # The nine endpoints. Bodies are replaced by @endpoint; the declarations are the typed contract.

    @endpoint(ENDPOINTS["list_servers"])
    async def list_servers(
        self,
        *,
        status: ServerStatus | str | None = None,
        location: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        timeout: float | None = None,
    ) -> ServerList:
        """One page of servers, optionally filtered by ``status`` and ``location``.

        ``status`` must be one the API documents (``ServerStatus``); anything else would match
        nothing, so it raises ``ValidationError``.

        Raises:
            AuthenticationError, TransportError, ResponseDecodeError, ValidationError: as any call.
        """
        raise NotImplementedError

    @endpoint(ENDPOINTS["create_server"])
    async def create_server(
        self,
        *,
        name: str,
        plan_id: int,
        os_id: int,
        location: str,
        hostname: str | None = None,
        ssh_key_id: int | None = None,
        backups_enabled: bool | None = None,
        reconcile: bool = False,
        timeout: float | None = None,
    ) -> CreatedServer:
        """Deploy a server; it answers ``provisioning`` (see ``waiters.wait_until_active``).

        A create is never resent blindly. When its outcome is unknown (a 5xx, a timeout or a cut
        connection after sending) it raises ``AmbiguousCreateError``, unless ``reconcile=True``.
        Then the location's servers of that name are listed before the create is sent, and
        after an unknown outcome the one new server with this name, plan, OS and location is
        returned; with none, the create is sent again; with several, ``AmbiguousCreateError``
        carries them as ``candidates``. A server that existed before is never returned: names
        are not unique. ``timeout`` covers all of it.

        Raises:
            ValidationError, BadRequestError, PaymentRequiredError, AmbiguousCreateError: and more.
        """
        raise NotImplementedError

    @endpoint(ENDPOINTS["get_server"])
    async def get_server(self, server_id: int, *, timeout: float | None = None) -> ServerDetail:
        """Full detail of one server.

        Raises:
            NotFoundError: no such server. And the errors every call may raise.
        """
        raise NotImplementedError

    @endpoint(ENDPOINTS["update_server"])
    async def update_server(
        self,
        server_id: int,
        *,
        name: str,
        hostname: str,
        backups_enabled: bool,
        timeout: float | None = None,
    ) -> ServerDetail:
        """Replace name, hostname and backups setting (all three are required by the API)."""
        raise NotImplementedError

    @endpoint(ENDPOINTS["patch_server"])
    async def patch_server(
        self,
        server_id: int,
        *,
        name: str | None = None,
        hostname: str | None = None,
        backups_enabled: bool | None = None,
        timeout: float | None = None,
    ) -> ServerDetail:
        """Change only the fields given; at least one is needed."""
        raise NotImplementedError

    @endpoint(ENDPOINTS["delete_server"])
    async def delete_server(self, server_id: int, *, timeout: float | None = None) -> None:
        """Delete a server permanently (the API answers 204). Cannot be undone."""
        raise NotImplementedError

    @endpoint(ENDPOINTS["start_server"])
    async def start_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        """Power on a stopped server; ``result.server.status`` is ``starting``.

        Raises:
            BadRequestError: the server is already running (detail "Server is already running").
        """
        raise NotImplementedError

    @endpoint(ENDPOINTS["stop_server"])
    async def stop_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        """Shut a running server down gracefully; ``result.server.status`` is ``stopping``."""
        raise NotImplementedError

    @endpoint(ENDPOINTS["reboot_server"])
    async def reboot_server(self, server_id: int, *, timeout: float | None = None) -> ActionResult:
        """Restart a running server gracefully; ``result.server.status`` is ``rebooting``."""
        raise NotImplementedError
