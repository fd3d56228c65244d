"""Shared fixtures of the core test suite: fake time, mocked HTTP, clients that always get closed.

Nothing here waits for real: every ``Client`` a fixture makes runs on ``fake_time``, a
:class:`vpsorg_async.testing.ManualClock` whose ``sleep`` only records the delay and moves the
clock forward. Test modules import this file's types under ``TYPE_CHECKING`` only, so at run
time they reach its helpers through fixtures alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, StreamReader, web
from aiohttp.client_proto import ResponseHandler
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

from vpsorg_async import Client
from vpsorg_async.testing import ManualClock

#: A token distinctive enough that finding it anywhere (logs, messages, reprs) is a leak.
TOKEN = "tok-SECRET-5f3a9c1e7b2d4086-do-not-log"


class Stall:
    """A ``sleep`` that never ends (only cancellation ends it); ``started`` is set once entered.

    For tests that cancel a call in the middle of its backoff or pause.
    """

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.started.set()
        await asyncio.Event().wait()  # never set

    async def cancel_in_sleep(self, call: Coroutine[Any, Any, object]) -> None:
        """Run ``call`` until it sleeps here, cancel it there, and check that the cancel won."""
        task = asyncio.create_task(call)
        await self.started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()


MakeClient = Callable[..., Client]
#: A request handler; ``serve`` and ``serve_tls`` run one as an app that it answers at every path.
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[web.Application | Handler], Awaitable[str]]


class _SentWriter:
    """Stands in for the finished request writer that aiohttp 3.14's ``ClientResponse`` requires."""

    output_size = 0


class _CompatResponse(ClientResponse):
    """aiohttp >= 3.14 made ``stream_writer`` a required argument of ``ClientResponse``, which
    aioresponses (0.7.9, its latest release) does not pass; give it a writer that already sent."""

    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _SentWriter())
        super().__init__(method, url, **kwargs)


@pytest.fixture(autouse=True, scope="session")
def _aioresponses_compat() -> Iterator[None]:
    """Let aioresponses build responses on every aiohttp the project allows (a no-op before 3.14)."""
    if "stream_writer" not in inspect.signature(ClientResponse.__init__).parameters:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("aioresponses.core.ClientResponse", _CompatResponse)
        patch.setattr("aioresponses.core.stream_reader_factory", _unpaused_stream)
        yield


def _unpaused_stream(loop: asyncio.AbstractEventLoop | None = None) -> StreamReader:
    """aioresponses' body stream, with a limit no canned body reaches.

    From aiohttp 3.14 a stream over its limit pauses its protocol, and the stand-in protocol
    aioresponses gives it (no parser) fails an assertion there. A canned body is in memory in
    full already: there is nothing to pause.
    """
    return StreamReader(ResponseHandler(loop=loop or asyncio.get_running_loop()), limit=2**40)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own token or base URL must never leak into a test."""
    monkeypatch.delenv("VPSORG_API_TOKEN", raising=False)
    monkeypatch.delenv("VPSORG_BASE_URL", raising=False)


@pytest.fixture(scope="session")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the ``openssl`` command.

    No default trust store holds it (a client refuses it); a context that loads it as its one
    authority verifies it, host name included (it names 127.0.0.1 as an IP address too).
    """
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def token() -> str:
    return TOKEN


@pytest.fixture
def fake_time() -> ManualClock:
    """The public fake clock, at 1000 s: fixture clients sleep on it and read it."""
    return ManualClock(1000.0)


@pytest.fixture
def stall() -> Stall:
    return Stall()


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def make_client(fake_time: ManualClock) -> AsyncIterator[MakeClient]:
    """``make_client(**options)``: a Client on fake time with the test token; closed at teardown."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        options.setdefault("clock", fake_time)
        options.setdefault("sleep", fake_time.sleep)
        made.append(Client(options.pop("token", TOKEN), **options))
        return made[-1]

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def client(make_client: MakeClient) -> Client:
    return make_client()


@contextlib.asynccontextmanager
async def _serving(context: ssl.SSLContext | None) -> AsyncIterator[Serve]:
    servers: list[TestServer] = []

    async def start(app: web.Application | Handler) -> str:
        if not isinstance(app, web.Application):
            handler, app = app, web.Application()
            app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server(ssl=context)
        servers.append(server)
        return str(server.make_url("/api/v1"))

    try:
        yield start
    finally:
        for server in servers:
            await server.close()


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``await serve(app)``: run an aiohttp app on 127.0.0.1; returns its ``/api/v1`` base URL.

    Given a handler instead of an app, the app is that handler answering every method and path.
    """
    async with _serving(None) as start:
        yield start


@pytest.fixture
async def serve_tls(self_signed: tuple[Path, Path]) -> AsyncIterator[Serve]:
    """As ``serve``, over https with the ``self_signed`` certificate (an ``https://`` URL)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    async with _serving(context) as start:
        yield start


class Hanging:
    """A real API server on 127.0.0.1 whose answers never come (until the test ends).

    Timeouts are tested against this real, silent server, through aiohttp's whole request
    path (a mocked session skips most of it). ``counts`` records each
    ``"METHOD /path"`` received.
    """

    def __init__(self, base_url: str, counts: dict[str, int]) -> None:
        self.base_url = base_url
        self.counts = counts


@pytest.fixture
async def hanging(serve: Serve) -> AsyncIterator[Hanging]:
    release = asyncio.Event()
    counts: dict[str, int] = {}

    async def never(request: web.Request) -> web.Response:
        key = f"{request.method} {request.path}"
        counts[key] = counts.get(key, 0) + 1
        await release.wait()
        return web.json_response({})

    yield Hanging(await serve(never), counts)
    release.set()
