"""``Client``: the nine typed coroutine methods, generated from the endpoint table.

Each method is declared once with its full signature (so mypy and IDEs see real parameters and
return types) and decorated with ``@endpoint(ROW)``, which replaces the declaration's body with the
table-driven implementation: it sorts the arguments into path, query and body by the row, validates
them before anything is sent, and hands the call to the session layer.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import ipaddress
import os
import re
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiohttp
import attrs
import yarl

from . import _policy as policy
from ._deadline import Deadline
from ._endpoints import ENDPOINTS, Endpoint
from ._errors import (
    AmbiguousCreateError,
    ConfigurationError,
    RequestTimeoutError,
    ResponseDecodeError,
    ValidationError,
    VPSOrgError,
)
from ._models import (
    ActionResult,
    CreatedServer,
    CreateServer,
    Server,
    ServerDetail,
    ServerList,
    ServerStatus,
)
from ._session import Session
from ._validate import (
    check_id,
    check_location,
    check_status,
    check_timeout,
    check_user_agent,
)
from ._version import __version__

__all__ = ["Client", "endpoint"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="Client")

#: Keyword options every generated method accepts besides the row's parameters.
CALL_OPTIONS = ("timeout",)
#: Extra options of particular rows, handled by ``Client._invoke``.
ROW_OPTIONS = {"create_server": ("reconcile",)}
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
#: The userinfo part of a URL (``user:password@``), masked wherever a URL is quoted.
_USERINFO = re.compile(r"(?<=//)[^/?#]*@")


def endpoint(
    row: Endpoint,
) -> Callable[
    [Callable[Concatenate[C, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
]:
    """Turn a typed declaration into the table-driven implementation of ``row``.

    The declaration's parameters must be exactly the row's path, query and body names plus the call
    options; ``tests/test_endpoints.py`` checks that for all nine.
    """

    def decorate(
        declaration: Callable[Concatenate[C, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[C, P], Coroutine[Any, Any, R]]:
        params = list(inspect.signature(declaration).parameters.values())[1:]
        positional = tuple(p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD)
        allowed = frozenset(p.name for p in params)
        defaults = {p.name: p.default for p in params if p.default is not p.empty}
        required = allowed - defaults.keys()

        body_fields = row.body_fields
        npos = len(positional)
        # The common call (every positional given, no keywords, nothing required by keyword)
        # skips the general argument handling: it is on every request's path.
        simple = not (required - set(positional))

        @functools.wraps(declaration)
        async def method(self: C, *args: Any, **kwargs: Any) -> Any:
            if simple and not kwargs and len(args) == npos:
                values = defaults.copy()
                values.update(zip(positional, args, strict=True))
                return await self._invoke(row, values, body_fields)
            if len(args) > npos:
                raise TypeError(f"{row.name}() takes {npos} positional argument(s)")
            values = dict(defaults)
            values.update(zip(positional, args, strict=False))
            for key in kwargs:
                if key not in allowed:
                    raise TypeError(f"{row.name}() got an unexpected keyword argument {key!r}")
                if key in positional[: len(args)]:
                    raise TypeError(f"{row.name}() got multiple values for argument {key!r}")
            values.update(kwargs)
            if missing := required - values.keys():
                raise TypeError(f"{row.name}() missing argument(s): {', '.join(sorted(missing))}")
            return await self._invoke(row, values, body_fields)

        method.endpoint = row  # type: ignore[attr-defined]
        return method  # type: ignore[return-value]

    return decorate


def _check_query(name: str, value: Any) -> str | int:
    if name in ("page", "page_size"):
        return check_id(name, value)
    if name == "location":
        check_location(name, value)
        return str(value)
    return check_status(name, value)


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

    Raises:
        ConfigurationError: no token, a base URL with a user or password in it, or a plain-http
            base URL to a non-loopback host.
        ValidationError: a bad timeout, max_retries, rate_limit, max_connections,
            max_response_bytes or user_agent (control characters such as CR or LF).
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
    ) -> None:
        caller = sys._getframe(1)
        self._made_at = f"{caller.f_code.co_filename}:{caller.f_lineno}"
        token = token if token is not None else os.environ.get(policy.TOKEN_ENV)
        if not token or not isinstance(token, str):
            raise ConfigurationError(
                f"no API token: pass Client(token=...) or set {policy.TOKEN_ENV}"
            )
        if not token.isprintable() or not token.isascii() or token != token.strip():
            # Never echo it: the message says what is wrong, not what the token is.
            raise ConfigurationError(
                "the API token contains whitespace, control or non-ASCII characters; "
                "it cannot be sent in an HTTP header"
            )
        url = base_url or os.environ.get(policy.BASE_URL_ENV) or policy.DEFAULT_BASE_URL
        _check_base_url(url)
        seconds = check_timeout("timeout", timeout)
        if seconds is None:
            raise ValidationError("timeout", "must be a positive number of seconds, not None")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValidationError("max_retries", "must be an integer >= 0")
        rate = check_timeout("rate_limit", rate_limit)  # same rule: a positive number
        check_id("max_connections", max_connections)
        check_id("max_response_bytes", max_response_bytes)
        if user_agent is not None:
            check_user_agent("user_agent", user_agent)
        self.base_url = url.rstrip("/")
        #: The time sources of this client; waiters and fleets built on it follow them too.
        self.clock = clock
        self.sleep = sleep
        self._clock = clock
        self._session = Session(
            token=token,
            base_url=self.base_url,
            timeout=float(seconds),
            max_retries=max_retries,
            session=session,
            rate_limit=rate,
            max_connections=max_connections,
            user_agent=user_agent or f"vpsorg-async/{__version__}",
            max_response_bytes=max_response_bytes,
            clock=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        state = "closed" if self._session.closed else "open"
        return f"<Client {self.base_url!r} token=*** {state}>"

    async def __aenter__(self) -> Client:
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

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        session = getattr(self, "_session", None)
        if session is not None and not session.closed:
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
        timeout = check_timeout("timeout", values.get("timeout"))
        path_params = {name: check_id(name, values[name]) for name in row.path_params}
        query = None
        if row.query_params:
            query = {
                name: _check_query(name, values[name])
                for name in row.query_params
                if values.get(name) is not None
            }
        body = None
        if row.body is not None:
            body = row.body(**{f: values[f] for f in body_fields if f in values})
        if values.get("reconcile") and isinstance(body, CreateServer):
            return self._create_reconciled(row, body, timeout)
        return self._session.call(
            row, path_params=path_params, query=query, body=body, timeout=timeout
        )

    def _deadline(self, timeout: Any) -> Deadline:
        """One deadline for a call of several requests: ``timeout`` or the client's default."""
        seconds = check_timeout("timeout", timeout)
        return Deadline(self._session.timeout if seconds is None else seconds, self._clock)

    async def _create_reconciled(
        self, row: Endpoint, body: CreateServer, timeout: float | None
    ) -> CreatedServer:
        """Create; when the outcome is unknown, look for the server it may have made.

        The same-named servers of the location are listed first, before anything is sent: a
        server listed then was not made by this request and is never adopted. After an
        ambiguous create, a new server with the request's name, plan, OS and location is
        adopted; if there is none the create is sent again; if there are several,
        ``AmbiguousCreateError`` carries them. At most ``max_retries + 1`` creates are sent,
        all within one deadline, and a deadline that passes after a create was sent raises
        ``AmbiguousCreateError``, never a plain timeout: the server may exist.
        """
        deadline = self._deadline(timeout)
        before = {server.id for server in await self._same_named(body, deadline)}
        creates_left = self._session.max_retries + 1
        while True:
            try:
                created: CreatedServer = await self._session.call(
                    row, body=body, timeout=deadline.left()
                )
                return created
            except AmbiguousCreateError as exc:
                last = exc
            creates_left -= 1
            try:
                found = await self._made_by(body, before, last, deadline)
            except AmbiguousCreateError:
                raise
            except VPSOrgError as exc:  # the lookup failed: the create's outcome stays unknown
                last.add_note(f"reconcile could not look for the server: {exc}")
                raise last  # noqa: B904 - its cause is the create's failure, kept as it is
            if found is not None:
                return found
            if not creates_left or deadline.left() <= 0:
                raise last

    async def _made_by(
        self,
        body: CreateServer,
        before: set[int],
        ambiguous: AmbiguousCreateError,
        deadline: Deadline,
    ) -> CreatedServer | None:
        """The server an ambiguous create made, or None when it made none.

        Raises ``AmbiguousCreateError`` with the candidates when several servers fit.
        """
        if deadline.left() <= 0:
            raise ambiguous
        candidates = [
            server
            for server in await self._same_named(body, deadline)
            if server.id not in before and _could_have_made(body, server)
        ]
        if not candidates:
            return None
        if len(candidates) > 1:
            raise AmbiguousCreateError(
                request=body, cause=ambiguous.cause, candidates=tuple(candidates)
            ) from ambiguous
        detail = await self.get_server(candidates[0].id, timeout=deadline.left())
        fields = {a.name: getattr(detail, a.name) for a in attrs.fields(Server)}
        return CreatedServer(**fields, backups_enabled=detail.backups_enabled)

    async def _same_named(self, body: CreateServer, deadline: Deadline) -> list[Server]:
        """Every server of ``body``'s location called ``body.name``, listed within ``deadline``."""
        servers = self._walk(deadline, policy.MAX_LIST_PAGES, location=body.location)
        return [server async for server in servers if server.name == body.name]

    async def find_server(
        self, *, name: str, location: str | None = None, timeout: float | None = None
    ) -> Server | None:
        """The first listed server called ``name``, or None.

        Names are not unique: several servers may share one, and this returns whichever the
        list shows first. Use ``iter_servers`` to see them all. ``timeout`` bounds the whole
        walk over the list's pages.
        """
        async for server in self._walk(self._deadline(timeout), policy.MAX_LIST_PAGES, location):
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
        deadline = self._deadline(timeout)
        pages = policy.MAX_LIST_PAGES if max_pages is None else check_id("max_pages", max_pages)
        async for server in self._walk(deadline, pages, location, status, page_size):
            yield server

    async def _walk(
        self,
        deadline: Deadline,
        max_pages: int,
        location: str | None = None,
        status: ServerStatus | str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Server]:
        """The servers of every page, each once, all pages within ``deadline``."""
        yielded: set[int] = set()  # pages can shift while we read; never yield a server twice
        row = ENDPOINTS["list_servers"]
        pages = self._pages(deadline, max_pages, location, status, page_size)
        async for page in pages:
            fresh = [server for server in page.results if server.id not in yielded]
            if page.next and page.results and not fresh:
                raise _bad_page(
                    row, f"the next links loop: {self._shown(page.next)!r} repeats servers"
                )
            for server in fresh:
                yielded.add(server.id)
                yield server

    async def _pages(
        self,
        deadline: Deadline,
        max_pages: int,
        location: str | None,
        status: ServerStatus | str | None,
        page_size: int | None,
    ) -> AsyncIterator[ServerList]:
        """The list's pages, following ``next`` links, every request within ``deadline``."""
        row = ENDPOINTS["list_servers"]
        page = await self.list_servers(
            status=status,
            location=location,
            page_size=page_size,
            timeout=_time_left(deadline, row, 0),
        )
        limit = page.count + policy.LIST_COUNT_SLACK
        seen: set[str] = set()
        read, count = len(page.results), 1
        while True:
            if read > limit:
                raise _bad_page(
                    row, f"the pages list {read} servers, more than the count of {page.count}"
                )
            yield page
            link = page.next
            if not link:
                return
            self._check_next(row, link, seen)
            if count >= max_pages:
                raise _bad_page(row, f"the next links go on past {max_pages} pages")
            seen.add(link)
            page = await self._session.call(row, url=link, timeout=_time_left(deadline, row, count))
            read, count = read + len(page.results), count + 1

    def _shown(self, link: str) -> str:
        """A ``next`` link as an error may quote it: no password, no echoed token."""
        return self._session.redact(_masked(link))

    def _check_next(self, row: Endpoint, link: str, seen: set[str]) -> None:
        """Refuse a ``next`` link that leaves the API, carries userinfo, or was followed before."""
        if not self._session.same_origin(link):
            raise _bad_page(
                row, f"refusing to follow a next link to another origin: {self._shown(link)!r}"
            )
        if _USERINFO.search(link):
            raise _bad_page(row, f"refusing a next link with userinfo: {self._shown(link)!r}")
        if link in seen:
            raise _bad_page(row, f"the next links loop back to {self._shown(link)!r}")

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


