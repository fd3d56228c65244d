"""Where a ``Client.get_server`` call spends its time besides the network (question 1's follow-up).

Run by the per-call benchmark when ``get_server`` misses its target against bare aiohttp, or by
hand after a change to the core::

    python -m benchmarks.call_breakdown            # µs per call, layer by layer
    python -m benchmarks.call_breakdown --profile  # plus cProfile's top functions

The client borrows a stand-in ``aiohttp.ClientSession`` whose ``request()`` answers the API
document's detail example at once, so what is left is the library's own work: the generated
method and ``_invoke``, ``Session.call``/``_attempt``, the pacer, the deadline, JSON and cattrs.
Each layer is priced by swapping it for a no-op and timing both versions in alternating batches
(median of the differences), so slow drifts of a shared machine cancel out. The swaps patch
private names of the core; a layer whose name moved is reported as not found, not guessed. The
figures are not additive (a swap also spares allocations, hence garbage collection); the
"added by the library" line, total minus the floor, is the one to hold against a target.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import itertools
import json
import pstats
import statistics
import sys
import time
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp

from vpsorg_async.testing.examples import DETAIL_RESPONSE

__all__ = ["breakdown", "main"]

SERVER_ID: int = DETAIL_RESPONSE["id"]
_BODY = json.dumps(DETAIL_RESPONSE).encode()


class _Content:
    """The body stream: the whole body as one chunk, however it is read."""

    async def _chunks(self) -> AsyncIterator[bytes]:
        yield _BODY

    def iter_any(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def iter_chunked(self, n: int) -> AsyncIterator[bytes]:
        return self._chunks()

    async def read(self, n: int = -1) -> bytes:
        return _BODY


class _Response:
    status = 200
    content_length = len(_BODY)
    headers: dict[str, str] = {}
    content = _Content()

    async def read(self) -> bytes:
        return _BODY

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _Session:
    """Enough of ``aiohttp.ClientSession`` for ``Session.call``."""

    closed = False
    timeout = aiohttp.ClientTimeout(total=None)

    def request(self, *args: Any, **kwargs: Any) -> _Response:
        return _Response()


async def _per_call_us(call: Callable[[], Awaitable[Any]], n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await call()
    return (time.perf_counter() - started) / n * 1e6


#: The layers priced by a swap; one whose private name moved is reported as not found.
LAYERS = (
    "attempt deadline timer",
    "msgspec decode into ServerDetail",
    "backoff generator per call",
    "pacer's turn",
    "connection slot gate",
    "body size check",
)


def _swaps(client: Any) -> dict[str, tuple[Any, str, Any]]:
    """Layer -> (object, attribute, no-op replacement), for the layers that can be found."""
    from vpsorg_async import ServerDetail, _session
    from vpsorg_async._convert import decode

    decoded = decode(DETAIL_RESPONSE, ServerDetail)

    async def no_turn(deadline: float) -> None:
        return None

    def always_plain(resp: Any, row: Any, path: str, max_body: int) -> bool:
        return True

    no_timers = types.SimpleNamespace(
        enter=lambda task, remaining: None,
        leave=lambda task, bucket: None,
        expired=lambda task, bucket: False,
        close=lambda: None,
    )
    candidates: dict[str, tuple[Any, str, Any]] = {
        "attempt deadline timer": (client._session, "_timers", no_timers),
        "msgspec decode into ServerDetail": (
            _session,
            "decode_json",
            lambda body, cls, **kw: decoded,
        ),
        "backoff generator per call": (
            _session,
            "backoff",
            types.SimpleNamespace(expo=lambda **kw: itertools.repeat(1.0), full_jitter=float),
        ),
        "pacer's turn": (client._session._pacer, "wait_turn", no_turn),
        "connection slot gate": (type(client._session._slots), "take_now", lambda self: True),
        "body size check": (_session, "plain_body", always_plain),
    }
    assert set(candidates) == set(LAYERS)
    return {k: v for k, v in candidates.items() if hasattr(v[0], v[1])}


async def _breakdown(rounds: int, batch: int, profile: bool) -> dict[str, Any]:
    from vpsorg_async import Client
    from vpsorg_async._endpoints import ENDPOINTS

    client = Client("bench", base_url="http://127.0.0.1:9/api/v1", session=_Session())  # type: ignore[arg-type]
    session = client._session
    row = ENDPOINTS["get_server"]

    async def full() -> None:
        await client.get_server(SERVER_ID)

    async def direct() -> None:
        await session.call(row, path_params={"server_id": SERVER_ID})

    fake_http = _Session()

    async def floor() -> None:  # the thinnest use of the same stand-in: what bare aiohttp does
        async with fake_http.request("GET", "http://127.0.0.1:9/") as resp:
            json.loads(await resp.read())

    swaps = _swaps(client)
    for _ in range(3):
        await _per_call_us(full, batch)
    base: list[float] = []
    floors: list[float] = []
    wrapper: list[float] = []
    saved: dict[str, list[float]] = {name: [] for name in swaps}
    for _ in range(rounds):
        with_all = await _per_call_us(full, batch)
        base.append(with_all)
        floors.append(await _per_call_us(floor, batch))
        wrapper.append(with_all - await _per_call_us(direct, batch))
        for name, (owner, attr, stand_in) in swaps.items():
            real = vars(owner).get(attr, getattr(owner, attr))  # keeps a staticmethod wrapper
            setattr(owner, attr, stand_in)
            try:
                without = await _per_call_us(full, batch)
            finally:
                setattr(owner, attr, real)
            saved[name].append(await _per_call_us(full, batch) - without)
    layers = {"generated method + Client._invoke": statistics.median(wrapper)}
    layers.update({name: statistics.median(v) for name, v in saved.items()})
    result: dict[str, Any] = {
        "us_per_call_without_network": statistics.median(base),
        "floor_us": statistics.median(floors),
        "overhead_us": statistics.median(b - f for b, f in zip(base, floors, strict=True)),
        "layers_us": layers,
        "not_found": sorted(set(LAYERS) - set(swaps)),
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await _per_call_us(full, 20 * batch)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(25)
        result["profile"] = text.getvalue()
    await client.aclose()
    return result


def breakdown(rounds: int = 25, batch: int = 300, profile: bool = False) -> dict[str, Any]:
    """Client-process entry point: the per-layer cost of one ``get_server`` without network."""
    return asyncio.run(_breakdown(rounds, batch, profile))


def markdown(result: dict[str, Any]) -> str:
    """The breakdown as a short table (for the per-call section of the report)."""
    from ._harness import markdown_table

    rows = [[name, f"{us:.1f}"] for name, us in result["layers_us"].items()]
    rows += [
        ["**Client.get_server, no network**", f"{result['us_per_call_without_network']:.1f}"],
        [
            "floor: stand-in request + json.loads (what bare aiohttp does)",
            f"{result['floor_us']:.1f}",
        ],
        ["**added by the library** (total - floor)", f"{result['overhead_us']:.1f}"],
    ]
    text = markdown_table(["layer of Client.get_server", "µs per call"], rows)
    if result["not_found"]:
        text += f"\n\nLayers not found in the core (renamed?): {', '.join(result['not_found'])}."
    return text


def main(argv: list[str] | None = None) -> None:
    """Print the breakdown (and with ``--profile`` cProfile's top functions)."""
    args = sys.argv[1:] if argv is None else argv
    result = breakdown(profile="--profile" in args)
    print(markdown(result))
    if "profile" in result:
        print("\n" + result["profile"])


if __name__ == "__main__":
    main()
