"""Fixtures: a simulator on a manual clock with fixed delays, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from vpsorg_async.testing import Delays, ManualClock, Simulator

from .helpers import Api

# Fixed delays, so advancing the manual clock by these amounts finishes a transition.
PROVISION = 2.0
ACTION = 1.0
FIXED_DELAYS = Delays(
    provision=(PROVISION, PROVISION),
    start=(ACTION, ACTION),
    stop=(ACTION, ACTION),
    reboot=(ACTION, ACTION),
)


@pytest.fixture
def clock() -> ManualClock:
    """A clock that moves only when a test says so."""
    return ManualClock(1000.0)


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[Simulator]:
    """A running simulator with the document's two servers (12345 and 12346), both active."""
    async with Simulator(servers=2, clock=clock, delays=FIXED_DELAYS) as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def api(session: aiohttp.ClientSession, sim: Simulator) -> Api:
    """Calls ``sim`` with its token."""
    return Api(session, sim)
