"""pytest plugin: the ``vpsorg_simulator`` fixture, a running :class:`Simulator` per test.

Registered through the ``pytest11`` entry point, so pytest loads it in every run wherever
vpsorg-async is installed. It therefore imports nothing heavy: the simulator (and
``aiohttp.web``) is imported only when a test asks for the fixture. It needs pytest-asyncio;
without it, the fixture fails with a message saying so and the rest of pytest is unaffected.

Options for one test or module go in a marker::

    @pytest.mark.vpsorg_simulator(servers=5, faults=Faults(error_rate=0.2))
    async def test_retries(vpsorg_simulator): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._server import Simulator

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_PYTEST_ASYNCIO = False
else:
    HAVE_PYTEST_ASYNCIO = True

__all__ = ["MARKER", "pytest_configure"]

MARKER = "vpsorg_simulator"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``vpsorg_simulator`` marker (unknown markers are errors under -W error)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): keyword arguments for the Simulator of the {MARKER} fixture "
        "(servers=, seed=, delays=, faults=, balance=, page_size=, clock=, token=)",
    )


def simulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The fixture's Simulator options: near-zero delays, then the closest marker's kwargs."""
    from ._timing import Delays

    options: dict[str, Any] = {"delays": Delays.fast()}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if marker.args:
            raise TypeError(f"@pytest.mark.{MARKER} takes keyword arguments only")
        options.update(marker.kwargs)
    return options


async def _vpsorg_simulator(request: pytest.FixtureRequest) -> AsyncIterator[Simulator]:
    """A running VPS.org API simulator: ``.url``, ``.token``, ``.ledger``, helpers.

    Delays are 10-30 ms; set options with ``@pytest.mark.vpsorg_simulator(...)``.
    """
    from ._server import Simulator

    async with Simulator(**simulator_options(request)) as simulator:
        yield simulator


if HAVE_PYTEST_ASYNCIO:
    vpsorg_simulator = pytest_asyncio.fixture(_vpsorg_simulator, name="vpsorg_simulator")
else:  # pragma: no cover - depends on the environment

    @pytest.fixture(name="vpsorg_simulator")
    def _no_pytest_asyncio() -> None:
        """Stands in for the real fixture when pytest-asyncio is missing."""
        pytest.fail(
            "the vpsorg_simulator fixture needs pytest-asyncio (pip install pytest-asyncio)"
        )
