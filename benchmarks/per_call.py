"""Question 1: what does one call cost through ``Client`` compared with the HTTP library under it?

The same ``GET /api/v1/servers/{id}/`` (the API document's detail example as the body) is served by
a minimal ``aiohttp.web`` server in its own process, and fetched by three clients in one client
process, in alternating rounds:

- (a) bare ``aiohttp.ClientSession.get(...)`` + ``.json()``: the physical limit for this stack;
- (b) ``Client.get_server``: validation, retries/deadline machinery and decoding into models;
- (c) ``httpx.AsyncClient.get(...)`` + ``.json()``: what many generated clients are built on.

Each round runs a fixed number of requests per client at 1 and at 64 requests in flight (the
number is set once, in the warm-up, so that each client's round lasts about the same time);
ratios (b/a, b/c) are taken within a round, then their median is reported, so machine noise that
hits a whole round cancels out. The list endpoint is measured the same way with 100 and 1,000 servers in
the body (bare aiohttp vs ``Client.list_servers``) to price decoding per server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any

from vpsorg_async.testing.examples import DETAIL_RESPONSE, LIST_RESPONSE

from ._harness import ServerProcess, cpu_window, fmt, markdown_table, run_child, stats, target

__all__ = ["markdown", "measure", "run", "serve"]

#: The server of the API document's detail example, whose answer every detail request gets.
SERVER_ID: int = DETAIL_RESPONSE["id"]
TOKEN = "bench-token"
VARIANTS = ("aiohttp", "client", "httpx")


def list_body(count: int) -> dict[str, Any]:
    """A ``{count, results}`` list of ``count`` servers: the document's two list items, repeated."""
    results = []
    for i in range(count):
        item = dict(LIST_RESPONSE["results"][i % 2])
        item["id"] = 12345 + i
        item["name"] = f"{'web' if i % 2 == 0 else 'db'}-server-{i // 2 + 1:02d}"
        results.append(item)
    return {"count": count, "results": results}


# -- the server (its own process) ---------------------------------------------------------------