def _could_have_made(body: CreateServer, server: Server) -> bool:
    """True when ``server`` has everything ``body`` asked for: name, plan, OS and location."""
    return (
        server.name == body.name
        and server.location == body.location
        and server.plan.id == body.plan_id
        and server.os.id == body.os_id
    )


def _time_left(deadline: Deadline, row: Endpoint, pages: int) -> float:
    """The time left for the next page of a walk; ``RequestTimeoutError`` once none is."""
    left = deadline.left()
    if left <= 0:
        raise RequestTimeoutError(
            f"the walk's {deadline.budget} s deadline passed after {pages} page(s)",
            method=row.method, path=row.path, sent=False, attempts=0,
        )  # fmt: skip
    return left


def _bad_page(row: Endpoint, message: str) -> ResponseDecodeError:
    return ResponseDecodeError(message, method=row.method, path=row.path, status=row.success)


def _masked(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``."""
    return _USERINFO.sub("***@", url)


def _check_base_url(url: str) -> None:
    """Refuse a base URL the client cannot use safely; a message never shows a password."""
    if not isinstance(url, str):
        raise ConfigurationError(f"base_url must be a string, got {type(url).__name__}")
    shown = _masked(url)
    if _USERINFO.search(url):
        raise ConfigurationError(
            f"base_url {shown!r} has a user or password in it; the API authenticates with the "
            "token alone: drop the 'user:password@' part"
        )
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        raise ConfigurationError(f"base_url {shown!r} is not a URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {shown!r}")
    if parsed.scheme == "http" and not _is_loopback(parsed.host):
        raise ConfigurationError(
            f"base_url {shown!r} uses plain http to a non-loopback host; the token would travel "
            "in clear text. Use https (plain http is allowed only for loopback simulators)."
        )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
