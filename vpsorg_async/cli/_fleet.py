"""``vpsorg fleet start|stop|reboot|delete``: many servers at once, converging, with live progress.

A fleet command runs in three acts: select (ids as given, or one pass over the list with the
filters), confirm (delete always asks; the others ask past :data:`CONFIRM_THRESHOLD` servers), and
act through :mod:`vpsorg_async.fleet` with a progress bar. It ends with a table of the failures
and a one-line summary; exit code 1 when any server failed. Fleet operations converge: stopping a
stopped server succeeds (``already``), so an interrupted command can simply be run again.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import attrs
import click

from vpsorg_async import AuthenticationError, Server
from vpsorg_async.fleet import (
    DEFAULT_CONCURRENCY,
    DEFAULT_FLEET_TIMEOUT,
    FleetAbortedError,
    FleetResult,
    Outcome,
    shard,
)

from . import _words as words
from ._describe import EXIT_FAILED, describe
from ._output import OUTPUT_OPTION, ROW_KEYS, emit_json, err_console, new_table, out_console, plain
from ._progress import FleetProgress, progress_mode
from ._runtime import CONFIRM_THRESHOLD, Settings, ask, pass_settings, run
from ._servers import STATUS_CHOICE

__all__ = ["fleet", "parse_shard", "print_fleet_report", "unfinished_stage"]

#: Set by a Kubernetes Indexed Job in each of its pods: ``--shard auto/N`` reads it.
SHARD_INDEX_ENV = "JOB_COMPLETION_INDEX"

#: How many servers the "what it will touch" preview names before "... and N more".
PREVIEW = 8
#: What each operation does, in the words of a question and of a summary.
VERBS = {"start": "Start", "stop": "Stop", "reboot": "Reboot", "delete": "Permanently delete"}
#: How far a server cut short by Ctrl-C or SIGTERM had come (``FleetAbortedError.stage``): the API
#: accepted its request; its request was in flight; nothing was sent for it.
STAGE_WORDS = {
    "waiting": "requested, not yet confirmed",
    "requesting": "request in flight, answer unknown",
    "queued": "not requested",
}


@attrs.frozen
class Selection:
    """The servers a fleet command will touch: ids, and what is known about them."""

    ids: list[int]
    known: dict[int, Server] = attrs.Factory(dict)

    def preview(self) -> str:
        """``12 web-01 (active), 13 web-02 (stopped), ... and 22 more``."""
        shown = []
        for server_id in self.ids[:PREVIEW]:
            server = self.known.get(server_id)
            shown.append(
                f"{server_id} {server.name} ({server.status})" if server else str(server_id)
            )
        more = len(self.ids) - PREVIEW
        return ", ".join(shown) + (f", ... and {more} more" if more > 0 else "")


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """``--shard I/N`` (or ``auto/N``: I from ``JOB_COMPLETION_INDEX``) as ``(I, N)``.

    Raises:
        click.BadParameter: not ``I/N`` with ``0 <= I < N``, or ``auto`` without the variable.
    """
    if value is None:
        return None
    match = re.fullmatch(r"\s*(auto|\d+)\s*/\s*(\d+)\s*", value)
    if match is None:
        raise click.BadParameter(
            f"{value!r} is not I/N (this worker's shard I of N, from 0) or auto/N",
            param_hint="--shard",
        )
    index_text, count = match.group(1), int(match.group(2))
    if index_text == "auto":
        index_text = os.environ.get(SHARD_INDEX_ENV, "").strip()
        if not index_text.isdigit():
            raise click.BadParameter(
                f"auto/{count} reads {SHARD_INDEX_ENV} (set by a Kubernetes Indexed Job), "
                + ("which is not set" if not index_text else f"which is {index_text!r}"),
                param_hint="--shard",
            )
    index = int(index_text)
    if not 0 <= index < count:
        raise click.BadParameter(
            f"shard {index} of {count}: give I from 0 to N - 1 (N at least 1)",
            param_hint="--shard",
        )
    return index, count


@click.group()
def fleet() -> None:
    """Act on many servers at once: by ids, or by filters.

    \b
    Select servers by IDs, or by --status / --location / --name-prefix (or --all).
    The commands converge: a server already in the target state counts as done,
    so an interrupted command can simply be run again.
    """


def _fleet_command(operation: str, summary: str) -> click.Command:
    @click.command(operation, help=summary)
    @click.argument("server_ids", metavar="[ID]...", nargs=-1, type=click.IntRange(min=1))
    @click.option("--status", type=STATUS_CHOICE, help="Select servers in this status.")
    @click.option("--location", metavar="CODE", help="Select servers in this datacenter.")
    @click.option(
        "--name-prefix", metavar="PREFIX", help="Select servers whose name starts with PREFIX."
    )
    @click.option("--all", "all_", is_flag=True, help="Select every server of the account.")
    @click.option(
        "--concurrency",
        type=click.IntRange(min=1, max=256),
        default=DEFAULT_CONCURRENCY,
        show_default=True,
        help="Requests in flight at once.",
    )
    @click.option("--wait", is_flag=True, help="Wait until every server reaches its new state.")
    @click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_FLEET_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Deadline of the whole operation, waits included.",
    )
    @click.option(
        "--shard",
        "shard_text",
        metavar="I/N",
        help="Act only on this worker's share: shard I (from 0) of N, the same for a given id "
        f"on every machine. auto/N takes I from ${SHARD_INDEX_ENV} (a Kubernetes Indexed Job).",
    )
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    @OUTPUT_OPTION
    @pass_settings
    def command(
        settings: Settings,
        server_ids: tuple[int, ...],
        status: str | None,
        location: str | None,
        name_prefix: str | None,
        all_: bool,
        concurrency: int,
        wait: bool,
        timeout: float,
        shard_text: str | None,
        yes: bool,
        output: str,
    ) -> None:
        sharding = parse_shard(shard_text)
        filtered = status is not None or location is not None or name_prefix is not None
        if server_ids and (filtered or all_):
            raise click.UsageError("Give server IDs or filters (--status, ...), not both.")
        if not server_ids and not filtered and not all_:
            raise click.UsageError(
                "Say which servers: give IDs, a filter (--status, --location, --name-prefix) "
                "or --all."
            )
        if server_ids:
            selection = Selection(list(dict.fromkeys(server_ids)))
        else:
            selection = run(_select(settings, status, location, name_prefix))
        if sharding is not None:
            index, of = sharding
            mine = shard(selection.ids, index=index, count=of)
            if not settings.quiet:
                click.echo(f"shard {index}/{of}: {len(mine)} of {len(selection.ids)}", err=True)
            selection = Selection(mine, selection.known)
        count = len(selection.ids)
        if not count:
            click.echo("No servers match; nothing to do.", err=True)
            if output == "json":
                emit_json([])
            return
        what = words.count(count, "server")
        if not settings.quiet:
            click.echo(f"{operation} {what}: {selection.preview()}", err=True)
        if operation == "delete" or count > CONFIRM_THRESHOLD:
            ask(f"{VERBS[operation]} {what}?", yes=yes)
        result: FleetResult[int] = FleetResult(operation=operation, total=count)
        console = err_console()
        mode = progress_mode(quiet=settings.quiet, console=console)
        progress = FleetProgress(operation, count, mode=mode, console=console)

        async def act() -> None:
            from vpsorg_async import (
                fleet as fleet_ops,  # aiohttp loads here, not for `vpsorg --help`
            )

            call = getattr(fleet_ops, operation)
            processes = sharding[1] if sharding else None
            async with settings.client(expected_processes=processes) as client:
                with progress:
                    await call(
                        client,
                        selection.ids,
                        concurrency=concurrency,
                        wait=wait,
                        timeout=timeout,
                        poll_interval=settings.poll_interval,
                        on_progress=progress,
                        result=result,
                    )

        def interrupted() -> None:
            print_fleet_report(result, selection, progress.elapsed, output=output, interrupted=True)

        run(act(), on_interrupt=interrupted)
        refused = _token_refused(result)
        if refused is not None:  # one line, as when the listing of --all is refused
            raise refused
        print_fleet_report(result, selection, progress.elapsed, output=output)
        if not result.ok:
            raise click.exceptions.Exit(EXIT_FAILED)

    return command


fleet.add_command(_fleet_command("start", "Start servers (already active ones count as done)."))
fleet.add_command(_fleet_command("stop", "Stop servers gracefully (stopped ones count as done)."))
fleet.add_command(_fleet_command("reboot", "Reboot running servers (stopped ones fail)."))
fleet.add_command(_fleet_command("delete", "Delete servers permanently; always asks unless --yes."))


async def _select(
    settings: Settings, status: str | None, location: str | None, name_prefix: str | None
) -> Selection:
    """One pass over the list with the API's filters, then the name prefix."""
    known: dict[int, Server] = {}
    async with settings.client() as client:
        async for server in client.iter_servers(status=status, location=location):
            if name_prefix is None or server.name.startswith(name_prefix):
                known[server.id] = server
    return Selection(list(known), known)


