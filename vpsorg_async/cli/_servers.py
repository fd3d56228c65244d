"""``vpsorg servers ...``: one command per endpoint, thin and literal.

These commands say exactly what the API said: starting a running server is an error here (exit 1).
For converging, re-runnable operations over many servers, use ``vpsorg fleet``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vpsorg_async import Server, ServerStatus
from vpsorg_async.waiters import DEFAULT_WAIT_TIMEOUT

from ._describe import EXIT_FAILED, describe
from ._output import (
    OUTPUT_OPTION,
    ROW_KEYS,
    emit_json,
    err_console,
    out_console,
    print_server,
    print_servers,
)
from ._runtime import Settings, ask, pass_settings, run
from ._words import count

if TYPE_CHECKING:
    from vpsorg_async import Client

__all__ = ["servers"]

#: Servers acted on at once by one ``servers start|stop|reboot|delete`` (fleets have their own).
ACTION_CONCURRENCY = 8


STATUS_CHOICE = click.Choice([s.value for s in ServerStatus], case_sensitive=False)
SERVER_IDS = click.argument(
    "server_ids", metavar="ID...", nargs=-1, required=True, type=click.IntRange(min=1)
)
WAIT_OPTION = click.option(
    "--wait", is_flag=True, help="Wait until each server reaches its new state."
)

F = TypeVar("F", bound=Callable[..., Any])


def _timeout_option(why: str) -> Callable[[F], F]:
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_WAIT_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help=f"Overall deadline of --wait ({why}).",
    )


CREATE_TIMEOUT_OPTION = _timeout_option("a real provisioning takes 2-5 minutes")
TIMEOUT_OPTION = _timeout_option("starting, stopping, rebooting or deleting takes seconds")


@click.group()
def servers() -> None:
    """List, inspect, create, change, delete, start, stop and reboot servers."""


@servers.command("list")
@click.option("--status", type=STATUS_CHOICE, help="Only servers in this status.")
@click.option("--location", metavar="CODE", help="Only servers in this datacenter, e.g. us-west.")
@OUTPUT_OPTION
@pass_settings
def list_(settings: Settings, status: str | None, location: str | None, output: str) -> None:
    """List servers (every page)."""

    async def main() -> list[Server]:
        async with settings.client() as client:
            return [s async for s in client.iter_servers(status=status, location=location)]

    print_servers(run(main()), output=output)


@servers.command("get")
@click.argument("server_id", metavar="ID", type=click.IntRange(min=1))
@OUTPUT_OPTION
@pass_settings
def get(settings: Settings, server_id: int, output: str) -> None:
    """Show one server in detail."""

    async def main() -> Server:
        async with settings.client() as client:
            return await client.get_server(server_id)

    print_server(run(main()), output=output)


@servers.command("create")
@click.option(
    "--name",
    required=True,
    help="Letters, digits and hyphens (the API lets two servers share a name).",
)
@click.option("--plan-id", required=True, type=click.IntRange(min=1), help="The plan's id.")
@click.option("--os-id", required=True, type=click.IntRange(min=1), help="The OS image's id.")
@click.option("--location", required=True, metavar="CODE", help="Datacenter code, e.g. us-west.")
@click.option("--hostname", help="Fully qualified hostname.")
@click.option("--ssh-key-id", type=click.IntRange(min=1), help="An SSH key to install.")
@click.option("--backups", is_flag=True, help="Enable backups.")
@WAIT_OPTION
@CREATE_TIMEOUT_OPTION
@OUTPUT_OPTION
@pass_settings
def create(
    settings: Settings,
    name: str,
    plan_id: int,
    os_id: int,
    location: str,
    hostname: str | None,
    ssh_key_id: int | None,
    backups: bool,
    wait: bool,
    timeout: float,
    output: str,
) -> None:
    """Create (deploy) a server; --wait until it is active.

    A create whose answer is lost is never sent twice; the command looks for the server it may
    have made instead (reconcile). It adopts only a server this request could have created: same
    name, plan, OS and location, and not there before the request was sent. When it cannot tell
    which (or whether one) is new, it fails with exit code 1 and lists the candidates: check
    them with `vpsorg servers list` before creating again.
    """

    async def main() -> tuple[Server, str | None]:
        async with settings.client() as client:
            created = await client.create_server(
                name=name,
                plan_id=plan_id,
                os_id=os_id,
                location=location,
                hostname=hostname,
                ssh_key_id=ssh_key_id,
                backups_enabled=True if backups else None,
                reconcile=True,
            )
            if not wait:
                return created, created.message
            from vpsorg_async import waiters  # aiohttp loads when a command runs, not for `--help`

            with _waiting(settings, f"waiting for server {created.id} to become active"):
                return await waiters.wait_until_active(
                    client, created.id, timeout=timeout, poll_interval=settings.poll_interval
                ), None

    server, note = run(main())
    print_server(server, output=output, note=note)


def _backups_option(required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--backups/--no-backups",
        "backups",
        default=None,
        help="Turn backups on or off" + (" (required)." if required else "."),
    )


@servers.command("update")
@click.argument("server_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--name", required=True, help="The new name.")
@click.option("--hostname", required=True, help="The new hostname.")
@_backups_option(required=True)
@OUTPUT_OPTION
@pass_settings
def update(settings: Settings, /, **options: Any) -> None:
    """Replace a server's name, hostname and backups setting (PUT: all three are required)."""
    _change(settings, replace=True, **options)


