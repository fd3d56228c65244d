"""What every command shares: the global settings, running a coroutine, request logging, questions.

``run`` is the one place a command enters asyncio. Ctrl-C there is handled the asyncio way: in
3.11 ``asyncio.run`` answers SIGINT by cancelling the main task, lets it unwind (every
``async with Client()`` closes, a fleet cancels its in-flight requests), and only then raises
``KeyboardInterrupt``. SIGTERM gets the same treatment (:func:`sigterm_cancels`): it cancels the
main task. ``run`` turns either into its exit code (130 for Ctrl-C, 143 for SIGTERM) after calling
``on_interrupt``, which prints what had been done.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

from vpsorg_async import TOKEN_ENV, ConfigurationError, Events, ResponseEvent
from vpsorg_async.waiters import DEFAULT_POLL_INTERVAL

from ._describe import EXIT_INTERRUPTED, EXIT_TERMINATED

if TYPE_CHECKING:
    from vpsorg_async import Client
    from vpsorg_async.redis import RedisCoordinator

__all__ = [
    "CONFIRM_THRESHOLD",
    "REDIS_URL_ENV",
    "Settings",
    "Termination",
    "ask",
    "interactive",
    "pass_settings",
    "request_lines",
    "request_logging",
    "run",
    "sigterm_cancels",
]

T = TypeVar("T")

#: Fleet start/stop/reboot ask before touching more servers than this (delete always asks).
CONFIRM_THRESHOLD = 10
#: The library's logger; its children are ``.http`` (an INFO line per retry, throttled),
#: ``.waiters``, ``.fleet`` and ``.events``.
LOGGER = "vpsorg_async"
#: The child that tells of retries: shown unless ``--quiet``.
HTTP_LOGGER = "vpsorg_async.http"
#: Where ``--redis`` is read from when not given.
REDIS_URL_ENV = "VPSORG_REDIS_URL"


@attrs.frozen
class Settings:
    """The group's global options, handed to every command as ``ctx.obj``.

    The token and the Redis URL (which may hold a password) are kept out of ``repr`` so that no
    traceback or debug print can show them.
    """

    token: str | None = attrs.field(repr=False)
    base_url: str | None
    verbose: bool = False
    debug: bool = False
    quiet: bool = False
    poll_interval: float = DEFAULT_POLL_INTERVAL
    rate_limit: float | None = None
    redis_url: str | None = attrs.field(default=None, repr=False)
    redis_namespace: str | None = None

    def events(self) -> Events | None:
        """The client's hooks for these settings: a line per request with ``--verbose``."""
        return Events(on_response=request_lines()) if self.verbose else None

    @contextlib.asynccontextmanager
    async def client(
        self, *, expected_processes: int | None = None, **options: Any
    ) -> AsyncIterator[Client]:
        """A new ``Client`` for these settings, open for the ``async with`` block; with
        ``--redis``, one that shares its pace and create locks with every process of the
        namespace (``expected_processes`` of them, when known: ``--shard``'s count), whose
        Redis connection is closed with it.

        Raises:
            ConfigurationError: there is no token (mapped to exit code 2), ``--redis`` without
                the redis package, or a Redis that cannot be reached.
        """
        if not self.token:
            raise ConfigurationError(
                f"no API token: pass --token or set {TOKEN_ENV} "
                "(try `vpsorg simulate` for a local API to play with)"
            )
        from vpsorg_async import Client  # aiohttp loads here, not for `vpsorg --help`

        coordinator = self._coordinator(self.token, expected_processes) if self.redis_url else None
        try:
            async with Client(
                self.token,
                base_url=self.base_url,
                rate_limit=self.rate_limit,
                coordinator=coordinator,
                events=self.events(),
                **options,
            ) as client:
                yield client
        finally:
            if coordinator is not None:
                await coordinator.aclose()

    def _coordinator(self, token: str, expected_processes: int | None) -> RedisCoordinator:
        """The ``RedisCoordinator`` of ``--redis``; redis is imported only when it is asked for."""
        try:
            from vpsorg_async.redis import RedisCoordinator
        except ImportError:
            raise ConfigurationError(
                "--redis needs the redis package: pip install 'vpsorg-async[redis]'"
            ) from None
        # By default every process with the same token shares one budget: the provider counts
        # per token. A short hash names it; the token itself never reaches Redis.
        namespace = self.redis_namespace or (
            "token-" + hashlib.blake2b(token.encode(), digest_size=8).hexdigest()
        )
        extra = {"expected_processes": expected_processes} if expected_processes else {}
        assert self.redis_url is not None
        return RedisCoordinator.from_url(self.redis_url, namespace=namespace, **extra)


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