def serve(port: int = 0) -> None:
    """Serve the detail example and lists of N servers under ``/n{N}/api/v1/servers/``."""
    from aiohttp import web

    detail = json.dumps(DETAIL_RESPONSE).encode()
    lists: dict[int, bytes] = {}

    async def get_detail(request: web.Request) -> web.Response:
        return web.Response(body=detail, content_type="application/json")

    async def get_list(request: web.Request) -> web.Response:
        count = int(request.match_info["count"])
        body = lists.get(count)
        if body is None:
            body = lists[count] = json.dumps(list_body(count)).encode()
        return web.Response(body=body, content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get(r"/api/v1/servers/{server_id:\d+}/", get_detail)
        app.router.add_get(r"/n{count:\d+}/api/v1/servers/", get_list)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"url=http://127.0.0.1:{bound}/api/v1 token={TOKEN}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


# -- the client side (its own process) ----------------------------------------------------------

Call = Callable[[], Awaitable[None]]


async def _timed(call: Call, requests: int, inflight: int) -> tuple[float, float]:
    """Run ``requests`` calls with ``inflight`` workers; return (requests/s, CPU µs per request)."""
    todo = iter(range(requests))

    async def worker() -> None:
        for _ in todo:
            await call()

    cpu0, wall0 = time.process_time(), time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(inflight):
            group.create_task(worker())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return requests / wall, cpu / requests * 1e6


def _per_server_decode(count: int, reps: int) -> dict[str, float]:
    """In-process cost of json.loads and of decoding into models, µs per server (no network)."""
    from vpsorg_async import ServerList
    from vpsorg_async._convert import decode

    raw = json.dumps(list_body(count)).encode()
    data = json.loads(raw)
    loads, models = [], []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            json.loads(raw)
        t1 = time.perf_counter()
        for _ in range(reps):
            decode(data, ServerList)
        t2 = time.perf_counter()
        loads.append((t1 - t0) / reps / count * 1e6)
        models.append((t2 - t1) / reps / count * 1e6)
    return {
        "json_loads_us": stats(loads)["median"],
        "decode_us": stats(models)["median"],
    }


def _detail_decode_us(reps: int) -> float:
    from vpsorg_async import ServerDetail
    from vpsorg_async._convert import decode

    samples = []
    for _ in range(7):
        t0 = time.perf_counter()
        for _ in range(reps):
            decode(DETAIL_RESPONSE, ServerDetail)
        samples.append((time.perf_counter() - t0) / reps * 1e6)
    return stats(samples)["median"]


def _ensure_sniffio() -> str:
    """Make ``import sniffio`` succeed so httpx is measured at its best; say how.

    httpcore 1.0.9 imports ``sniffio`` on every request to tell asyncio from trio. Recent anyio no
    longer depends on sniffio, so in a fresh venv that import fails each time, and a failed import
    scans ``sys.path`` again (about 0.4 ms per request here). That is an accident of packaging, not
    httpx's design; a stand-in that answers "asyncio" keeps the comparison conservative.
    """
    import importlib.util

    if importlib.util.find_spec("sniffio") is not None:
        return "installed"
    stand_in = types.ModuleType("sniffio")
    stand_in.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
    sys.modules["sniffio"] = stand_in
    return "stand-in (not installed; see README)"


async def _rounds(
    calls: dict[str, Call], inflight: int, rounds: int, round_s: float, per_worker: int
) -> dict[str, Any]:
    """Alternate the ``calls`` for ``rounds`` rounds at ``inflight``; per-round figures.

    A warm-up of about one round per call opens connections and fills caches, and sets each
    call's fixed request count so that one of its rounds lasts about ``round_s`` (and has at
    least ``per_worker`` requests per worker, so that a round is more than one wave): slow and
    fast clients then share the same stretches of machine noise.
    """
    names = list(calls)
    sizes = {}
    for name in names:
        batch, spent = max(inflight, 5), 0.0
        while True:  # warm up for about a round; the last batch gives the pace
            t0 = time.perf_counter()
            warm_rps, _ = await _timed(calls[name], batch, inflight)
            spent += time.perf_counter() - t0
            if spent >= round_s:
                break
        sizes[name] = max(per_worker * inflight, int(warm_rps * round_s))
    rps: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            got_rps, got_cpu = await _timed(calls[name], sizes[name], inflight)
            rps[name].append(got_rps)
            cpu[name].append(got_cpu)
    return {"requests_per_round": sizes, "rounds": rounds, "rps_samples": rps, "cpu_samples": cpu}


def _ratio(top: list[float], bottom: list[float]) -> dict[str, float]:
    return stats([t / b for t, b in zip(top, bottom, strict=True)])


async def _measure(
    url: str, token: str, rounds: int, round_s: float, inflight: list[int], list_sizes: list[int],
    list_rounds: int, decode_servers: int, per_worker: int,
) -> dict[str, Any]:  # fmt: skip
    sniffio = _ensure_sniffio()
    import aiohttp
    import httpx

    from vpsorg_async import Client, ServerDetail

    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    root = url.split("/api/", 1)[0]
    detail_url = f"{url}/servers/{SERVER_ID}/"
    # Same pool size for all three (100, kept alive): we compare the stacks, not pool settings.
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        Client(token, base_url=url) as client,
        httpx.AsyncClient(headers=headers, limits=limits) as hx,
        aiohttp.ClientSession(headers=headers) as twin,
    ):

        async def bare() -> None:
            async with session.get(detail_url) as resp:
                if resp.status != 200:
                    raise RuntimeError(resp.status)
                await resp.json()

        async def bare_twin() -> None:  # an A/A control: the harness's own bias between two
            async with twin.get(detail_url) as resp:  # identical clients
                if resp.status != 200:
                    raise RuntimeError(resp.status)
                await resp.json()

        async def ours() -> None:
            await client.get_server(SERVER_ID)

        async def via_httpx() -> None:
            resp = await hx.get(detail_url)
            if resp.status_code != 200:
                raise RuntimeError(resp.status_code)
            resp.json()

        check = await client.get_server(SERVER_ID)
        if not isinstance(check, ServerDetail) or check.id != SERVER_ID:
            raise RuntimeError(f"unexpected answer: {check!r}")
        calls: dict[str, Call] = {
            "aiohttp": bare,
            "client": ours,
            "httpx": via_httpx,
            "aiohttp_twin": bare_twin,
        }
        detail: dict[str, Any] = {}
        for level in inflight:
            got = await _rounds(calls, level, rounds, round_s, per_worker)
            rps, cpu = got.pop("rps_samples"), got.pop("cpu_samples")
            detail[str(level)] = {
                **got,
                "rps": {v: stats(rps[v]) for v in VARIANTS},
                "cpu_us_per_request": {v: stats(cpu[v]) for v in VARIANTS},
                "ratio_client_over_aiohttp": _ratio(rps["client"], rps["aiohttp"]),
                "ratio_client_over_httpx": _ratio(rps["client"], rps["httpx"]),
                "cpu_ratio_client_over_aiohttp": _ratio(cpu["client"], cpu["aiohttp"]),
                "ratio_twin_over_aiohttp": _ratio(rps["aiohttp_twin"], rps["aiohttp"]),
            }

        lists: dict[str, Any] = {}
        for size in list_sizes:
            list_url = f"{root}/n{size}/api/v1"
            async with Client(token, base_url=list_url) as lister:
                page = await lister.list_servers()
                if len(page.results) != size:
                    raise RuntimeError(f"expected {size} servers, got {len(page.results)}")

                async def bare_list(list_url: str = list_url) -> None:
                    async with session.get(f"{list_url}/servers/") as resp:
                        if resp.status != 200:
                            raise RuntimeError(resp.status)
                        await resp.json()

                async def our_list(lister: Client = lister) -> None:
                    await lister.list_servers()

                pair: dict[str, Call] = {"aiohttp": bare_list, "client": our_list}
                got = await _rounds(pair, 1, list_rounds, round_s, per_worker)
            rps, cpu = got.pop("rps_samples"), got.pop("cpu_samples")
            extra_wall = [
                (1 / b - 1 / a) / size * 1e6
                for b, a in zip(rps["client"], rps["aiohttp"], strict=True)
            ]
            extra_cpu = [(b - a) / size for b, a in zip(cpu["client"], cpu["aiohttp"], strict=True)]
            lists[str(size)] = {
                **got,
                "rps": {v: stats(rps[v]) for v in pair},
                "cpu_us_per_request": {v: stats(cpu[v]) for v in pair},
                "ratio_client_over_aiohttp": _ratio(rps["client"], rps["aiohttp"]),
                "extra_wall_us_per_server": stats(extra_wall),
                "extra_cpu_us_per_server": stats(extra_cpu),
                "in_process": _per_server_decode(size, reps=max(1, decode_servers // size)),
            }
    return {
        "httpx_sniffio": sniffio,
        "get_server": detail,
        "list_servers": lists,
        "detail_decode_us": _detail_decode_us(reps=max(1, decode_servers // 10)),
    }


def measure(
    url: str, token: str, rounds: int, round_s: float, inflight: list[int], list_sizes: list[int],
    list_rounds: int, decode_servers: int, per_worker: int,
) -> dict[str, Any]:  # fmt: skip
    """Client-process entry point: every measurement of this question (see the module docs)."""
    return asyncio.run(
        _measure(
            url, token, rounds, round_s, inflight, list_sizes, list_rounds, decode_servers,
            per_worker,
        )
    )  # fmt: skip


# -- orchestration (the parent process) ---------------------------------------------------------

FULL = {
    "rounds": 31,  # short rounds, many of them: neighbours on a shared machine come and go
    "round_s": 0.2,
    "inflight": [1, 64],
    "list_sizes": [100, 1000],
    "list_rounds": 15,
    "decode_servers": 20_000,  # per timing of the in-process decode figures
    "per_worker": 3,  # requests per worker and round, at least
}
QUICK = {
    "rounds": 2,
    "round_s": 0.03,
    "inflight": [1, 64],
    "list_sizes": [100, 1000],
    "list_rounds": 2,
    "decode_servers": 1000,
    "per_worker": 1,
}


def run(*, quick: bool) -> dict[str, Any]:
    """Start the server process, run the client process, and evaluate the targets."""
    params = QUICK if quick else FULL
    with ServerProcess("benchmarks.per_call:serve") as server, cpu_window(server) as load:
        result = run_child(
            "benchmarks.per_call:measure",
            {"url": server.url, "token": server.token, **params},
            timeout=120 if quick else 600,
        )
    result["server_cpu_share"] = load["share"]
    result["targets"] = _targets(result)
    if any(t["met"] is False and "aiohttp" in t["name"] for t in result["targets"]):
        # Missed against bare aiohttp: say where the library's own time goes.
        try:
            result["breakdown"] = run_child(
                "benchmarks.call_breakdown:breakdown",
                {"rounds": 2, "batch": 100} if quick else {"rounds": 25, "batch": 300},
                timeout=120,
            )
        except RuntimeError as exc:  # the figures above stand without it
            result["breakdown_error"] = str(exc)
    return result


def _targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for inflight, figures in result["get_server"].items():
        a = figures["ratio_client_over_aiohttp"]
        c = figures["ratio_client_over_httpx"]
        rows.append(
            target(
                f"get_server vs bare aiohttp + .json(), {inflight} in flight",
                ">= 1.00x",
                f"{a['median']:.2f}x (IQR {a['q1']:.2f}-{a['q3']:.2f})",
                a["median"] >= 1.0,
            )
        )
        if inflight == max(result["get_server"], key=int):
            cpu = figures["cpu_ratio_client_over_aiohttp"]
            rows.append(
                target(
                    f"client CPU per request vs bare aiohttp, {inflight} in flight",
                    "<= 1.00x",
                    f"{cpu['median']:.2f}x (IQR {cpu['q1']:.2f}-{cpu['q3']:.2f})",
                    cpu["median"] <= 1.0,
                )
            )
        rows.append(
            target(
                f"get_server vs httpx, {inflight} in flight",
                ">= 2x",
                f"{c['median']:.2f}x (IQR {c['q1']:.2f}-{c['q3']:.2f})",
                c["median"] >= 2.0,
            )
        )
    for size, figures in result["list_servers"].items():
        if size != max(result["list_servers"], key=int):
            continue
        a = figures["ratio_client_over_aiohttp"]
        rows.append(
            target(
                f"list_servers(page_size={size}) vs bare aiohttp + .json() of the same page",
                ">= 1.00x",
                f"{a['median']:.2f}x (IQR {a['q1']:.2f}-{a['q3']:.2f})",
                a["median"] >= 1.0,
            )
        )
    return rows


def markdown(result: dict[str, Any]) -> str:
    """The section of the report for this question."""
    rows = []
    for inflight, f in result["get_server"].items():
        for v, label in zip(VARIANTS, ("(a) bare aiohttp", "(b) Client", "(c) httpx"), strict=True):
            s, cpu = f["rps"][v], f["cpu_us_per_request"][v]
            rows.append(
                [
                    f"get_server, {inflight} in flight",
                    label,
                    fmt(s["median"]),
                    f"{fmt(s['min'])}-{fmt(s['max'])}",
                    fmt(cpu["median"]),
                ]
            )
    text = [
        markdown_table(
            ["call", "client", "req/s median", "req/s min-max", "client CPU µs/req"], rows
        ),
        "",
    ]
    ratio_rows = []
    for inflight, f in result["get_server"].items():
        for key, label in (
            ("ratio_client_over_aiohttp", "b/a throughput"),
            ("ratio_client_over_httpx", "b/c throughput"),
            ("cpu_ratio_client_over_aiohttp", "b/a CPU per request"),
            ("ratio_twin_over_aiohttp", "A/A control: a second bare aiohttp / a"),
        ):
            s = f[key]
            ratio_rows.append(
                [
                    f"{inflight} in flight",
                    label,
                    f"{s['median']:.2f}x",
                    f"{s['q1']:.2f}-{s['q3']:.2f}",
                    f"{s['min']:.2f}-{s['max']:.2f}",
                ]
            )
    text += [
        markdown_table(["load", "ratio (per round)", "median", "IQR", "min-max"], ratio_rows),
        "",
    ]
    list_rows = []
    for size, f in result["list_servers"].items():
        list_rows.append(
            [
                f"{size} servers",
                fmt(f["rps"]["aiohttp"]["median"], 1),
                fmt(f["rps"]["client"]["median"], 1),
                f"{f['ratio_client_over_aiohttp']['median']:.2f}x",
                f"{f['extra_wall_us_per_server']['median']:.1f}",
                f"{f['extra_cpu_us_per_server']['median']:.1f}",
                f"{f['in_process']['decode_us']:.1f}",
                f"{f['in_process']['json_loads_us']:.1f}",
            ]
        )
    text += [
        markdown_table(
            [
                "list_servers",
                "bare req/s",
                "Client req/s",
                "b/a",
                "extra wall µs/server",
                "extra CPU µs/server",
                "decode µs/server (in-process)",
                "json.loads µs/server",
            ],
            list_rows,
        ),
        "",
        f"Decoding one detail into `ServerDetail` (in-process): {result['detail_decode_us']:.1f} µs. "
        f"Server process CPU share during the run: {result['server_cpu_share']:.2f} core "
        "(near 1.0 would mean the server, not the client, limited throughput).",
    ]
    if "breakdown_error" in result:
        text += ["", f"The per-layer breakdown failed: {result['breakdown_error'][-300:]}"]
    if "breakdown" in result:
        from .call_breakdown import markdown as breakdown_markdown

        text += [
            "",
            "The target against bare aiohttp was missed, so here is where a call's own time goes "
            "(`python -m benchmarks.call_breakdown`; stand-in session, no network; each layer "
            "priced by swapping it for a no-op in alternating batches):",
            "",
            breakdown_markdown(result["breakdown"]),
        ]
    return "\n".join(text)