def _token_refused(result: FleetResult[Any]) -> AuthenticationError | None:
    """The API's refusal of the token, when it is why every server failed: a wrong token fails
    them all alike, and a row per server would repeat one line N times."""
    errors = [outcome.error for outcome in result.outcomes.values()]
    first = errors[0] if errors else None
    if isinstance(first, AuthenticationError) and all(
        isinstance(e, AuthenticationError) for e in errors
    ):
        return first
    return None


def unfinished_stage(outcome: Outcome[Any] | None) -> str | None:
    """How far an input that Ctrl-C or SIGTERM cut short had come; None when it had finished.

    The stage is the cancelled outcome's :attr:`FleetAbortedError.stage` (which the JSON output's
    ``error`` names too); an input without an outcome was never picked up: ``queued``.
    """
    if outcome is None:
        return "queued"
    error = outcome.error
    if isinstance(error, FleetAbortedError) and error.reason == "cancelled":
        return error.stage
    return None


def outcome_data(
    outcome: Outcome[Any], operation: str, known: Mapping[Any, Server] | None = None
) -> dict[str, Any]:
    """One outcome of ``operation`` as JSON-ready data; ``known`` supplies names it lacks."""
    server = outcome.server
    listed = (known or {}).get(outcome.key)
    row: dict[str, Any] = dict.fromkeys(ROW_KEYS)  # the fields of the servers commands' rows
    row.update(
        id=server.id if server is not None else outcome.key,
        ok=outcome.ok,
        name=server.name if server is not None else listed.name if listed else None,
        status=str(server.status) if server is not None else None,
        already=outcome.already,
        message=f"already {_state_word(operation)}" if outcome.already else None,
        error=describe(outcome.error) if outcome.error is not None else None,
    )
    return row


