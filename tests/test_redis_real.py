"""The shared pace and the create locks against a REAL redis-server the tests start themselves.

Redis's own clock runs here, so the pace is measured in real time: a few clients share one
namespace for about two seconds. Restarts, outages and passwords are real too.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from redis_server import RedisServer, redis_binary

pytest.importorskip("redis")
pytestmark = pytest.mark.skipif(redis_binary() is None, reason="no redis-server")

import redis.asyncio  # noqa: E402

from vpsorg_async import Client, ConfigurationError, _policy  # noqa: E402
from vpsorg_async._ratelimit import DeadlineWouldPass  # noqa: E402
from vpsorg_async.redis import RedisCoordinator  # noqa: E402
from vpsorg_async.testing import Delays, ManualClock, Simulator  # noqa: E402

PASSWORD = "pw-SECRET-8c1d0e2f-never-shown"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with RedisServer() as started:
        yield started


@pytest.fixture
async def coordinators(server: RedisServer) -> AsyncIterator[list[RedisCoordinator]]:
    """Four coordinators of one namespace, each on its own connection (as four processes)."""
    made = [RedisCoordinator.from_url(server.url, namespace="acme") for _ in range(4)]
    yield made
    for c in made:
        await c.aclose()


def busiest_second(stamps: list[float]) -> int:
    """The most timestamps in any 1-second window."""
    stamps = sorted(stamps)
    most, first = 0, 0
    for last, stamp in enumerate(stamps):
        while stamp - stamps[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_four_clients_share_one_pace(coordinators: list[RedisCoordinator]) -> None:
    rate, span = 40.0, 2.0
    stamps: list[float] = []
    started = time.monotonic()

    async def worker(c: RedisCoordinator) -> None:
        pacer = c.pacer(rate, clock=time.monotonic, sleep=asyncio.sleep)
        while True:
            try:
                await pacer.wait_turn(started + span)
            except DeadlineWouldPass:
                return
            stamps.append(time.monotonic())
            pacer.on_success()

    for c in coordinators:
        await c.open()
    await asyncio.gather(*(worker(c) for c in coordinators))
    burst = rate * _policy.REDIS_BURST
    assert busiest_second(stamps) <= rate + burst + 1
    assert len(stamps) >= rate * span * 0.8  # together about the rate: not starved
    assert len(stamps) <= rate * span + burst + 1  # and not four times it


async def test_clients_share_the_pace_through_the_seam(server: RedisServer) -> None:
    clock = ManualClock()
    async with Simulator(servers=3, delays=Delays.fast()) as sim:
        clients = [
            Client(
                sim.token, base_url=sim.url, rate_limit=5, clock=clock, sleep=clock.sleep,
                coordinator=RedisCoordinator.from_url(server.url, namespace="seam", burst=0.0),
            )
            for _ in range(2)
        ]  # fmt: skip
        for client in clients:
            async with client:
                await client.list_servers()
                await client.list_servers()
        assert sim.ledger.count() == 4
        # one 5/s pace for both (Redis time hardly moves meanwhile): the four requests waited
        # 1, 2 and 3 intervals; two paces would have waited 1 and 1
        assert sum(clock.sleeps) == pytest.approx((1 + 2 + 3) * 0.2, abs=0.1)
        for client in clients:
            assert client.coordinator is not None
            await client.coordinator.aclose()  # type: ignore[attr-defined]


async def test_noscript_after_a_restart_is_survived(server: RedisServer) -> None:
    clock = ManualClock()
    c = RedisCoordinator.from_url(server.url, namespace="ns")
    pacer = c.pacer(100.0, clock=clock, sleep=clock.sleep)
    await pacer.wait_turn(10.0)
    server.restart()  # an empty Redis: no script cached, no state
    fresh = redis.asyncio.from_url(server.url)
    assert await fresh.script_exists(c._pace_script.sha) == [False]
    for _ in range(3):  # a dropped connection may cost one turn on the fallback
        await pacer.wait_turn(clock() + 10.0)
        if pacer.shared:
            break
        clock.advance(_policy.REDIS_RETRY_INTERVAL)
    assert pacer.shared
    assert await fresh.script_exists(c._pace_script.sha) == [True]
    assert await fresh.exists("vpsorg:{ns}:pace") == 1
    await fresh.aclose()
    await c.aclose()


async def test_redis_stopped_mid_run_falls_back_warns_once_and_comes_back(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock()
    c = RedisCoordinator.from_url(server.url, namespace="ns", expected_processes=2)
    pacer = c.pacer(10.0, clock=clock, sleep=clock.sleep)
    await pacer.wait_turn(10.0)
    server.stop()
    with caplog.at_level(logging.WARNING, logger="vpsorg_async.redis"):
        for _ in range(5):  # every turn is granted: on the fallback, at 10 / 2 per second
            await pacer.wait_turn(clock() + 10.0)
        assert not pacer.shared
        assert clock.sleeps[-3:] == pytest.approx([0.2, 0.2, 0.2])
        assert sum("is lost" in r.getMessage() for r in caplog.records) == 1
        server.start()
        clock.advance(_policy.REDIS_RETRY_INTERVAL)
        for _ in range(3):
            await pacer.wait_turn(clock() + 10.0)
            if pacer.shared:
                break
            clock.advance(_policy.REDIS_RETRY_INTERVAL)
        assert pacer.shared
        assert sum("is back" in r.getMessage() for r in caplog.records) == 1
        assert sum("is lost" in r.getMessage() for r in caplog.records) == 1
    await c.aclose()


async def test_redis_down_at_start_is_a_configuration_error_without_the_password() -> None:
    with RedisServer(password=PASSWORD) as server:
        url = server.url
        c = RedisCoordinator.from_url(url, namespace="ns")
        await c.open()  # the right password: fine
        wrong = RedisCoordinator.from_url(
            url.replace(PASSWORD, "wrong-" + PASSWORD), namespace="ns"
        )
        with pytest.raises(ConfigurationError) as refused:
            await wrong.open()
        await wrong.aclose()
    with pytest.raises(
        ConfigurationError, match=r"cannot reach Redis at redis://127\.0\.0\.1"
    ) as down:
        await c.open()
    client = Client("tok", base_url="http://127.0.0.1:1/api/v1", coordinator=c)
    with pytest.raises(ConfigurationError):
        async with client:
            pass
    assert client.closed
    shown = [str(refused.value), repr(refused.value), str(down.value), repr(c), repr(client)]
    assert all(PASSWORD not in text for text in shown), shown
    await c.aclose()


async def test_a_lost_redis_warning_never_shows_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    with RedisServer(password=PASSWORD) as server:
        c = RedisCoordinator.from_url(server.url, namespace="ns")
        pacer = c.pacer(10.0, clock=clock, sleep=clock.sleep)
        await pacer.wait_turn(10.0)
    with caplog.at_level(logging.DEBUG):
        await pacer.wait_turn(clock() + 10.0)
    assert not pacer.shared
    assert caplog.records
    assert PASSWORD not in caplog.text
    await c.aclose()


def test_an_unknown_url_scheme_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a Redis URL") as caught:
        RedisCoordinator.from_url(f"http://:{PASSWORD}@host/0", namespace="ns")
    assert PASSWORD not in str(caught.value)


# -- create locks ---------------------------------------------------------------------------


async def test_a_lease_excludes_other_holders_until_released(
    coordinators: list[RedisCoordinator],
) -> None:
    a, b = (c.create_lock() for c in coordinators[:2])
    order: list[str] = []

    async def hold(lock: object, who: str) -> None:
        async with lock.hold("web-01", timeout=5.0):  # type: ignore[attr-defined]
            order.append(f"{who} in")
            await asyncio.sleep(0.05)
            order.append(f"{who} out")

    await asyncio.gather(hold(a, "a"), hold(b, "b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert await coordinators[0]._link.redis.exists("vpsorg:{acme}:create:web-01") == 0


async def test_a_held_lease_times_out_others_and_only_its_owner_releases_it(
    coordinators: list[RedisCoordinator],
) -> None:
    redis_ = coordinators[0]._link.redis
    a, b = coordinators[0].create_lock(), coordinators[1].create_lock()
    key = "vpsorg:{acme}:create:db-01"
    async with a.hold("db-01", timeout=1.0):
        owner = str(await redis_.get(key))
        token = int(owner.split(":")[0].lstrip("b'"))
        with pytest.raises(TimeoutError):
            async with b.hold("db-01", timeout=0.1):
                pass  # pragma: no cover - never entered
        assert await b._release_script(keys=[key], args=["1:not-the-owner"]) == 0
        assert str(await redis_.get(key)) == owner
    async with b.hold("db-01", timeout=1.0):
        newer = str(await redis_.get(key))
        assert int(newer.split(":")[0].lstrip("b'")) > token  # fencing: strictly newer


async def test_a_lease_is_renewed_while_held(server: RedisServer) -> None:
    from vpsorg_async.redis._locks import RedisCreateLocks

    c = RedisCoordinator.from_url(server.url, namespace="ns")
    locks = RedisCreateLocks(c._link, lease=0.3)
    async with locks.hold("app-01", timeout=1.0):
        await asyncio.sleep(0.5)  # longer than the lease: it lives only if renewed
        assert await c._link.redis.exists("vpsorg:{ns}:create:app-01") == 1
    assert locks._renewer is not None
    await asyncio.sleep(0)
    assert locks._renewer.done()  # nothing held: no renewing task left behind
    await c.aclose()


CREATOR = """
import asyncio, sys
from vpsorg_async import Client, CreateServer, fleet
from vpsorg_async.redis import RedisCoordinator

