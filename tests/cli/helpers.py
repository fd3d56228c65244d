"""Helpers of the CLI tests: a simulator on its own thread, and a runner wired to it.

The commands call ``asyncio.run`` themselves, so the simulator cannot share the test's event loop:
it runs in a background thread with a loop of its own. Tests reach into it only through
:meth:`ThreadedSimulator.call`, which runs a function on that loop's thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from vpsorg_async.cli._app import cli
from vpsorg_async.testing import Delays, Simulator

T = TypeVar("T")

TOKEN = "cli-test-token-5f8d2c"  # distinctive, so a test can prove it never shows up
#: Transitions fast enough for a quick suite, slow enough to be observed in flight.
FAST = Delays(provision=(0.02, 0.05), start=(0.02, 0.05), stop=(0.02, 0.05), reboot=(0.02, 0.05))


class ThreadedSimulator:
    """A running :class:`Simulator` on a background thread with its own event loop."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.sim: Simulator

    def start(self) -> None:
        """Start the loop's thread and the simulator on it."""
        self._thread.start()

        async def up() -> Simulator:
            sim = Simulator(token=TOKEN, **self._options)
            await sim.start()
            return sim

        self.sim = asyncio.run_coroutine_threadsafe(up(), self._loop).result(timeout=10)

    def stop(self) -> None:
        """Close the simulator, stop the loop and join the thread."""
        asyncio.run_coroutine_threadsafe(self.sim.close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    @property
    def url(self) -> str:
        """The base URL for ``--base-url``."""
        return self.sim.url

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the simulator's thread and return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def invoke() -> None:
            try:
                future.set_result(fn(*args))
            except Exception as exc:  # pragma: no cover - a broken test helper
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(invoke)
        return future.result(timeout=10)

    def servers(self) -> list[dict[str, Any]]:
        """Every server's detail, as of now."""
        return self.call(lambda: self.sim.servers)

    def add(self, **fields: Any) -> int:
        """Add a server directly; return its id."""
        detail = self.call(lambda: self.sim.add_server(**fields))
        return int(detail["id"])

    def settle(self, server_id: int, status: str, timeout: float = 5.0) -> None:
        """Wait (for real, briefly) until the server is in ``status``."""
        deadline = time.monotonic() + timeout
        while (self.call(lambda: self.sim.get(server_id)) or {}).get("status") != status:
            assert time.monotonic() < deadline, f"server {server_id} never became {status}"
            time.sleep(0.01)

    def requests(self, endpoint: str | None = None) -> int:
        """Requests the simulator answered, to ``endpoint`` or in all."""
        return self.call(lambda: self.sim.ledger.count(endpoint))


class Vpsorg:
    """Invokes ``vpsorg`` in-process against a simulator, like a user with the env vars set."""

    def __init__(self, sim: ThreadedSimulator | None, monkeypatch: pytest.MonkeyPatch) -> None:
        self.runner = CliRunner()
        self.env = {"VPSORG_API_TOKEN": TOKEN, "VPSORG_BASE_URL": sim.url if sim else None}
        for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS"):
            monkeypatch.delenv(name, raising=False)

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        """Run ``vpsorg ARGS``; the result has ``exit_code``, ``stdout`` and ``stderr``.

        Every call also checks that the token shows up in no output at all.
        """
        result = self.runner.invoke(
            cli, list(args), input=input, env={**self.env, **(env or {})}, catch_exceptions=False
        )
        assert_no_token(result.stdout, result.stderr)
        return result


def assert_no_token(*texts: str | bytes) -> None:
    """Fail if the test token appears anywhere in ``texts``."""
    for text in texts:
        blob = text.decode() if isinstance(text, bytes) else text
        assert TOKEN not in blob


def interrupt_when(ready: Callable[[], bool], *, settle: float = 0.1) -> threading.Thread:
    """Send this process a real SIGINT once ``ready()`` holds (checked every 10 ms, up to 10 s).

    The command under test runs on the main thread, where ``asyncio.run`` turns SIGINT into
    cancelling its main task, exactly as Ctrl-C at a terminal does.
    """
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")

    def watch() -> None:
        deadline = time.monotonic() + 10
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(settle)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread
