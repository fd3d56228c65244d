"""``client.with_options(...)``: a light view with its own call defaults, sharing the rest."""

from __future__ import annotations

import copy
import gc
import math
import warnings
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from vpsorg_async import (
    Client,
    ConfigurationError,
    RequestTimeoutError,
    ServerError,
    ValidationError,
    fleet,
    waiters,
)
from vpsorg_async.testing import Delays, Simulator

if TYPE_CHECKING:
    from conftest import Handler, Hanging, MakeClient, Serve

    from vpsorg_async.testing import ManualClock


def failing_api(hits: list[str]) -> Handler:
    """An API whose every answer is a 503 (retried by the client), counting the requests."""

    async def fail(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=503, text="down")

    return fail


async def test_a_view_has_its_own_retries_and_timeout_and_leaves_the_client_alone(
    make_client: MakeClient, serve: Serve, fake_time: ManualClock
) -> None:
    hits: list[str] = []
    client = make_client(base_url=await serve(failing_api(hits)), max_retries=3, timeout=50)
    view = client.with_options(max_retries=0, timeout=7)
    assert (view.timeout, client.timeout) == (7, 50)
    with pytest.raises(ServerError) as caught:
        await view.get_server(1)
    assert caught.value.attempts == 1
    assert len(hits) == 1
    with pytest.raises(ServerError) as caught:
        await client.get_server(1)
    assert caught.value.attempts == 4
    assert len(hits) == 5
    again = view.with_options(timeout=9)  # a view of a view keeps the first view's retries
    with pytest.raises(ServerError) as caught:
        await again.get_server(1)
    assert (again.timeout, caught.value.attempts) == (9, 1)


async def test_a_view_shares_the_http_session_pacer_slots_and_create_lock(
    make_client: MakeClient,
) -> None:
    client = make_client(rate_limit=5.0)
    view = client.with_options(timeout=3)
    assert isinstance(view, Client)
    assert view is not client
    assert client._session._session is None  # making a view opened nothing
    http = view._session._http()  # opened by the view's first request: it is the client's
    assert client._session._session is http
    assert client._session._http() is http
    assert view._session._pacer is client._session._pacer
    assert view._session._slots is client._session._slots
    assert view.create_lock is client.create_lock
    assert (view.clock, view.sleep, view.base_url) == (client.clock, client.sleep, client.base_url)
    twin = copy.copy(view._session)  # a copy of a view (no endless lookup while it is made)
    assert twin._pacer is client._session._pacer


async def test_closing_a_view_ends_the_view_only_and_closing_the_client_ends_every_view(
    make_client: MakeClient,
) -> None:
    client = make_client()
    async with client.with_options(timeout=3) as view:
        http = view._session._http()
    assert view.closed
    assert not client.closed
    assert not http.closed  # the client's session stays open for the client
    with pytest.raises(ConfigurationError, match="closed"):
        await view.get_server(1)
    with pytest.raises(ConfigurationError, match="closed"):
        view._session._http()  # a walk's next page goes straight to the session layer
    other = client.with_options(max_retries=1)
    await client.aclose()
    assert other.closed
    assert http.closed
    with pytest.raises(ConfigurationError, match="closed"):
        await other.get_server(1)


def test_a_view_dropped_unclosed_does_not_warn_but_its_client_still_does(token: str) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        client = Client(token)
        client.with_options(timeout=1)  # made and dropped at once
        gc.collect()
        assert seen == []
        del client
        gc.collect()
    assert [w.category for w in seen] == [ResourceWarning]


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": "5"}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_retries": True}, "max_retries"),
        ({"max_retries": "2"}, "max_retries"),
    ],
)
def test_bad_options_raise_a_validation_error_naming_the_parameter(
    client: Client, options: dict[str, Any], param: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        client.with_options(**options)
    assert caught.value.param == param


async def test_the_view_timeout_bounds_each_call(make_client: MakeClient, hanging: Hanging) -> None:
    client = make_client(base_url=hanging.base_url, timeout=600, max_retries=0)
    view = client.with_options(timeout=0.05)  # the server never answers
    with pytest.raises(RequestTimeoutError):
        await view.get_server(1)
    assert hanging.counts == {"GET /api/v1/servers/1/": 1}


async def test_waiters_and_fleets_take_a_view() -> None:
    async with (
        Simulator(servers=2, delays=Delays.fast()) as sim,
        Client(sim.token, base_url=sim.url) as client,
    ):
        view = client.with_options(timeout=30, max_retries=1)
        ids = [s["id"] for s in sim.servers]
        result = await fleet.stop(view, ids, wait=True, poll_interval=0.01)
        assert result.ok
        assert sorted(result.outcomes) == sorted(ids)
        server = await waiters.wait_until_stopped(view, ids[0], poll_interval=0.01)
        assert server.id == ids[0]
        found = await view.find_server(name=server.name)
        assert found is not None
        assert found.id == ids[0]
        assert not client.closed
