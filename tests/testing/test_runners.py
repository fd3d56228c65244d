"""Ways to run the simulator: in-process, the pytest fixture, serve(), python -m, imports."""

from __future__ import annotations

import asyncio
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import urllib.request

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from vpsorg_async import Client
from vpsorg_async.testing import Delays, Faults, Simulator, run_forever, serve
from vpsorg_async.testing.__main__ import build_parser, main
from vpsorg_async.testing._serve import _sigterm_cancels, announce, is_loopback
from vpsorg_async.testing._server import reachable_host
from vpsorg_async.testing.pytest_plugin import simulator_options

from .helpers import Api

ENV = {**os.environ, "PYTHONWARNINGS": "error"}


async def test_the_simulator_binds_loopback_on_a_free_port() -> None:
    sim = Simulator(token="t0k3n")
    with pytest.raises(RuntimeError, match="not running"):
        _ = sim.url
    async with sim:
        assert sim.url == f"http://127.0.0.1:{sim.port}/api/v1"
        assert sim.port > 0
        assert sim.token == "t0k3n"
        with pytest.raises(RuntimeError, match="already running"):
            await sim.start()
    await sim.close()  # closing twice is harmless


def test_tokens_are_random_by_default() -> None:
    assert Simulator().token != Simulator().token
    assert len(Simulator().token) >= 20


async def test_the_app_works_with_aiohttp_test_utilities() -> None:
    sim = Simulator(servers=2)
    async with TestClient(TestServer(sim.app)) as client:
        response = await client.get(
            "/api/v1/servers/", headers={"Authorization": f"Bearer {sim.token}"}
        )
        assert response.status == 200
        assert (await response.json())["count"] == 2
    assert sim.ledger.total == 1


