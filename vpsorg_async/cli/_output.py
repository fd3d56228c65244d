"""Rendering: JSON for scripts, rich tables for people. Nothing here talks to the API.

Consoles are made per call from the *current* ``sys.stdout``/``sys.stderr`` (click's test runner
swaps them). rich decides colour by itself: none unless the stream is a terminal (or the user set
``FORCE_COLOR``). A table written to a pipe gets a fixed wide layout so lines do not wrap at 80.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import click

import vpsorg_async
from vpsorg_async import CreatedServer, Server, ServerDetail, ServerStatus

from ._words import count

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "OUTPUT_OPTION",
    "ROW_KEYS",
    "emit_json",
    "err_console",
    "out_console",
    "plain",
    "print_server",
    "print_servers",
    "to_data",
]

#: The fields, in order, of each server's JSON row in the output of ``servers
#: start|stop|reboot|delete`` and of ``fleet ...``: one shape for scripts to read. ``already``:
#: the server was in the goal state and nothing was done (only a fleet converges so); ``message``:
#: the API's message, or what was found; ``error``: one line, when ``ok`` is false.
ROW_KEYS = ("id", "ok", "name", "status", "already", "message", "error")

#: Width of tables written to something that is not a terminal.
PIPE_WIDTH = 160

#: The ``--output`` option every command with a result shares.
OUTPUT_OPTION = click.option(
    "--output",
    "-o",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people; json (arrays for lists) for scripts and jq.",
)

#: Colours of the stable statuses (a ``ServerStatus`` is a ``str``, so either looks them up).
STATUS_STYLES: dict[str, str] = {"active": "green", "stopped": "red", "suspended": "bold red"}


def out_console() -> Console:
    """A console on the current stdout."""
    from rich.console import Console

    stream = sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False)


def err_console() -> Console:
    """A console on the current stderr (progress, questions, summaries of partial work)."""
    from rich.console import Console

    stream = sys.stderr
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False)


def to_data(value: Any) -> Any:
    """A model (or list of models) as JSON-ready data: datetimes become ISO strings with ``Z``."""
    return vpsorg_async.to_jsonable(value)  # cattrs loads at the first JSON output


def emit_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout; plain text, never colour."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def status_text(status: ServerStatus | str) -> str:
    """A status with rich markup for its colour (transitional states are yellow)."""
    style = STATUS_STYLES.get(str(status))
    if style is None:
        known = isinstance(status, ServerStatus) and status.is_transitional
        style = "yellow" if known else "magenta"
    return f"[{style}]{status}[/]"


def new_table(*columns: str, title: str | None = None) -> Table:
    """A table in the house style: a header rule, no outer box, so it reads well in a pipe too."""
    from rich import box
    from rich.table import Table

    table = Table(*columns, box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False)
    return table


def print_servers(servers: Sequence[Server], *, output: str) -> None:
    """The list of servers as a table (with a count) or a JSON array."""
    if output == "json":
        emit_json(to_data(list(servers)))
        return
    table = new_table("ID", "NAME", "STATUS", "LOCATION", "IP", "PLAN", "OS")
    table.columns[0].justify = "right"
    for s in servers:
        table.add_row(
            str(s.id),
            plain(s.name),
            status_text(s.status),
            plain(s.location),
            s.ip_address or "-",
            plain(s.plan.name),
            plain(s.os.name),
        )
    console = out_console()
    console.print(table)
    console.print(count(len(servers), "server"))


def _detail_rows(server: Server) -> Iterable[tuple[str, str]]:
    yield "id", str(server.id)
    yield "name", plain(server.name)
    yield "hostname", plain(server.hostname or "-")
    yield "status", status_text(server.status)
    yield "location", plain(server.location)
    yield "ip address", server.ip_address or "-"
    plan = server.plan
    yield (
        "plan",
        (f"{plain(plan.name)} ({plan.vcpus} vCPU, {plan.memory} MB RAM, {plan.storage} GB disk)"),
    )
    yield "os", plain(server.os.name)
    if isinstance(server, ServerDetail):
        yield "ipv6 address", server.ipv6_address or "-"
        yield "backups", "on" if server.backups_enabled else "off"
        usage = server.resource_usage
        if usage is not None:
            yield (
                "usage",
                (
                    f"CPU {usage.cpu_percent:.1f}%, RAM {usage.memory_used} MB, "
                    f"disk {usage.disk_used} GB, bandwidth {usage.bandwidth_used} GB"
                ),
            )
    elif isinstance(server, CreatedServer):
        yield "backups", "on" if server.backups_enabled else "off"
    yield "created", server.created_at.isoformat().replace("+00:00", "Z")
    yield "updated", server.updated_at.isoformat().replace("+00:00", "Z")


def print_server(server: Server, *, output: str, note: str | None = None) -> None:
    """One server as a two-column table or a JSON object; ``note`` is printed under the table."""
    if output == "json":
        emit_json(to_data(server))
        return
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for key, value in _detail_rows(server):
        grid.add_row(key, value)
    console = out_console()
    console.print(grid)
    if note:
        console.print(plain(note))


def plain(text: str) -> str:
    """API text made safe to print through rich: a name like ``[red]`` stays literal."""
    from rich.markup import escape

    return escape(text)
