"""The ``vpsorg`` group: global options, and the one place errors become a line and an exit code."""

from __future__ import annotations

import traceback
from typing import Any

import click

from vpsorg_async import BASE_URL_ENV, DEFAULT_BASE_URL, TOKEN_ENV, __version__
from vpsorg_async.waiters import DEFAULT_POLL_INTERVAL

from ._describe import EXIT_INTERRUPTED, describe, exit_code_for
from ._runtime import REDIS_URL_ENV, Settings, request_logging

__all__ = ["cli"]

CONTEXT_SETTINGS: dict[str, Any] = {
    "help_option_names": ["-h", "--help"],
    "max_content_width": 100,
}


class VpsorgGroup(click.Group):
    """A group whose commands never end in a traceback (unless ``--debug``).

    Every library error becomes ``error: <one line>`` on stderr with exit code 1 (2 for input
    refused before sending); Ctrl-C outside a running command becomes exit code 130. (SIGTERM
    while a command runs is :func:`~._runtime.run`'s: exit code 143.)
    """

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, mapping what escapes it to a message and an exit code."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            settings = ctx.find_object(Settings)
            if settings is not None and settings.debug:
                click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo(f"error: {describe(exc)}", err=True)
            raise click.exceptions.Exit(exit_code_for(exc)) from None


@click.group(cls=VpsorgGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    metavar="TOKEN",
    help="API token (prefer the environment variable: arguments show up in `ps`).",
)
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help=f"API base URL [default: {DEFAULT_BASE_URL}].",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Show every request (method, path, status, time)."
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Only the result and errors: no progress, spinners or retry warnings on stderr.",
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.001),
    default=DEFAULT_POLL_INTERVAL,
    show_default=True,
    metavar="SECONDS",
    help="First pause between polls while waiting (it grows up to 15 s).",
)
@click.option(
    "--rate-limit",
    envvar="VPSORG_RATE_LIMIT",
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="PER_SECOND",
    help="Requests per second at most (with --redis: across every process sharing it).",
)
@click.option(
    "--redis",
    "redis_url",
    envvar=REDIS_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help="Share the rate limit and create locks with other processes through this Redis "
    "(redis://host:6379/0; needs the redis extra). Prefer the variable if it holds a password.",
)
@click.option(
    "--redis-namespace",
    envvar="VPSORG_REDIS_NAMESPACE",
    show_envvar=True,
    metavar="NAME",
    help="What the processes sharing one budget call it [default: derived from the token].",
)
@click.version_option(__version__, "--version", prog_name="vpsorg")
@click.pass_context
def cli(
    ctx: click.Context,
    token: str | None,
    base_url: str | None,
    verbose: bool,
    debug: bool,
    quiet: bool,
    poll_interval: float,
    rate_limit: float | None,
    redis_url: str | None,
    redis_namespace: str | None,
) -> None:
    """Manage VPS.org servers: single servers, whole fleets, and a local simulator.

    \b
    Try it without an account:
      vpsorg simulate --port 8080 --token secret &
      export VPSORG_BASE_URL=http://127.0.0.1:8080/api/v1 VPSORG_API_TOKEN=secret
      vpsorg servers list
      vpsorg fleet stop --status active --wait --yes

    Exit codes: 0 done, 1 the API said no or some servers failed, 2 usage error, 130 Ctrl-C,
    143 SIGTERM (after Ctrl-C or SIGTERM, what had been done is printed).
    """
    ctx.obj = Settings(
        token=token,
        base_url=base_url,
        verbose=verbose,
        debug=debug,
        quiet=quiet,
        poll_interval=poll_interval,
        rate_limit=rate_limit,
        redis_url=redis_url,
        redis_namespace=redis_namespace,
    )
    ctx.with_resource(request_logging(verbose=verbose, quiet=quiet))


def _register() -> None:
    from ._demo import demo, simulate
    from ._fleet import fleet
    from ._servers import servers

    cli.add_command(servers)
    cli.add_command(fleet)
    cli.add_command(simulate)
    cli.add_command(demo)


_register()