async def main(url, base_url, token):
    names = [f"web-{i:02d}" for i in range(30)]
    bodies = [CreateServer(name=n, plan_id=1, os_id=6, location="us-west") for n in names]
    coordinator = RedisCoordinator.from_url(url, namespace="creates")
    async with Client(token, base_url=base_url, coordinator=coordinator) as client:
        result = await fleet.create(client, bodies, wait=False, concurrency=8)
    assert result.ok, result
    print(sum(o.already for o in result.outcomes.values()))

asyncio.run(main(*sys.argv[1:]))
"""


async def test_two_processes_creating_the_same_names_make_one_server_each(
    server: RedisServer,
) -> None:
    async with Simulator(servers=0, delays=Delays.fast()) as sim:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", CREATOR, server.url, sim.url, sim.token,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]  # fmt: skip
        outs = [await asyncio.wait_for(p.communicate(), timeout=60) for p in procs]
        for proc, (_, err) in zip(procs, outs, strict=True):
            assert proc.returncode == 0, err.decode()[-2000:]
        names = sorted(s["name"] for s in sim.servers)
    assert names == [f"web-{i:02d}" for i in range(30)]  # exactly one server per name
    assert sim.ledger.duplicate_creates() == {}
    # between them the two made every server once; the other found it already there
    assert sum(int(out.split()[-1]) for out, _ in outs) == 30
