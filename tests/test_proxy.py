"""Proxies: ``Client(proxy=..., trust_env=...)``, and the token never in clear text to a proxy.

A real proxy runs on loopback here (asyncio streams) and records every byte it can read: the
request heads sent to it in clear, and what it relays through a ``CONNECT`` tunnel (TLS records
to a real https API on loopback, whose self-signed certificate the client is made to trust).
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web

from vpsorg_async import Client, ConfigurationError, TransportError, ValidationError
from vpsorg_async.testing.examples import DETAIL_RESPONSE

if TYPE_CHECKING:
    from conftest import Serve

SID = DETAIL_RESPONSE["id"]


class RecordingProxy:
    """A forward proxy: ``CONNECT`` tunnels, and plain-http requests it answers itself.

    Attributes:
        heads: every request head received in clear, as bytes.
        tunnelled: every byte the client sent through a tunnel (TLS records, if all is well).
        credentials: the ``user:password`` it demands as ``Proxy-Authorization``, if any.
    """

    def __init__(self, credentials: str | None = None) -> None:
        self.heads: list[bytes] = []
        self.tunnelled = bytearray()
        self.credentials = credentials
        self.url = ""
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _authorized(self, head: bytes) -> bool:
        if self.credentials is None:
            return True
        wanted = base64.b64encode(self.credentials.encode()).decode()
        return f"proxy-authorization: basic {wanted}".lower() in head.decode().lower()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.heads.append(head)
            method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
            if not self._authorized(head):
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
                )
            elif method == "CONNECT":
                host, port = target.rsplit(":", 1)
                up_reader, up_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(
                    self._pipe(reader, up_writer, record=True), self._pipe(up_reader, writer)
                )
            else:  # a plain-http request in absolute form: the proxy answers it itself
                body = json.dumps(DETAIL_RESPONSE).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, record: bool = False
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if record:
                    self.tunnelled += chunk
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[RecordingProxy]:
    recorder = RecordingProxy()
    await recorder.start()
    yield recorder
    await recorder.close()


@pytest.fixture
async def locked_proxy() -> AsyncIterator[RecordingProxy]:
    recorder = RecordingProxy(credentials="squid:pr0xy-s3cret")
    await recorder.start()
    yield recorder
    await recorder.close()


class TLSAPI:
    """An https API on loopback answering one server's detail; ``seen`` holds each request's headers."""

    def __init__(self, base_url: str, seen: list[dict[str, str]]) -> None:
        self.base_url = base_url
        self.seen = seen


@pytest.fixture
async def tls_api(serve_tls: Serve) -> TLSAPI:
    seen: list[dict[str, str]] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response(DETAIL_RESPONSE)

    return TLSAPI(await serve_tls(answer), seen)


@pytest.fixture
def trusting(self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's own session trusts the test certificate (and only it), host name checked."""
    context = ssl.create_default_context(cafile=str(self_signed[0]))

    class Trusting(aiohttp.TCPConnector):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(ssl=context, **kwargs)

    monkeypatch.setattr(aiohttp, "TCPConnector", Trusting)


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.mark.usefixtures("trusting")
async def test_an_https_api_is_tunnelled_and_the_proxy_never_sees_the_token(
    proxy: RecordingProxy, tls_api: TLSAPI, token: str
) -> None:
    async with Client(token, base_url=tls_api.base_url, proxy=proxy.url) as client:
        assert (await client.get_server(SID)).id == SID
        assert (await client.get_server(SID)).id == SID  # the tunnel's connection is kept
    port = tls_api.base_url.split(":")[2].split("/")[0]
    assert len(proxy.heads) == 1
    head = proxy.heads[0].decode()
    assert head.startswith(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n")
    assert "authorization" not in head.lower()
    assert token not in head
    assert proxy.tunnelled  # the requests went through the tunnel ...
    assert proxy.tunnelled[:1] == b"\x16"  # ... as TLS records (a handshake first) ...
    assert token.encode() not in proxy.tunnelled  # ... in which the token never shows
    assert b"Bearer" not in proxy.tunnelled
    assert [h["Authorization"] for h in tls_api.seen] == [f"Bearer {token}"] * 2


@pytest.mark.usefixtures("trusting")
async def test_proxy_credentials_go_to_the_proxy_only_and_never_into_a_message(
    locked_proxy: RecordingProxy, tls_api: TLSAPI, token: str
) -> None:
    secret_url = locked_proxy.url.replace("//", "//squid:pr0xy-s3cret@")
    async with Client(token, base_url=tls_api.base_url, proxy=secret_url) as client:
        assert "pr0xy-s3cret" not in repr(client)
        assert (await client.get_server(SID)).id == SID
    assert "proxy-authorization: basic" in locked_proxy.heads[0].decode().lower()
    assert all("Proxy-Authorization" not in h for h in tls_api.seen)  # not passed on to the API
    wrong = locked_proxy.url.replace("//", "//squid:wrong-pa55@")
    async with Client(token, base_url=tls_api.base_url, proxy=wrong, max_retries=0) as client:
        with pytest.raises(TransportError) as caught:
            await client.get_server(SID)
    assert "ClientHttpProxyError: Proxy Authentication Required" in str(caught.value)
    assert "wrong-pa55" not in str(caught.value)
    assert token not in str(caught.value)


@pytest.mark.usefixtures("trusting")
async def test_trust_env_reads_https_proxy_and_no_proxy(
    proxy: RecordingProxy, tls_api: TLSAPI, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    async with Client(token, base_url=tls_api.base_url) as client:  # trust_env=False by default
        await client.get_server(SID)
    assert proxy.heads == []
    async with Client(token, base_url=tls_api.base_url, trust_env=True) as client:
        await client.get_server(SID)
    assert len(proxy.heads) == 1
    assert proxy.heads[0].startswith(b"CONNECT ")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with Client(token, base_url=tls_api.base_url, trust_env=True) as client:
        await client.get_server(SID)
    assert len(proxy.heads) == 1  # exempted: straight to the API
    assert len(tls_api.seen) == 3


async def test_a_plain_http_loopback_api_goes_through_a_loopback_proxy_in_clear(
    proxy: RecordingProxy, token: str
) -> None:
    base = "http://127.0.0.1:9/api/v1"  # nothing listens there: only the proxy can answer
    async with Client(token, base_url=base, proxy=proxy.url) as client:
        assert (await client.get_server(SID)).id == SID
    head = proxy.heads[0].decode()
    assert head.startswith(f"GET {base}/servers/{SID}/ HTTP/1.1")
    # In clear, as plain http always is: which is why this is allowed on loopback only.
    assert f"Bearer {token}" in head


@pytest.mark.parametrize(
    ("base_url", "proxy_url", "words"),
    [
        ("http://127.0.0.1:8000/api/v1", "http://proxy.example:3128", "in clear text"),
        ("http://localhost/api/v1", "http://u:hunter2@10.0.0.1:3128", "in clear text"),
        ("https://admin.vps.org/api/v1", "socks5://127.0.0.1:1080", "http:// or https://"),
        ("https://admin.vps.org/api/v1", "http://u:hunter2@/", "not a URL"),
        ("https://admin.vps.org/api/v1", "ftp://u:hunter2@proxy", "http:// or https://"),
        ("https://admin.vps.org/api/v1", "http://u:hunter2@proxy:3128/path", "host[:port] only"),
        ("https://admin.vps.org/api/v1", "http://[::1", "not a URL"),
    ],
)
def test_unsafe_or_broken_proxies_are_refused_without_showing_a_password(
    base_url: str, proxy_url: str, words: str, token: str
) -> None:
    with pytest.raises(
        ConfigurationError, match=words.replace("[", r"\[").replace("]", r"\]")
    ) as caught:
        Client(token, base_url=base_url, proxy=proxy_url)
    assert "hunter2" not in str(caught.value)


async def test_a_non_loopback_environment_proxy_for_a_plain_http_api_is_refused(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "u:hunter2@proxy.example:3128")  # no scheme: read as http
    with pytest.raises(ConfigurationError, match="environment's proxy") as caught:
        Client(token, base_url="http://127.0.0.1:8000/api/v1", trust_env=True)
    assert "hunter2" not in str(caught.value)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with Client(token, base_url="http://127.0.0.1:8000/api/v1", trust_env=True) as client:
        assert client._session._proxy is None  # exempted: straight to the API


async def test_a_borrowed_session_keeps_its_own_proxy_settings(token: str) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(ConfigurationError, match="borrowed session"):
            Client(token, session=http, proxy="http://127.0.0.1:3128")
        with pytest.raises(ConfigurationError, match="borrowed session"):
            Client(token, session=http, trust_env=True)
        async with Client(token, session=http):  # neither: fine
            pass


async def test_trust_env_without_a_proxy_in_the_environment_goes_direct(token: str) -> None:
    async with Client(token, trust_env=True) as client:
        assert client._session._proxy is None


def test_a_proxy_that_is_not_a_url_string_is_refused(token: str) -> None:
    with pytest.raises(ConfigurationError, match="proxy must be a URL string, got int"):
        Client(token, proxy=3128)  # type: ignore[arg-type]


def test_trust_env_must_be_a_bool(token: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Client(token, trust_env="yes")  # type: ignore[arg-type]
    assert caught.value.param == "trust_env"
