"""The fault soak: a fleet's whole life through a simulator that misbehaves on purpose.

A fleet goes create -> active -> stop -> start -> reboot -> delete, with waits, while the simulator
answers (reproducibly, by seed) 10% 5xx, 5% 429 with ``Retry-After``, 2% dropped connections (half
of them after the server acted) and jittered latency. At the end, from the simulator's ledger and the
``FleetResult``s, it proves: every server reached every intended state or is reported failed with a
cause; no server exists that the fleet does not know about; zero duplicate creates; no pending task;
the client closed.

``tests/test_soak.py`` runs it at CI size (300 servers); ``make soak`` runs ``python -m tests.soak``
(3,000 servers by default). Nothing sleeps at full length: the client's ``sleep`` is scaled down, so
backoff, ``Retry-After`` and polling keep their shape but take a hundredth of the time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from vpsorg_async import Client, CreateServer, FleetResult, fleet
from vpsorg_async.testing import Delays, Faults, Simulator

#: Backoff, Retry-After and polling sleeps run at this share of their length.
SLEEP_SCALE = 0.01
#: Transient failures are likelier than in production; six attempts make a lost call very rare
#: (0.17 ** 6 ~ 2e-5 per call) while still exercising every retry path.
SOAK_RETRIES = 5


def soak_faults() -> Faults:
    """The fault mix of the reliability issue."""
    return Faults(
        error_rate=0.10,
        throttle_rate=0.05,
        retry_after=1,
        drop_before_rate=0.01,
        drop_after_rate=0.01,
        latency=(0.0, 0.004),
    )


def scaled_sleep(scale: float) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds * scale)

    return sleep


@attrs.define
class SoakReport:
    """What the soak did and what it survived."""

    servers: int
    seed: int
    seconds: float = 0.0
    phases: dict[str, FleetResult[Any]] = attrs.Factory(dict)
    faults: dict[str, int] = attrs.Factory(dict)
    requests: int = 0
    duplicates: dict[str, int] = attrs.Factory(dict)
    unknown_servers: list[str] = attrs.Factory(list)
    pending_tasks: int = 0
    problems: list[str] = attrs.Factory(list)

    def summary(self) -> str:
        lines = [
            f"soak: {self.servers} servers, seed {self.seed}, {self.seconds:.1f} s, "
            f"{self.requests} API requests",
            "faults survived: "
            + ", ".join(f"{kind}={n}" for kind, n in sorted(self.faults.items()) if n),
        ]
        for name, result in self.phases.items():
            lines.append(
                f"  {name:<7} ok={len(result.succeeded):>5} failed={len(result.failed):>3} "
                f"already={sum(o.already for o in result.outcomes.values()):>4}"
            )
        lines.append(
            f"duplicate creates: {len(self.duplicates)}; unknown servers: "
            f"{len(self.unknown_servers)}; pending tasks: {self.pending_tasks}"
        )
        lines.extend(f"PROBLEM: {p}" for p in self.problems)
        return "\n".join(lines)


def _check_phase(report: SoakReport, name: str, result: FleetResult[Any], keys: set[Any]) -> None:
    if set(result.outcomes) != keys:
        report.problems.append(f"{name}: outcomes for {len(result.outcomes)} of {len(keys)}")
    for outcome in result.failed:
        if outcome.error is None:
            report.problems.append(f"{name}: {outcome.key} failed without a cause")


async def run_soak(*, servers: int, seed: int = 7, concurrency: int = 32) -> SoakReport:
    """Run the whole soak and return its report (``report.problems`` empty means all proven)."""
    report = SoakReport(servers=servers, seed=seed)
    started = time.perf_counter()
    names = [f"soak-{i:05d}" for i in range(servers)]
    async with Simulator(seed=seed, delays=Delays.fast(), faults=soak_faults()) as sim:
        async with Client(
            sim.token,
            base_url=sim.url,
            max_retries=SOAK_RETRIES,
            sleep=scaled_sleep(SLEEP_SCALE),
        ) as client:
            options: dict[str, Any] = {
                "concurrency": concurrency,
                "wait": True,
                "timeout": 600.0,
                "poll_interval": 0.05,
                "max_poll_interval": 0.5,
            }
            bodies = [CreateServer(name=n, plan_id=1, os_id=5, location="us-west") for n in names]
            created = await fleet.create(client, bodies, **options)
            report.phases["create"] = created
            _check_phase(report, "create", created, set(names))
            ids = [o.server.id for o in created.succeeded if o.server is not None]
            # Every server that exists now must be one the fleet reported, with the same id.
            reported = {o.server.name: o.server.id for o in created.succeeded if o.server}
            report.unknown_servers = sorted(
                s["name"] for s in sim.servers if reported.get(s["name"]) != s["id"]
            )
            for name, op in (
                ("stop", fleet.stop),
                ("start", fleet.start),
                ("reboot", fleet.reboot),
                ("delete", fleet.delete),
            ):
                result = await op(client, ids, **options)
                report.phases[name] = result
                _check_phase(report, name, result, set(ids))
        report.faults = dict(sim.ledger.faults)
        report.requests = sim.ledger.total
        report.duplicates = dict(sim.ledger.duplicate_creates())
        left = {s["id"] for s in sim.servers}
        failed_deletes = {o.key for o in report.phases["delete"].failed}
        if left - failed_deletes:
            report.problems.append(f"{len(left - failed_deletes)} servers left after delete")
    current = asyncio.current_task()
    report.pending_tasks = sum(1 for t in asyncio.all_tasks() if t is not current and not t.done())
    if report.duplicates:
        report.problems.append(f"duplicate creates: {report.duplicates}")
    if report.unknown_servers:
        report.problems.append(f"servers the fleet does not know: {report.unknown_servers[:5]}")
    if report.pending_tasks:
        report.problems.append(f"{report.pending_tasks} tasks still pending")
    if not client.closed:
        report.problems.append("the client was not closed")
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--servers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--verbose", action="store_true", help="show every retry (WARNING logs)")
    args = parser.parse_args(argv)
    if not args.verbose:  # thousands of retry warnings would bury the summary
        logging.getLogger("vpsorg_async").setLevel(logging.ERROR)
    report = asyncio.run(
        run_soak(servers=args.servers, seed=args.seed, concurrency=args.concurrency)
    )
    print(report.summary())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