@servers.command("patch")
@click.argument("server_id", metavar="ID", type=click.IntRange(min=1))
@click.option("--name", help="The new name.")
@click.option("--hostname", help="The new hostname.")
@_backups_option(required=False)
@OUTPUT_OPTION
@pass_settings
def patch(settings: Settings, /, **options: Any) -> None:
    """Change only the fields given (PATCH); at least one is needed."""
    _change(settings, replace=False, **options)


def _change(
    settings: Settings,
    *,
    server_id: int,
    name: str | None,
    hostname: str | None,
    backups: bool | None,
    output: str,
    replace: bool,
) -> None:
    """Send a PUT (``replace``: click required the name and hostname) or a PATCH; print it."""
    if replace and backups is None:
        raise click.UsageError("Missing option '--backups/--no-backups'.")
    if name is None and hostname is None and backups is None:
        raise click.UsageError("Give at least one of --name, --hostname, --backups/--no-backups.")

    async def main() -> Server:
        async with settings.client() as client:
            if not replace:
                return await client.patch_server(
                    server_id, name=name, hostname=hostname, backups_enabled=backups
                )
            assert name is not None
            assert hostname is not None
            assert backups is not None
            return await client.update_server(
                server_id, name=name, hostname=hostname, backups_enabled=backups
            )

    print_server(run(main()), output=output)


@servers.command("delete")
@SERVER_IDS
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@WAIT_OPTION
@TIMEOUT_OPTION
@OUTPUT_OPTION
@pass_settings
def delete(
    settings: Settings,
    server_ids: tuple[int, ...],
    yes: bool,
    wait: bool,
    timeout: float,
    output: str,
) -> None:
    """Delete servers permanently. Asks first unless --yes (required without a terminal)."""
    ids = list(dict.fromkeys(server_ids))
    listed = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
    ask(f"Delete {count(len(ids), 'server')} ({listed}) permanently?", yes=yes)

    async def one(client: Client, server_id: int, row: dict[str, Any]) -> None:
        await client.delete_server(server_id)
        row.update(status="deleting" if wait else "deleted", message="Server deleted")
        if wait:
            from vpsorg_async import waiters

            await waiters.wait_until_deleted(
                client, server_id, timeout=timeout, poll_interval=settings.poll_interval
            )
            row["status"] = "deleted"

    _act_on_each(settings, ids, one, output=output, waiting="deleted" if wait else None)


