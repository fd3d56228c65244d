"""An in-process simulator of the VPS.org Servers API, for tests, demos and benchmarks.

It stands beside the client and never imports it: it speaks plain JSON over HTTP, exactly as
the API document describes, with a lazy server lifecycle, DRF-style errors, seeded faults and
a ledger of everything it saw::

    from vpsorg_async.testing import Faults, Simulator

    async with Simulator(servers=5, faults=Faults(error_rate=0.1)) as sim:
        ...  # point a client at sim.url with sim.token
        assert not sim.ledger.duplicate_creates()

What else is here:

- :class:`ManualClock`, the fake clock for tests. Give the same one to the simulator and to
  the client, and nothing waits for real: the client's backoff, pacing and polling sleep on
  it, which moves it at once, and the simulator's transitions follow it. ``clock.sleeps`` lists
  every delay asked for::

      clock = ManualClock()
      async with (
          Simulator(clock=clock) as sim,
          Client(sim.token, base_url=sim.url, clock=clock, sleep=clock.sleep) as client,
      ):
          await waiters.wait_until_active(client, server_id)  # minutes, in no real time

- :func:`run_forever` and :func:`serve`: the serving loop of ``python -m vpsorg_async.testing``
  and ``vpsorg simulate``; Ctrl+C and SIGTERM stop it cleanly.
- :mod:`vpsorg_async.testing.examples`: the API document's example payloads, for tests and
  fakes that must look like the real API.
- The pytest plugin's ``vpsorg_simulator`` fixture (``vpsorg_async.testing.pytest_plugin``).

Names are imported lazily so that importing the pytest plugin costs nothing until a test
asks for the ``vpsorg_simulator`` fixture.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._faults import Faults
    from ._ledger import Ledger
    from ._serve import run_forever, serve
    from ._server import Simulator
    from ._timing import Delays, ManualClock

__all__ = ["Delays", "Faults", "Ledger", "ManualClock", "Simulator", "run_forever", "serve"]

_HOMES = {
    "Delays": "._timing",
    "Faults": "._faults",
    "Ledger": "._ledger",
    "ManualClock": "._timing",
    "Simulator": "._server",
    "serve": "._serve",
    "run_forever": "._serve",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
