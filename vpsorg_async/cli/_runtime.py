"""What every command shares: the global settings, running a coroutine, request logging, questions.

``run`` is the one place a command enters asyncio. Ctrl-C there is handled the asyncio way: in
3.11 ``asyncio.run`` answers SIGINT by cancelling the main task, lets it unwind (every
``async with Client()`` closes, a fleet cancels its in-flight requests), and only then raises
``KeyboardInterrupt``. ``run`` turns that into exit code 130 after calling ``on_interrupt``, which
prints what had been done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from .. import _policy as policy
from .._errors import ConfigurationError
from .._poll import DEFAULT_POLL_INTERVAL
from ._describe import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from .._client import Client

__all__ = [
    "CONFIRM_THRESHOLD",
    "Settings",
    "ask",
    "interactive",
    "pass_settings",
    "request_logging",
    "run",
]

T = TypeVar("T")

#: Fleet start/stop/reboot ask before touching more servers than this (delete always asks).
CONFIRM_THRESHOLD = 10
#: The library's logger: one DEBUG line per request attempt, one WARNING per retry.
LOGGER = "vpsorg_async"


@attrs.frozen
class Settings:
    """The group's global options, handed to every command as ``ctx.obj``.

    The token is kept out of ``repr`` so that no traceback or debug print can show it.
    """

    token: str | None = attrs.field(repr=False)
    base_url: str | None
    verbose: bool = False
    debug: bool = False
    quiet: bool = False
    poll_interval: float = DEFAULT_POLL_INTERVAL

    def client(self, **options: Any) -> Client:
        """A new ``Client`` for these settings (use it as ``async with``).

        Raises:
            ConfigurationError: there is no token (mapped to exit code 2).
        """
        if not self.token:
            raise ConfigurationError(
                f"no API token: pass --token or set {policy.TOKEN_ENV} "
                "(try `vpsorg simulate` for a local API to play with)"
            )
        from .._client import Client  # aiohttp loads here, not for `vpsorg --help`

        return Client(self.token, base_url=self.base_url, **options)


pass_settings = click.make_pass_decorator(Settings)


def interactive() -> bool:
    """Whether a question can be asked: stdin is a terminal. Tests patch this."""
    return sys.stdin.isatty()


def ask(question: str, *, yes: bool) -> None:
    """Ask ``question`` unless ``yes``; a "no" ends the command with exit code 1.

    Raises:
        click.UsageError: stdin is not a terminal and ``--yes`` was not given (exit code 2).
    """
    if yes:
        return
    if not interactive():
        raise click.UsageError(
            f"confirmation needed ({question}) but stdin is not a terminal: pass --yes."
        )
    try:
        confirmed = click.confirm(question, default=False, err=True)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        confirmed = False  # end of input: treat as "no"
    if not confirmed:
        click.echo("Nothing done.", err=True)
        raise click.exceptions.Exit(1)


def run(main: Coroutine[Any, Any, T], *, on_interrupt: Callable[[], None] | None = None) -> T:
    """Run ``main`` in a fresh event loop; on Ctrl-C call ``on_interrupt`` and exit with 130."""
    try:
        return asyncio.run(main)
    except (KeyboardInterrupt, asyncio.CancelledError):
        if on_interrupt is not None:
            on_interrupt()
        click.echo("interrupted: in-flight requests were cancelled", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


class _StderrHandler(logging.Handler):
    """Writes the library's log lines to the *current* ``sys.stderr`` (CliRunner swaps it).

    While a live progress bar is on screen, rich has swapped ``sys.stderr`` for a proxy that prints
    above the bar, so looking the stream up at each line is what keeps the bar intact.
    """

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.started = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.levelno >= logging.WARNING:
                line = f"{record.levelname.lower()}: {message}"
            else:
                line = f"[{time.perf_counter() - self.started:6.2f}s] {message}"
            print(line, file=sys.stderr, flush=True)
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


@contextlib.contextmanager
def request_logging(*, verbose: bool) -> Iterator[None]:
    """Show the library's retries (always) and every request (``verbose``) on stderr."""
    logger = logging.getLogger(LOGGER)
    handler = _StderrHandler(logging.DEBUG if verbose else logging.WARNING)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(handler.level)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
