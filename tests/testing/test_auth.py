"""Bearer-token authentication, on API and admin routes alike."""

from __future__ import annotations

import pytest

from .helpers import Api


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/servers/"),
        ("POST", "/servers/"),
        ("GET", "/servers/12345/"),
        ("PUT", "/servers/12345/"),
        ("PATCH", "/servers/12345/"),
        ("DELETE", "/servers/12345/"),
        ("POST", "/servers/12345/start/"),
        ("POST", "/servers/12345/stop/"),
        ("POST", "/servers/12345/reboot/"),
    ],
)
async def test_a_missing_token_is_401(api: Api, method: str, path: str) -> None:
    reply = await api.call(method, path, token=None)
    assert reply.status == 401
    assert reply.data == {"detail": "Authentication credentials were not provided."}
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_wrong_token_is_401(api: Api) -> None:
    reply = await api.call("GET", "/servers/", token="not-the-token")
    assert (reply.status, reply.data) == (401, {"detail": "Invalid token."})


async def test_another_scheme_is_not_credentials(api: Api) -> None:
    reply = await api.call("GET", "/servers/", token=None)
    assert reply.status == 401
    async with api.session.get(
        api.sim.url + "/servers/", headers={"Authorization": f"Token {api.sim.token}"}
    ) as response:
        assert response.status == 401
        assert await response.json() == {"detail": "Authentication credentials were not provided."}


async def test_the_scheme_is_case_insensitive(api: Api) -> None:
    async with api.session.get(
        api.sim.url + "/servers/", headers={"Authorization": f"bearer {api.sim.token}"}
    ) as response:
        assert response.status == 200


async def test_auth_comes_before_404(api: Api) -> None:
    reply = await api.call("GET", "/servers/99999/", token="wrong")
    assert reply.status == 401


async def test_the_ledger_counts_401s(api: Api) -> None:
    await api.call("GET", "/servers/", token=None)
    assert api.sim.ledger.count("list_servers", 401) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_sim/ledger"),
        ("POST", "/_sim/reset-ledger"),
        ("GET", "/_sim/faults"),
        ("POST", "/_sim/faults"),
        ("GET", "/_sim/state"),
    ],
)
async def test_admin_routes_need_the_token(api: Api, method: str, path: str) -> None:
    reply = await api.call(method, path, token="wrong", root=True)
    assert (reply.status, reply.data) == (401, {"detail": "Invalid token."})