def _power_command(action: str, target: str, summary: str) -> click.Command:
    """``servers start|stop|reboot``: the action, then (``--wait``) a wait for ``target``."""

    @click.command(action, help=f"{summary} --wait until {target}.")
    @SERVER_IDS
    @WAIT_OPTION
    @TIMEOUT_OPTION
    @OUTPUT_OPTION
    @pass_settings
    def command(
        settings: Settings, server_ids: tuple[int, ...], wait: bool, timeout: float, output: str
    ) -> None:
        async def one(client: Client, server_id: int, row: dict[str, Any]) -> None:
            result = await getattr(client, f"{action}_server")(server_id)
            row.update(
                name=result.server.name,
                status=str(result.server.status),
                message=result.message,
            )
            if wait:
                from vpsorg_async import waiters

                wait_for = (
                    waiters.wait_until_stopped if target == "stopped" else waiters.wait_until_active
                )
                server = await wait_for(
                    client, server_id, timeout=timeout, poll_interval=settings.poll_interval
                )
                row["status"] = str(server.status)

        ids = list(dict.fromkeys(server_ids))
        _act_on_each(settings, ids, one, output=output, waiting=target if wait else None)

    return command


servers.add_command(_power_command("start", "active", "Power on stopped servers."))
servers.add_command(_power_command("stop", "stopped", "Shut running servers down gracefully."))
servers.add_command(_power_command("reboot", "active", "Restart running servers gracefully."))


def _act_on_each(
    settings: Settings,
    ids: list[int],
    one: Callable[[Client, int, dict[str, Any]], Awaitable[None]],
    *,
    output: str,
    waiting: str | None,
) -> None:
    """Run ``one`` for every id (a few at a time), print a row per server, exit 1 if any failed.

    ``one`` fills in its server's row as it goes (``name``, ``status``, ``message``), so that
    after Ctrl-C the report still says which actions the API had accepted. Each server's failure
    is its own: the others go on.
    """
    rows: dict[int, dict[str, Any]] = {}

    async def guarded(client: Client, limit: asyncio.Semaphore, server_id: int) -> None:
        async with limit:
            row = rows[server_id] = dict.fromkeys(ROW_KEYS)
            row.update(id=server_id, already=False)  # these commands act; the fleet converges
            try:
                await one(client, server_id, row)
            except Exception as exc:  # each server's failure is reported, the others go on
                row.update(ok=False, error=describe(exc))
            else:
                row["ok"] = True

    async def main() -> None:
        limit = asyncio.Semaphore(ACTION_CONCURRENCY)
        async with settings.client() as client:
            note = f"waiting for {count(len(ids), 'server')} to be {waiting}" if waiting else None
            with _waiting(settings, note):
                async with asyncio.TaskGroup() as group:
                    for server_id in ids:
                        group.create_task(guarded(client, limit, server_id))

    def report() -> None:
        started = [
            row
            for i in ids
            if (row := rows.get(i)) is not None and (row["status"] or row["ok"] is False)
        ]
        if output == "json":
            emit_json(started)
        else:
            console = out_console()
            for row in started:
                if row["ok"] is False:
                    continue
                name = f" ({row['name']})" if row["name"] else ""
                text = row["status"] if waiting else row["message"]
                if row["ok"] is None:
                    text = f"{row['status']} (interrupted before it was {waiting})"
                console.print(f"server {row['id']}{name}: {text}", markup=False, highlight=False)
        for row in started:
            if row["ok"] is False:
                click.echo(f"error: {row['error']}", err=True)

    run(main(), on_interrupt=report)
    report()
    if not all(row["ok"] for row in rows.values()):
        raise click.exceptions.Exit(EXIT_FAILED)


@contextlib.contextmanager
def _waiting(settings: Settings, message: str | None) -> Iterator[None]:
    """A spinner on stderr while waiting, when stderr is a terminal (and not --quiet)."""
    console = err_console()
    if message is None or settings.quiet or not console.is_terminal:
        yield
        return
    with console.status(message):
        yield
