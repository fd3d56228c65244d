"""``vpsorg simulate`` (a local API to try things against) and ``vpsorg demo`` (a fleet's life).

Both import the simulator (``vpsorg_async.testing``, which pulls in ``aiohttp.web``) only when
they run, so the other commands never pay for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import click

from vpsorg_async import CreateServer
from vpsorg_async.fleet import FleetResult

from . import _words as words
from ._describe import EXIT_FAILED
from ._output import err_console, new_table, out_console
from ._progress import FleetProgress, progress_mode
from ._runtime import Settings, pass_settings, run

if TYPE_CHECKING:
    from vpsorg_async import Client

__all__ = ["demo", "simulate"]

#: The demo's waiting schedule: the simulator's transitions take about a second, so a quick
#: first poll and a low cap keep each step short without hammering (polls are coalesced anyway).
DEMO_POLL_INTERVAL = 0.25
DEMO_MAX_POLL_INTERVAL = 1.0
#: What the demo's servers are made of (the simulator's catalogue; plan 3 is the cheapest).
DEMO_PLAN_ID, DEMO_OS_ID, DEMO_LOCATION = 3, 6, "eu-central"
#: How often the demo looks at its servers' statuses in the simulator (in process, no request)
#: to show the states each step passes through: transitions last about a second, and a look at
#: a few dozen servers costs well under a millisecond.
DEMO_LOOK_INTERVAL = 0.01
#: What a server that vanished is shown as, at the end of a delete's trail of states.
GONE = "deleted"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    help="0: any free one.",
)
@click.option(
    "--token",
    metavar="TOKEN",
    help="Token the simulator accepts (default: a random one). Never read from the environment.",
)
@click.option("--servers", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds jitter and population.")
@click.option("--page-size", type=click.IntRange(min=1), help="Paginate the list (DRF style).")
@click.option(
    "--delay-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply the transition delays (0: instant).",
)
@click.option("--balance", type=click.FloatRange(min=0), help="Account balance spent by creates.")
def simulate(
    host: str,
    port: int,
    token: str | None,
    servers: int,
    seed: int,
    page_size: int | None,
    delay_scale: float,
    balance: float | None,
) -> None:
    """Run the VPS.org API simulator until Ctrl-C (loopback only by default).

    The first line printed is `url=<base URL> token=<token>`: point --base-url and --token (or
    VPSORG_BASE_URL and VPSORG_API_TOKEN) at them. Ctrl-C or SIGTERM stops it with exit code 0.
    """

    from vpsorg_async.testing import run_forever

    try:
        run_forever(
            host=host,
            port=port,
            token=token,
            servers=servers,
            seed=seed,
            page_size=page_size,
            balance=balance,
            delay_scale=delay_scale,
        )
    except OSError as exc:
        click.echo(f"error: cannot serve on {host}:{port}: {exc.strerror or exc}", err=True)
        raise click.exceptions.Exit(EXIT_FAILED) from None


@attrs.define
class StepReport:
    """One step of the demo, for the final table."""

    step: str
    servers: int
    ok: int = 0
    failed: int = 0
    seconds: float = 0.0
    requests: int = 0
    finished: bool = False
    states: list[str] = attrs.Factory(list)


@click.command()
@click.option(
    "--servers",
    "count",
    type=click.IntRange(1, 1000),
    default=24,
    show_default=True,
    help="Size of the fleet.",
)
@click.option(
    "--delay-scale",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Multiply the simulator's transition delays (about a second each).",
)
@pass_settings
def demo(settings: Settings, count: int, delay_scale: float) -> None:
    """Create a fleet on an in-process simulator, stop, start, reboot and delete it.

    Each step runs through vpsorg_async.fleet with a live progress bar; the final table counts
    what each step did and how many API requests it cost (coalesced polling keeps that low).
    Needs no token and no network.
    """
    steps: list[StepReport] = []

    async def main() -> None:
        from vpsorg_async import Client, fleet
        from vpsorg_async.testing import Delays, Simulator

        async with Simulator(delays=Delays().scaled(delay_scale), seed=7) as sim:
            click.echo(
                f"Simulator on {sim.url} (loopback only); a fleet of {words.count(count, 'server')}.",
                err=True,
            )
            async with Client(sim.token, base_url=sim.url, events=settings.events()) as client:
                run_step = _Stepper(
                    client,
                    lambda: sim.ledger.total,
                    lambda: {s["id"]: s["status"] for s in sim.servers if s["name"] in names},
                    steps,
                    quiet=settings.quiet,
                )
                specs = [
                    CreateServer(
                        name=f"demo-{i:02d}",
                        plan_id=DEMO_PLAN_ID,
                        os_id=DEMO_OS_ID,
                        location=DEMO_LOCATION,
                    )
                    for i in range(1, count + 1)
                ]
                names = {spec.name for spec in specs}
                created = await run_step("create", fleet.create, specs)
                ids = [o.server.id for o in created.succeeded if o.server is not None]
                for name in ("stop", "start", "reboot", "delete"):
                    await run_step(name, getattr(fleet, name), ids)

    started = time.perf_counter()
    run(main(), on_interrupt=lambda: _print_steps(steps, time.perf_counter() - started))
    _print_steps(steps, time.perf_counter() - started)
    if any(s.failed or not s.finished for s in steps):
        raise click.exceptions.Exit(EXIT_FAILED)


@attrs.define
class _Stepper:
    """Runs one fleet call as a demo step: progress bar, timing, requests counted by the ledger."""

    client: Client
    requests: Callable[[], int]
    statuses: Callable[[], dict[int, str]]
    steps: list[StepReport]
    quiet: bool = attrs.field(kw_only=True)

    async def __call__(
        self, name: str, call: Callable[..., Awaitable[FleetResult[Any]]], keys: list[Any]
    ) -> FleetResult[Any]:
        """Run ``call(client, keys, wait=True, ...)``; its report is kept even if cancelled."""
        report = StepReport(name, len(keys))
        self.steps.append(report)
        result: FleetResult[Any] = FleetResult(operation=name, total=len(keys))
        console = err_console()
        mode = progress_mode(quiet=self.quiet, console=console)
        progress = FleetProgress(name, len(keys), mode=mode, console=console)
        before = self.requests()
        trails: dict[int, list[str]] = {}
        watching = asyncio.create_task(self._watch(trails))
        try:
            with progress:
                await call(
                    self.client,
                    keys,
                    wait=True,
                    poll_interval=DEMO_POLL_INTERVAL,
                    max_poll_interval=DEMO_MAX_POLL_INTERVAL,
                    on_progress=progress,
                    result=result,
                )
            report.finished = True
        finally:
            watching.cancel()
            self._look(trails)
            report.ok, report.failed = len(result.succeeded), progress.failed
            report.seconds = progress.elapsed
            report.requests = self.requests() - before
            # every server takes the same path: show the longest trail seen (the most states)
            report.states = max(trails.values(), key=len, default=[])
        return result

    async def _watch(self, trails: dict[int, list[str]]) -> None:
        """Look at the servers' statuses until cancelled; each server's states in order."""
        while True:
            self._look(trails)
            await asyncio.sleep(DEMO_LOOK_INTERVAL)

    def _look(self, trails: dict[int, list[str]]) -> None:
        now = self.statuses()
        for server_id, status in now.items():
            trail = trails.setdefault(server_id, [])
            if not trail or trail[-1] != status:
                trail.append(status)
        for server_id, trail in trails.items():
            if server_id not in now and trail[-1] != GONE:
                trail.append(GONE)


def _print_steps(steps: list[StepReport], elapsed: float) -> None:
    """The final table: one row per step, then the totals."""
    table = new_table("STEP", "SERVERS", "OK", "FAILED", "SECONDS", "API REQUESTS", "STATES SEEN")
    for column in table.columns[1:-1]:
        column.justify = "right"
    for s in steps:
        name = s.step if s.finished else f"{s.step} (interrupted)"
        failed = f"[red]{s.failed}[/]" if s.failed else "0"
        states = " -> ".join(s.states) or "-"
        row = (str(s.servers), str(s.ok), failed, f"{s.seconds:.1f}", str(s.requests), states)
        table.add_row(name, *row)
    console = out_console()
    console.print(table)
    requests = sum(s.requests for s in steps)
    console.print(
        f"{len(steps)} steps in {elapsed:.1f} s, {requests} API requests in all.",
        highlight=False,
    )
