"""``vpsorg --redis URL fleet ... --shard I/N``: many workers on one fleet and one budget."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator

import pytest
from redis_server import RedisServer, redis_binary

from vpsorg_async.fleet import shard

from .helpers import TOKEN, ThreadedSimulator, Vpsorg

FAST_POLL = ("--poll-interval", "0.01")
PASSWORD = "pw-SECRET-31f0c2aa-never-shown"
needs_redis = pytest.mark.skipif(redis_binary() is None, reason="no redis-server")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    pytest.importorskip("redis")
    if redis_binary() is None:
        pytest.skip("no redis-server")
    with RedisServer(password=PASSWORD) as server:
        yield server


def ids_of(result_stdout: str) -> list[int]:
    return [row["id"] for row in json.loads(result_stdout)]


def test_shard_acts_on_this_workers_share_only(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    every = [sim.add(name=f"web-{i}", status="active") for i in range(12)]
    seen: list[int] = []
    for index in range(3):
        result = vpsorg("fleet", "stop", "--all", "--shard", f"{index}/3", "--yes", "-o", "json")
        assert result.exit_code == 0, result.stderr
        assert ids_of(result.stdout) == shard(every, index=index, count=3)
        assert f"shard {index}/3: " in result.stderr
        seen += ids_of(result.stdout)
    assert sorted(seen) == every  # the three workers together: every server once


def test_shard_auto_reads_the_job_completion_index(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    every = [sim.add(name=f"web-{i}", status="active") for i in range(6)]
    args = ("fleet", "stop", *map(str, every), "--shard", "auto/2", "-o", "json")
    result = vpsorg(*args, env={"JOB_COMPLETION_INDEX": "1"})
    assert result.exit_code == 0, result.stderr
    assert ids_of(result.stdout) == shard(every, index=1, count=2)
    unset = vpsorg(*args, env={"JOB_COMPLETION_INDEX": None})
    assert unset.exit_code == 2
    assert "JOB_COMPLETION_INDEX" in unset.stderr
    assert "not set" in unset.stderr


@pytest.mark.parametrize("bad", ["3/3", "1/0", "x/2", "1", "-1/2", "auto"])
def test_a_bad_shard_is_a_usage_error(vpsorg: Vpsorg, bad: str) -> None:
    result = vpsorg("fleet", "start", "1", "--shard", bad)
    assert result.exit_code == 2
    assert "--shard" in result.stderr


@needs_redis
def test_redis_shares_the_budget_and_never_shows_its_password(
    vpsorg: Vpsorg, sim: ThreadedSimulator, redis_server: RedisServer
) -> None:
    import redis

    every = [sim.add(name=f"web-{i}", status="stopped") for i in range(8)]
    args = (*FAST_POLL, "--rate-limit", "200", "fleet", "start", "--status", "stopped")
    done: list[int] = []
    for index in range(2):
        result = vpsorg(
            "--redis", redis_server.url, *args, "--shard", f"{index}/2", "--wait", "--yes",
            "-o", "json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        assert PASSWORD not in result.stdout + result.stderr
        done += ids_of(result.stdout)
    assert sorted(done) == every
    namespace = "token-" + hashlib.blake2b(TOKEN.encode(), digest_size=8).hexdigest()
    with redis.Redis.from_url(redis_server.url) as check:
        assert check.exists(f"vpsorg:{{{namespace}}}:pace") == 1  # the pace was shared there
        assert not any(TOKEN.encode() in key for key in check.keys("*"))
    via_env = vpsorg(
        "--redis-namespace", "ops", "fleet", "stop", str(every[0]), "--yes",
        env={"VPSORG_REDIS_URL": redis_server.url},
    )  # fmt: skip
    assert via_env.exit_code == 0, via_env.stderr
    with redis.Redis.from_url(redis_server.url) as check:
        assert check.exists("vpsorg:{ops}:pace") == 1


@needs_redis
def test_redis_down_is_a_clear_error_without_the_password(
    vpsorg: Vpsorg, redis_server: RedisServer
) -> None:
    url = redis_server.url
    redis_server.stop()
    result = vpsorg("--redis", url, "fleet", "start", "1", "--yes")
    assert result.exit_code == 2
    assert "cannot reach Redis at redis://127.0.0.1:" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_redis_without_the_package_names_the_extra(
    vpsorg: Vpsorg, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vpsorg_async.redis", None)  # as if redis were missing
    result = vpsorg("--redis", "redis://127.0.0.1:1/0", "fleet", "start", "1", "--yes")
    assert result.exit_code == 2
    assert "pip install 'vpsorg-async[redis]'" in result.stderr
