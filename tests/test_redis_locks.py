"""Create leases on fakeredis: what happens when Redis goes away, or a lease lapses while held."""

from __future__ import annotations

import asyncio
import logging

import pytest

pytest.importorskip("redis")
pytest.importorskip("fakeredis")
pytest.importorskip("lupa")

import fakeredis

from vpsorg_async.redis import RedisCoordinator
from vpsorg_async.redis._link import Link, safe_address
from vpsorg_async.redis._locks import RedisCreateLocks

KEY = "vpsorg:{ns}:create:web-01"


def locks_on(server: fakeredis.FakeServer, *, lease: float = 30.0) -> RedisCreateLocks:
    link = Link(fakeredis.FakeAsyncRedis(server=server), "ns")
    return RedisCreateLocks(link, lease=lease, poll_first=0.001, poll_max=0.004)


async def test_with_redis_lost_a_lease_waits_and_times_out_rather_than_guess() -> None:
    server = fakeredis.FakeServer()
    locks = locks_on(server)
    server.connected = False
    with pytest.raises(TimeoutError):
        async with locks.hold("web-01", timeout=0.03):
            pass  # pragma: no cover - never entered


async def test_a_lease_taken_while_redis_returns_is_held() -> None:
    server = fakeredis.FakeServer()
    locks = locks_on(server)
    server.connected = False
    asyncio.get_running_loop().call_later(0.01, setattr, server, "connected", True)
    async with locks.hold("web-01", timeout=1.0):
        assert await locks._link.redis.exists(KEY) == 1
    assert await locks._link.redis.exists(KEY) == 0


async def test_redis_lost_while_held_lets_the_lease_lapse_quietly() -> None:
    server = fakeredis.FakeServer()
    locks = locks_on(server, lease=0.03)
    async with locks.hold("web-01", timeout=1.0):
        server.connected = False
        await asyncio.sleep(0.03)  # a renewal round fails: no error reaches the holder
    server.connected = True
    assert locks._held == {}


async def test_a_lease_that_lapsed_while_held_is_warned_about_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = fakeredis.FakeServer()
    locks = locks_on(server, lease=0.03)
    with caplog.at_level(logging.WARNING, logger="vpsorg_async.redis"):
        async with locks.hold("web-01", timeout=1.0):
            await locks._link.redis.set(KEY, "someone-else")  # as if it lapsed and was taken
            await asyncio.sleep(0.05)  # several renewal rounds
            assert await locks._link.redis.get(KEY) == b"someone-else"  # not renewed, not ours
    lapsed = [r for r in caplog.records if "lapsed" in r.getMessage()]
    assert len(lapsed) == 1
    assert await locks._link.redis.get(KEY) == b"someone-else"  # release left it alone


def test_the_address_shown_names_no_user_or_password() -> None:
    import redis.asyncio

    tls = redis.asyncio.from_url("rediss://user:pw-SECRET@cache:6380/2")  # never connects here
    assert safe_address(tls) == "rediss://cache:6380/2"
    unix = redis.asyncio.from_url("unix://:pw-SECRET@/run/redis.sock?db=1")
    assert safe_address(unix) == "unix:///run/redis.sock"
    c = RedisCoordinator(tls, namespace="ns")
    assert "pw-SECRET" not in repr(c)
    assert c.namespace == "ns"
