"""Secret hygiene: the token appears in no repr, log record, exception message or traceback."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from secret_helpers import renderings
from yarl import URL

from vpsorg_async import Client, ConfigurationError, VPSOrgError
from vpsorg_async.testing.examples import (
    CREATE_REQUEST,
    CREATE_RESPONSE,
    DETAIL_RESPONSE,
    LIST_RESPONSE,
    REBOOT_RESPONSE,
    START_RESPONSE,
    STOP_RESPONSE,
)

if TYPE_CHECKING:
    from conftest import MakeClient

BASE = "https://admin.vps.org/api/v1"
ITEM = BASE + "/servers/12345/"


def leaks(token: str, text: str) -> bool:
    # also catch a token cut in half by an excerpt
    return token in text or token[: len(token) // 2] in text or token[len(token) // 2 :] in text


def log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = []
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), caplog.handler.format(record)]
    return texts


async def capture(call: Awaitable[Any]) -> BaseException | None:
    try:
        await call
    except (VPSOrgError, TypeError, ValueError) as exc:
        return exc
    return None


async def test_the_token_never_leaks(
    mocked: aioresponses,
    make_client: MakeClient,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, aiohttp's included
    client = make_client(max_retries=1)
    assert not leaks(token, repr(client))
    assert not leaks(token, str(client))

    def echo_headers(url: URL, **kwargs: Any) -> CallbackResult:
        assert kwargs["headers"]["Authorization"] == f"Bearer {token}"  # it is sent, though
        return CallbackResult(status=401, payload={"detail": "Invalid token."})

    # every endpoint's success, with a retry in front of some
    mocked.get(BASE + "/servers/", status=503)
    mocked.get(BASE + "/servers/", payload=LIST_RESPONSE)
    mocked.post(BASE + "/servers/", status=429, headers={"Retry-After": "1"})
    mocked.post(BASE + "/servers/", status=201, payload=CREATE_RESPONSE)
    mocked.get(ITEM, exception=aiohttp.ServerDisconnectedError())
    mocked.get(ITEM, payload=DETAIL_RESPONSE)
    mocked.put(ITEM, payload=DETAIL_RESPONSE)
    mocked.patch(ITEM, payload=DETAIL_RESPONSE)
    mocked.delete(ITEM, status=204)
    mocked.post(ITEM + "start/", payload=START_RESPONSE)
    mocked.post(ITEM + "stop/", payload=STOP_RESPONSE)
    mocked.post(ITEM + "reboot/", payload=REBOOT_RESPONSE)
    await client.list_servers()
    await client.create_server(**CREATE_REQUEST)
    await client.get_server(12345)
    await client.update_server(12345, name="a", hostname="a.example.com", backups_enabled=True)
    await client.patch_server(12345, name="b")
    await client.delete_server(12345)
    await client.start_server(12345)
    await client.stop_server(12345)
    await client.reboot_server(12345)

    # every error path
    errors: list[BaseException | None] = []
    mocked.get(BASE + "/servers/1/", callback=echo_headers)
    errors.append(await capture(client.get_server(1)))
    mocked.get(BASE + "/servers/2/", status=404, payload={"detail": "Not found."})
    errors.append(await capture(client.get_server(2)))
    mocked.post(BASE + "/servers/", status=400, payload={"name": ["Bad."]})
    errors.append(await capture(client.create_server(**CREATE_REQUEST)))
    mocked.post(BASE + "/servers/", status=402, payload={"detail": "Insufficient balance"})
    errors.append(await capture(client.create_server(**CREATE_REQUEST)))
    mocked.post(BASE + "/servers/", status=503)
    errors.append(await capture(client.create_server(**CREATE_REQUEST)))  # ambiguous
    mocked.get(BASE + "/servers/3/", status=429, headers={"Retry-After": "1"}, repeat=True)
    errors.append(await capture(client.get_server(3)))
    mocked.get(BASE + "/servers/4/", exception=aiohttp.ServerDisconnectedError(), repeat=True)
    errors.append(await capture(client.get_server(4)))
    mocked.get(BASE + "/servers/5/", body="<html>proxy error</html>")
    errors.append(await capture(client.get_server(5)))
    mocked.get(BASE + "/servers/6/", status=302, headers={"Location": "https://evil.example/"})
    errors.append(await capture(client.get_server(6)))

    # what aiohttp's own timer raises when the attempt's deadline passes
    mocked.get(BASE + "/servers/7/", exception=TimeoutError())
    errors.append(await capture(client.get_server(7, timeout=0.05)))
    errors.append(await capture(client.get_server(0)))
    errors.append(await capture(client.patch_server(12345)))
    errors.append(await capture(client.get_server(1, 2)))  # type: ignore[call-arg]
    await client.aclose()
    errors.append(await capture(client.get_server(1)))

    assert all(e is not None for e in errors)
    assert len({type(e) for e in errors}) >= 10
    for error in errors:
        assert error is not None
        for text in renderings(error):
            assert not leaks(token, text), text
    records = log_texts(caplog)
    assert len(records) >= 25  # the debug lines really were captured
    for text in records:
        assert not leaks(token, text), text
    assert not leaks(token, repr(client))


def test_configuration_errors_do_not_echo_the_token(token: str) -> None:
    for options in (
        {"base_url": "http://admin.vps.org/api/v1"},
        {"base_url": "ftp://x"},
        {"timeout": -1},
        {"max_retries": -1},
    ):
        with pytest.raises(VPSOrgError) as info:
            Client(token, **options)
        for text in renderings(info.value):
            assert not leaks(token, text)


async def test_the_env_token_is_not_shown(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("VPSORG_API_TOKEN", token)
    async with Client() as client:
        assert not leaks(token, repr(client))
    monkeypatch.setenv("VPSORG_API_TOKEN", "")
    with pytest.raises(ConfigurationError) as info:
        Client()
    assert "VPSORG_API_TOKEN" in str(info.value)


async def test_an_error_body_echoing_the_token_is_redacted(
    mocked: aioresponses, client: Client, token: str
) -> None:
    mocked.get(ITEM, status=400, body=f"Bad request. Headers: Authorization: Bearer {token}")
    with pytest.raises(VPSOrgError) as info:
        await client.get_server(12345)
    assert not leaks(token, str(info.value))
