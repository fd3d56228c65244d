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
from typing import Any, TextIO, TypedDict, Unpack

from .._config import is_loopback  # the client's own rule: what it will talk plain http to
from .._keywords import given, spelled_out
from ._faults import Faults
from ._server import Simulator
from ._timing import Delays

__all__ = ["announce", "is_loopback", "run_forever", "serve"]


class Served(TypedDict, total=False):
    """What :func:`serve` and :func:`run_forever` hand to :class:`Simulator` (see there)."""

    host: str
    port: int
    token: str | None
    servers: int
    seed: int
    balance: float | None
    page_size: int | None


#: A served simulator's defaults: a fixed port and a small fleet, unlike a test's ``Simulator()``.
SERVED: Mapping[str, Any] = {
    "host": "127.0.0.1",
    "port": 8080,
    "token": None,
    "servers": 20,
    "seed": 0,
    "balance": None,
    "page_size": None,
}


@spelled_out(Served, SERVED)
async def serve(
    *,
    delays: Delays | None = None,
    faults: Faults | None = None,
    out: TextIO | None = None,
    **served: Unpack[Served],
) -> None:
    """Run a simulator until cancelled, printing how to reach it.

    The first line is ``url=<base URL> token=<token>`` so a parent process can read it. The
    other arguments are :class:`Simulator`'s.

    Raises:
        OSError: the address cannot be bound.
    """
    settings = given("serve", served, SERVED)
    simulator = Simulator(delays=delays, faults=faults, **settings)
    async with simulator:
        announce(
            url=simulator.url,
            token=simulator.token,
            host=simulator.host,
            servers=settings["servers"],
            out=out or sys.stdout,
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


@spelled_out(Served, SERVED)
def run_forever(
    *,
    delay_scale: float = 1.0,
    faults: Faults | Mapping[str, Any] | None = None,
    **served: Unpack[Served],
) -> None:
    """Serve until Ctrl+C or SIGTERM, print ``simulator stopped`` on stderr, and return.

    What ``vpsorg simulate`` and ``python -m vpsorg_async.testing`` both run. Every argument
    can be JSON (``faults`` as :meth:`Faults.to_dict` writes it), so a harness can pass them
    through a command line. Transition delays are the defaults times ``delay_scale``.

    Raises:
        ValueError: invalid faults or delay scale, before anything is bound.
        OSError: the address cannot be bound.
    """
    given("run_forever", served, SERVED)  # an unknown keyword fails here, before any binding
    delays = Delays().scaled(delay_scale)
    if faults is None or isinstance(faults, Faults):
        fault_config = faults
    else:
        fault_config = Faults.from_dict(faults)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        with _sigterm_cancels(task):
            await serve(delays=delays, faults=fault_config, **served)

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