def print_fleet_report(
    result: FleetResult[Any],
    selection: Selection,
    elapsed: float,
    *,
    output: str,
    interrupted: bool = False,
) -> None:
    """The failures (a table, or every outcome as JSON) and a one-line summary.

    After Ctrl-C or SIGTERM the servers that were not finished are not failures: the summary
    counts them by how far they had come (the stage that the JSON's ``error`` names too), and
    stderr lists their ids by stage. Running the same command again finishes them.
    """
    keys, known = selection.ids, selection.known
    outcomes = [result.outcomes[k] for k in keys if k in result.outcomes]
    if output == "json":
        emit_json([outcome_data(o, result.operation, known) for o in outcomes])
    unfinished = _unfinished_by_stage(result, keys)
    failed = [o for o in outcomes if not o.ok and unfinished_stage(o) is None]
    ok = [o for o in outcomes if o.ok]
    already = sum(1 for o in ok if o.already)
    console = out_console() if output != "json" else err_console()
    if failed and output != "json":
        table = new_table("SERVER", "NAME", "REASON", title=f"{len(failed)} failed")
        for o in failed:
            data = outcome_data(o, result.operation, known)
            table.add_row(str(o.key), plain(data["name"] or "-"), plain(data["error"] or "-"))
        console.print(table)
    line = f"{result.operation}: {len(ok)} ok"
    if already:
        line += f" ({already} already {_state_word(result.operation)})"
    line += f", {len(failed)} failed"
    if interrupted:
        line += f", {_unfinished_counts(unfinished)}"
    line += f" of {result.total} in {elapsed:.1f} s"
    console.print(line, markup=False, highlight=False, soft_wrap=True)  # one line, even in a pipe
    if interrupted and unfinished:
        for stage, ids in unfinished.items():
            click.echo(f"{_stage_words(stage)}: {_id_list(ids)}.", err=True)
        click.echo("Run the same command again to finish.", err=True)


def _unfinished_by_stage(result: FleetResult[Any], keys: list[Any]) -> dict[str, list[Any]]:
    """The unfinished inputs by stage, in :data:`STAGE_WORDS` order; no empty stage."""
    by_stage: dict[str, list[Any]] = {stage: [] for stage in STAGE_WORDS}
    for key in keys:
        stage = unfinished_stage(result.outcomes.get(key))
        if stage is not None:
            by_stage.setdefault(stage, []).append(key)
    return {stage: ids for stage, ids in by_stage.items() if ids}


def _unfinished_counts(unfinished: dict[str, list[Any]]) -> str:
    """``3 not finished (interrupted: 2 requested, not yet confirmed; 1 not requested)``."""
    total = sum(map(len, unfinished.values()))
    stages = "; ".join(f"{len(ids)} {_stage_words(stage)}" for stage, ids in unfinished.items())
    return f"{total} not finished (interrupted{': ' + stages if stages else ''})"


def _stage_words(stage: str) -> str:
    return STAGE_WORDS.get(stage, f"stage {stage}")


def _id_list(keys: list[Any]) -> str:
    """The first 20 ids, then how many there are in all."""
    ids = ", ".join(str(k) for k in keys[:20])
    return ids if len(keys) <= 20 else f"{ids}, ... ({len(keys)} in all)"


def _state_word(operation: str) -> str:
    return {"start": "active", "stop": "stopped", "reboot": "active", "delete": "gone"}.get(
        operation, "there"
    )
