"""The one serving loop behind ``vpsorg simulate`` and ``python -m vpsorg_async.testing``.

:func:`serve` runs a :class:`Simulator` until cancelled and says how to reach it;
:func:`run_forever` owns the event loop around it, so that Ctrl+C and SIGTERM stop both
commands the same way: the simulator closes, ``simulator stopped`` goes to stderr, and the
function returns normally (exit code 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator, Mapping
from typing import Any, TextIO

from .._config import is_loopback  # the client's own rule: what it will talk plain http to
from ._faults import Faults
from ._server import Simulator
from ._timing import Delays

__all__ = ["announce", "is_loopback", "run_forever", "serve"]


async def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    servers: int = 20,
    seed: int = 0,
    delays: Delays | None = None,
    faults: Faults | None = None,
    balance: float | None = None,
    page_size: int | None = None,
    out: TextIO | None = None,
) -> None:
    """Run a simulator until cancelled, printing how to reach it.

    The first line is ``url=<base URL> token=<token>`` so a parent process can read it.

    Raises:
        OSError: the address cannot be bound.
    """
    out = out or sys.stdout
    simulator = Simulator(
        token=token,
        host=host,
        port=port,
        servers=servers,
        seed=seed,
        delays=delays,
        faults=faults,
        balance=balance,
        page_size=page_size,
    )
    async with simulator:
        announce(
            url=simulator.url,
            token=simulator.token,
            host=host,
            servers=servers,
            out=out,
            err=sys.stderr,
        )
        await asyncio.Event().wait()  # until cancelled


def announce(*, url: str, token: str, host: str, servers: int, out: TextIO, err: TextIO) -> None:
    """Print how to reach the simulator; warn on ``err`` if it is reachable from outside."""
    print(f"url={url} token={token}", file=out, flush=True)
    if is_loopback(host):
        print(f"Bound to {host} (loopback only): not reachable from other machines.", file=out)
    else:
        print(
            f"WARNING: bound to {host}, which is not loopback: anyone who can reach this "
            "machine can use the simulator with the token above.",
            file=err,
            flush=True,
        )
    print(f"Point a client at it: VPSORG_BASE_URL={url} VPSORG_API_TOKEN={token}", file=out)
    print(
        f"Simulating the VPS.org Servers API with {servers} servers; "
        "admin routes under /_sim/ (ledger, reset-ledger, faults, state). Ctrl+C to stop.",
        file=out,
        flush=True,
    )


def run_forever(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    token: str | None = None,
    servers: int = 20,
    seed: int = 0,
    page_size: int | None = None,
    balance: float | None = None,
    delay_scale: float = 1.0,
    faults: Faults | Mapping[str, Any] | None = None,
) -> None:
    """Serve until Ctrl+C or SIGTERM, print ``simulator stopped`` on stderr, and return.

    What ``vpsorg simulate`` and ``python -m vpsorg_async.testing`` both run. Every argument
    can be JSON (``faults`` as :meth:`Faults.to_dict` writes it), so a harness can pass them
    through a command line. Transition delays are the defaults times ``delay_scale``.

    Raises:
        ValueError: invalid faults or delay scale, before anything is bound.
        OSError: the address cannot be bound.
    """
    delays = Delays().scaled(delay_scale)
    if faults is None or isinstance(faults, Faults):
        fault_config = faults
    else:
        fault_config = Faults.from_dict(faults)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        with _sigterm_cancels(task):
            await serve(
                host=host,
                port=port,
                token=token,
                servers=servers,
                seed=seed,
                delays=delays,
                faults=fault_config,
                balance=balance,
                page_size=page_size,
            )

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):  # Ctrl+C and SIGTERM: a normal stop
        print("simulator stopped", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _sigterm_cancels(task: asyncio.Task[None]) -> Iterator[None]:
    """While inside, SIGTERM cancels ``task`` as Ctrl+C does; on the way out, the old handler.

    Only the first SIGTERM cancels: a second one must not cut the simulator's close short.
    Where the loop takes no signal handlers (Windows, a thread other than the main one),
    SIGTERM keeps its default meaning.
    """
    loop = task.get_loop()
    previous = signal.getsignal(signal.SIGTERM)
    cancelled = False

    def cancel_once() -> None:
        nonlocal cancelled
        if not cancelled:
            cancelled = True
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, cancel_once)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX main
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGTERM)  # that leaves SIG_DFL: put back what was there
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
