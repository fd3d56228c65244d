"""Fixtures of the CLI tests: ``sim`` (a simulator on a background thread) and ``vpsorg``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import FAST, ThreadedSimulator, Vpsorg


def simulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Options from ``@pytest.mark.sim(...)``, over fast delays and no pre-made servers."""
    options: dict[str, Any] = {"delays": FAST, "servers": 0}
    marker = request.node.get_closest_marker("sim")
    if marker is not None:
        options.update(marker.kwargs)
    return options


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``sim`` marker."""
    config.addinivalue_line("markers", "sim(**options): Simulator options for the `sim` fixture")


@pytest.fixture
def sim(request: pytest.FixtureRequest) -> Iterator[ThreadedSimulator]:
    """A simulator on a background thread, stopped after the test."""
    threaded = ThreadedSimulator(**simulator_options(request))
    threaded.start()
    try:
        yield threaded
    finally:
        threaded.stop()


@pytest.fixture
def vpsorg(sim: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch) -> Vpsorg:
    """``vpsorg(...)``: the CLI against the ``sim`` fixture's simulator."""
    return Vpsorg(sim, monkeypatch)
