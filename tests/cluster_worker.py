"""One process of a test cluster: a fleet on its shard, through the shared board in Redis.

Run by ``tests/cluster.py`` as ``python tests/cluster_worker.py ARGS`` (four at once, and one more
to replace a killed one). It prints one JSON line when its fleets are done::

    {"pid": ..., "ok": <servers that reached the goal>, "failed": {id: error}, "sweeps": ...,
     "takeovers": ..., "fallbacks": ..., "started": <wall time>, "ended": <wall time>}

``--job cycle`` stops every server of its shard and starts it again (goal: all active);
``--job create`` creates the given names (every worker the same ones). The coordinator is
``vpsorg_async.redis.RedisCoordinator`` when it exists (its shared pacer and create locks) with
this branch's board as the status source; otherwise a test-only one (``board_helpers``) whose
pacer and locks are in process, at ``rate / workers`` each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # board_helpers, as a script

import redis.asyncio as aioredis
from board_helpers import BoardCoordinator

from vpsorg_async import Client, CreateServer, fleet
from vpsorg_async._seams import Coordinator, StatusSource
from vpsorg_async.redis._board import RedisStatusBoard


def shared_coordinator(
    redis: aioredis.Redis, namespace: str, tick: float
) -> tuple[Coordinator, list[RedisStatusBoard]] | None:
    """T1's ``RedisCoordinator`` with this board as its status source, if it exists yet."""
    try:
        from vpsorg_async.redis import RedisCoordinator
    except ImportError:
        return None
    boards: list[RedisStatusBoard] = []

    class WithBoard(RedisCoordinator):
        def status_source(self, own: StatusSource, **parts: Any) -> StatusSource:
            board = RedisStatusBoard(redis, namespace=namespace, own=own, tick=tick)
            boards.append(board)
            return board

    coordinator: Coordinator = WithBoard(redis, namespace=namespace)
    return coordinator, boards


async def work(args: argparse.Namespace) -> dict[str, Any]:
    redis = aioredis.from_url(args.redis)
    shared = shared_coordinator(redis, args.namespace, args.tick) if args.shared else None
    if shared is not None:
        coordinator, boards = shared
        rate = args.rate
    else:
        local = BoardCoordinator(redis, namespace=args.namespace, tick=args.tick)
        coordinator, boards, rate = local, local.boards, args.rate / args.workers
    failed: dict[str, str] = {}
    ok = 0
    started = time.time()
    polling: dict[str, Any] = {"poll_interval": args.tick, "max_poll_interval": 4 * args.tick}
    async with Client(
        args.token, base_url=args.url, rate_limit=rate, coordinator=coordinator
    ) as client:
        if args.job == "cycle":
            ids: list[int] = args.id_list
            stopped = await fleet.stop(client, ids, **polling)
            started_again = await fleet.start(client, ids, **polling)
            for result in (stopped, started_again):
                failed.update({str(o.key): repr(o.error) for o in result.failed})
            ok = len(started_again.succeeded)
        else:
            names = [f"{args.prefix}-{n:04d}" for n in range(args.names)]
            specs = [CreateServer(name=n, plan_id=1, os_id=5, location="us-west") for n in names]
            made = await fleet.create(client, specs, **polling)
            failed.update({o.key: repr(o.error) for o in made.failed})
            ok = len(made.succeeded)
    await redis.aclose()
    return {
        "ok": ok,
        "failed": failed,
        "sweeps": sum(b.stats.sweeps for b in boards),
        "takeovers": sum(b.stats.takeovers for b in boards),
        "fallbacks": sum(b.stats.fallbacks for b in boards),
        "shared_pacer": shared is not None,
        "started": started,
        "ended": time.time(),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--tick", type=float, required=True)
    parser.add_argument("--rate", type=float, required=True, help="the cluster's whole budget")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--shared", action="store_true", help="use RedisCoordinator if present")
    parser.add_argument("--job", choices=["cycle", "create"], required=True)
    parser.add_argument("--ids", help="a file of server ids, one a line (--job cycle)")
    parser.add_argument("--names", type=int, default=0, help="names to create (--job create)")
    parser.add_argument("--prefix", default="cluster")
    args = parser.parse_args(argv)
    args.id_list = [int(i) for i in Path(args.ids).read_text().split()] if args.ids else []
    report = asyncio.run(work(args))
    report["pid"] = os.getpid()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