@attrs.define
class Termination:
    """Whether SIGTERM arrived while :func:`sigterm_cancels` was in force."""

    received: bool = False


@contextlib.contextmanager
def sigterm_cancels(task: asyncio.Task[Any]) -> Iterator[Termination]:
    """While inside, SIGTERM cancels ``task``, as ``asyncio.run`` does on Ctrl-C; then restore.

    The handler goes through ``loop.add_signal_handler``, so it runs on the event loop, between
    two steps of the task, never in the middle of one. On the way out the handler that was
    there before (usually the default: terminate) is put back. Where the loop cannot take signal
    handlers (Windows, a thread other than the main one) nothing changes. Only the first SIGTERM
    cancels: the task then closes its clients, and a second cancel would interrupt that.
    """
    loop = task.get_loop()
    termination = Termination()

    def terminate() -> None:
        if not termination.received:  # a second SIGTERM must not cut the unwinding short
            termination.received = True
            task.cancel()

    previous = signal.getsignal(signal.SIGTERM)
    try:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not on POSIX main
        yield termination
        return
    try:
        yield termination
    finally:
        loop.remove_signal_handler(signal.SIGTERM)  # leaves SIG_DFL; put back what was there
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def run(main: Coroutine[Any, Any, T], *, on_interrupt: Callable[[], None] | None = None) -> T:
    """Run ``main`` in a fresh event loop; on Ctrl-C or SIGTERM call ``on_interrupt`` and exit.

    The exit code is 130 after Ctrl-C, 143 after SIGTERM: what a shell reports for a process the
    signal killed, so that scripts and service managers read it the same way.
    """
    termination = Termination()

    async def guarded() -> T:
        nonlocal termination
        task = asyncio.current_task()
        assert task is not None
        with sigterm_cancels(task) as termination:
            return await main

    try:
        return asyncio.run(guarded())
    except (KeyboardInterrupt, asyncio.CancelledError):
        if on_interrupt is not None:
            on_interrupt()
        what = "terminated" if termination.received else "interrupted"
        click.echo(f"{what}: in-flight requests were cancelled", err=True)
        code = EXIT_TERMINATED if termination.received else EXIT_INTERRUPTED
        raise click.exceptions.Exit(code) from None


def _stderr(line: str) -> None:
    """Print to the *current* ``sys.stderr`` (CliRunner swaps it; so does rich's live bar,
    with a proxy that prints above the bar: looking the stream up each time keeps it intact)."""
    print(line, file=sys.stderr, flush=True)


def request_lines() -> Callable[[ResponseEvent], None]:
    """An ``on_response`` hook: one timed line per request attempt (``--verbose``)."""
    started = time.perf_counter()

    def show(event: ResponseEvent) -> None:
        if event.status is not None:
            answer = str(event.status)
        elif event.sent:
            answer = f"no answer ({event.error_type})"
        else:
            answer = f"not sent ({event.error_type})"
        _stderr(
            f"[{time.perf_counter() - started:6.2f}s] {event.method} {event.path} -> {answer} "
            f"in {event.elapsed * 1000:.1f} ms (attempt {event.attempt})"
        )

    return show


class _StderrHandler(logging.Handler):
    """Writes the library's log lines to stderr as ``level: message``."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _stderr(f"{record.levelname.lower()}: {record.getMessage()}")
        except Exception:  # pragma: no cover - logging must never break the command
            self.handleError(record)


@contextlib.contextmanager
def request_logging(*, verbose: bool, quiet: bool = False) -> Iterator[None]:
    """Show the library's log on stderr: retries (INFO) and warnings; with ``verbose`` all INFO.

    ``quiet`` keeps only errors (``--verbose`` wins when both are given: it was asked for). The
    requests themselves are shown by a hook (:meth:`Settings.events`), not by this. The logger
    stops propagating meanwhile, so each line is shown once, by this handler. A level already
    set lower (``VPSORG_LOG=debug``) stays: its own handler shows what was asked for.
    """
    logger, http = logging.getLogger(LOGGER), logging.getLogger(HTTP_LOGGER)
    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    retries = logging.ERROR if quiet and not verbose else logging.INFO
    old = (logger.level, logger.propagate, http.level)
    handler = _StderrHandler(min(level, retries))
    logger.addHandler(handler)
    logger.setLevel(min(level, old[0]) if old[0] else level)
    http.setLevel(min(retries, old[0]) if old[0] else retries)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old[0])
        logger.propagate = old[1]
        http.setLevel(old[2])