async def test_the_pytest_fixture(
    vpsorg_simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    assert vpsorg_simulator.delays == Delays.fast()
    reply = await Api(session, vpsorg_simulator).create()
    assert reply.status == 201
    await asyncio.sleep(0.04)  # fast delays: provisioning is over within 30 ms
    server = vpsorg_simulator.get(reply.data["id"])
    assert server is not None
    assert server["status"] == "active"


@pytest.mark.vpsorg_simulator(servers=3, page_size=2, faults=Faults(throttle_rate=1.0))
async def test_the_pytest_fixture_takes_options_from_a_marker(
    vpsorg_simulator: Simulator,
) -> None:
    assert (len(vpsorg_simulator.servers), vpsorg_simulator.page_size) == (3, 2)
    assert vpsorg_simulator.faults.throttle_rate == 1.0


async def test_serve_prints_how_to_reach_it() -> None:
    out = io.StringIO()
    task = asyncio.create_task(serve(port=0, servers=3, token="abc", out=out))
    for _ in range(200):
        if out.getvalue().count("\n") >= 4:
            break
        await asyncio.sleep(0.005)
    first, loopback, hint, _ = out.getvalue().splitlines()
    assert hint.endswith("VPSORG_API_TOKEN=abc")
    assert first.startswith("url=http://127.0.0.1:")
    assert first.endswith("/api/v1 token=abc")
    assert "loopback only" in loopback
    url = first.split()[0].removeprefix("url=")
    async with (
        aiohttp.ClientSession(headers={"Authorization": "Bearer abc"}) as session,
        session.get(url + "/servers/") as response,
    ):
        assert (await response.json())["count"] == 3
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_a_non_loopback_host_gets_a_warning() -> None:
    out, err = io.StringIO(), io.StringIO()
    url = "http://0.0.0.0:8080/api/v1"
    announce(url=url, token="t", host="0.0.0.0", servers=0, out=out, err=err)
    assert out.getvalue().startswith(f"url={url} token=t\n")
    assert "WARNING" in err.getvalue()
    assert "not loopback" in err.getvalue()


async def test_a_simulator_on_every_interface_prints_a_url_the_client_accepts() -> None:
    async with Simulator(host="0.0.0.0", servers=1) as sim:
        assert sim.url == f"http://127.0.0.1:{sim.port}/api/v1"
        out, err = io.StringIO(), io.StringIO()
        announce(url=sim.url, token=sim.token, host=sim.host, servers=1, out=out, err=err)
        assert f"VPSORG_BASE_URL=http://127.0.0.1:{sim.port}/api/v1 " in out.getvalue()
        assert "WARNING" in err.getvalue()  # still reachable from other machines: said so
        async with Client(sim.token, base_url=sim.url) as client:
            assert (await client.list_servers()).count == 1


@pytest.mark.parametrize(
    ("bound", "reached"),
    [("0.0.0.0", "127.0.0.1"), ("::", "::1"), ("127.0.0.1", "127.0.0.1"), ("10.1.2.3", "10.1.2.3")],
)
def test_a_wildcard_address_is_reached_on_loopback(bound: str, reached: str) -> None:
    assert reachable_host(bound) == reached


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("x", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_command_line_flags() -> None:
    args = build_parser().parse_args(
        [
            *("--port", "0", "--servers", "5", "--token", "T", "--seed", "9"),
            *("--page-size", "10", "--delay-scale", "0.1", "--error-rate", "0.2"),
            *("--latency", "0.01", "0.02"),
        ]
    )
    assert (args.port, args.servers, args.token, args.seed, args.page_size) == (0, 5, "T", 9, 10)
    assert (args.delay_scale, args.error_rate, args.latency) == (0.1, 0.2, [0.01, 0.02])


@pytest.mark.parametrize(
    "argv", [["--error-rate", "2"], ["--page-size", "0"], ["--delay-scale", "-1"]]
)
def test_bad_command_lines_are_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def serve_in_a_child_process(
    command: list[str], stop: signal.Signals = signal.SIGTERM
) -> dict[str, object]:
    """Start ``command``, read its ``url= token=`` line, list servers once, stop it with ``stop``.

    The child must then have stopped cleanly: exit code 0, ``simulator stopped``, no traceback.
    """
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    ) as process:
        try:
            assert process.stdout is not None
            ready, _, _ = select.select([process.stdout], [], [], 20)
            assert ready, "the simulator printed nothing"
            fields = dict(item.split("=", 1) for item in process.stdout.readline().split())
            request = urllib.request.Request(
                fields["url"] + "/servers/", headers={"Authorization": f"Bearer {fields['token']}"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                listed: dict[str, object] = json.load(response)
        finally:
            process.send_signal(stop)
            _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stderr.endswith("simulator stopped\n"), stderr
    return listed


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_python_dash_m_serves_until_terminated(stop: signal.Signals) -> None:
    command = [sys.executable, "-m", "vpsorg_async.testing", "--port", "0", "--servers", "4"]
    listed = serve_in_a_child_process([*command, "--page-size", "3", "--delay-scale", "0"], stop)
    assert listed["count"] == 4
    assert str(listed["next"]).endswith("/api/v1/servers/?page=2")
    assert isinstance(listed["results"], list)
    assert len(listed["results"]) == 3


def test_run_forever_takes_json_arguments_like_the_benchmark_harness() -> None:
    # The harness turns SIGTERM into KeyboardInterrupt, then calls FUNC(**json_kwargs).
    code = (
        "import signal; signal.signal(signal.SIGTERM, signal.default_int_handler)\n"
        "from vpsorg_async.testing import run_forever\n"
        "run_forever(port=0, servers=2, seed=3, faults={'latency': [0.0, 0.001]})\n"
    )
    assert serve_in_a_child_process([sys.executable, "-c", code])["count"] == 2


def test_python_dash_m_on_a_busy_port_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(["--port", str(port)])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.startswith(f"error: cannot serve on 127.0.0.1:{port}: ")


def _not_this(signum: int, frame: object) -> None:  # pragma: no cover - must never run
    raise AssertionError("the handler from before ran while the simulator served")


async def test_only_the_first_sigterm_cancels_and_the_old_handler_comes_back() -> None:
    closing, closed = asyncio.Event(), asyncio.Event()

    async def serving() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            closing.set()
            await asyncio.sleep(0.05)  # the simulator's close: a second cancel would cut it
            closed.set()

    original = signal.signal(signal.SIGTERM, _not_this)  # a handler of its own, not the default
    try:
        task = asyncio.create_task(serving())
        with _sigterm_cancels(task):
            assert signal.getsignal(signal.SIGTERM) is not _not_this  # or SIGTERM would raise
            os.kill(os.getpid(), signal.SIGTERM)
            await closing.wait()
            os.kill(os.getpid(), signal.SIGTERM)
            with pytest.raises(asyncio.CancelledError):
                await task
        assert closed.is_set()
        assert signal.getsignal(signal.SIGTERM) is _not_this
    finally:
        signal.signal(signal.SIGTERM, original)


def test_run_forever_refuses_bad_faults_before_binding() -> None:
    with pytest.raises(ValueError, match="unknown fault fields"):
        run_forever(faults={"explode": 1.0})


def test_importing_does_not_load_aiohttp_web() -> None:
    # The client never needs the server side, and pytest loads the plugin in every run.
    code = "import importlib, sys\n" + "".join(
        f"importlib.import_module({module!r})\n"
        f"assert 'aiohttp.web' not in sys.modules, {module!r}\n"
        for module in ("vpsorg_async", "vpsorg_async.testing", "vpsorg_async.testing.pytest_plugin")
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_plugin_survives_without_pytest_asyncio() -> None:
    code = (
        "import sys; sys.modules['pytest_asyncio'] = None\n"
        "import vpsorg_async.testing.pytest_plugin as plugin\n"
        "assert plugin.HAVE_PYTEST_ASYNCIO is False\n"
        "assert not hasattr(plugin, 'vpsorg_simulator')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_package_exports_its_public_names() -> None:
    import vpsorg_async.testing as testing

    assert set(testing.__all__) <= set(dir(testing))
    with pytest.raises(AttributeError):
        _ = testing.nothing_here


async def test_a_busy_port_fails_cleanly() -> None:
    async with Simulator() as first:
        second = Simulator(port=first.port)
        with pytest.raises(OSError):  # noqa: PT011 - the errno varies by platform
            await second.start()
        with pytest.raises(RuntimeError, match="not running"):
            _ = second.url


async def test_delays_can_change_at_run_time(sim: Simulator) -> None:
    sim.delays = Delays.instant()
    assert sim.delays == Delays.instant()
    server = sim.add_server(status="provisioning")
    assert server["status"] == "provisioning"
    current = sim.get(server["id"])  # the manual clock has not moved: zero delay is enough
    assert current is not None
    assert current["status"] == "active"


@pytest.mark.vpsorg_simulator("positional")
def test_the_marker_takes_keywords_only(request: pytest.FixtureRequest) -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        simulator_options(request)
