"""The CLI under signals and ``--quiet``: SIGTERM like Ctrl-C, the interrupted fleet's report, logs.

SIGTERM is sent to real subprocesses only: sent to the test process, a command that failed to
handle it would kill the whole test run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from subprocess import PIPE
from typing import Any

import pytest

from vpsorg_async import FleetAbortedError, NotFoundError, Outcome
from vpsorg_async.cli import _runtime
from vpsorg_async.cli._fleet import Selection, print_fleet_report
from vpsorg_async.fleet import FleetResult
from vpsorg_async.testing import Delays

from .helpers import TOKEN, ThreadedSimulator, Vpsorg, assert_no_token

#: The package's ``python -m`` entry, run by this interpreter (the venv's).
CLI = (sys.executable, "-m", "vpsorg_async.cli")


def _env(url: str) -> dict[str, str]:
    env = {**os.environ, "VPSORG_API_TOKEN": TOKEN, "VPSORG_BASE_URL": url}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "COLUMNS"):
        env.pop(name, None)
    return env


def _wait_for(ready: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@contextlib.contextmanager
def _running(*args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """``vpsorg ARGS`` in a subprocess with text pipes; killed on the way out if still running."""
    proc = subprocess.Popen([*CLI, *args], env=env, text=True, stdout=PIPE, stderr=PIPE)
    try:
        yield proc
    finally:
        if proc.poll() is None:  # pragma: no cover - only when the test already failed
            proc.kill()
            proc.communicate()


# --- SIGTERM ---------------------------------------------------------------------------------


@pytest.mark.sim(delays=Delays(stop=(20.0, 30.0)))
@pytest.mark.parametrize("output", ["table", "json"])
def test_sigterm_mid_fleet_cancels_reports_and_exits_143(
    sim: ThreadedSimulator, output: str
) -> None:
    """A real SIGTERM while the fleet waits: exit 143, the partial report, no traceback."""
    active = [sim.add(name=f"web-{i}", status="active") for i in range(3)]
    stopped = sim.add(name="web-3", status="stopped")
    args = ("--poll-interval", "0.05", "fleet", "stop", "--all", "--wait", "--yes", "-o", output)
    with _running(*args, env=_env(sim.url)) as proc:
        _wait_for(lambda: sim.requests("stop_server") >= len(active), "the stop requests")
        time.sleep(0.2)  # their answers reach the fleet, which now waits (20 s stops)
        began = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert time.monotonic() - began < 5  # cancelled, not waited out
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert "terminated: in-flight requests were cancelled" in err
    summary = (
        "stop: 1 ok (1 already stopped), 0 failed, "
        "3 not finished (interrupted: 3 requested, not yet confirmed) of 4"
    )
    assert summary in (out if output == "table" else err)
    assert f"requested, not yet confirmed: {', '.join(map(str, active))}." in err
    if output == "json":
        rows = {row["id"]: row for row in json.loads(out)}
        assert rows[stopped]["already"] is True
        assert all(rows[i]["error"].startswith("not finished (waiting)") for i in active)
    assert_no_token(out, err)
    polled = sim.requests()
    time.sleep(0.2)
    assert sim.requests() == polled  # the process is gone and nothing polls on


def test_simulate_stops_cleanly_on_sigterm() -> None:
    """``vpsorg simulate`` under SIGTERM: exit 0, "simulator stopped", no traceback."""
    with _running("simulate", "--port", "0", "--servers", "1", "--token", TOKEN) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("url=http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "simulator stopped" in err
    assert "Traceback" not in err


async def test_sigterm_cancels_once_and_the_old_handler_comes_back() -> None:
    """``sigterm_cancels``: SIGTERM cancels the task once (a second one lets it unwind), then
    the handler that was there before is back."""
    before = signal.getsignal(signal.SIGTERM)
    unwinding, cleaned = asyncio.Event(), []

    async def command() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            unwinding.set()
            await asyncio.sleep(0.1)  # closing its clients: a second cancel would cut this short
            cleaned.append(True)
            raise

    task = asyncio.ensure_future(command())
    with _runtime.sigterm_cancels(task) as termination:
        # never kill the test run: only signal once the handler is really in place
        assert signal.getsignal(signal.SIGTERM) is not before
        os.kill(os.getpid(), signal.SIGTERM)
        await unwinding.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(asyncio.CancelledError):
            await task
    assert termination.received
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) is before


def test_run_maps_sigterm_to_143_after_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """``run``: a command cancelled by SIGTERM prints its report, then exits 143 (130 for SIGINT)."""
    import click

    reported: list[str] = []

    before = signal.getsignal(signal.SIGTERM)

    async def cancelled_by_sigterm() -> None:
        # never kill the test run: only signal once `run` has put its handler in place
        assert signal.getsignal(signal.SIGTERM) is not before
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(30)

    with pytest.raises(click.exceptions.Exit) as exit_:
        _runtime.run(cancelled_by_sigterm(), on_interrupt=lambda: reported.append("report"))
    assert exit_.value.exit_code == 143
    assert reported == ["report"]
    assert signal.getsignal(signal.SIGTERM) is before

    async def cancelled() -> None:
        raise asyncio.CancelledError  # what asyncio.run raises after Ctrl-C cancelled main

    with pytest.raises(click.exceptions.Exit) as exit_:
        _runtime.run(cancelled())
    assert exit_.value.exit_code == 130


# --- the interrupted fleet's report -------------------------------------------------------------


def _interrupted_stop() -> tuple[FleetResult[int], Selection]:
    """A stop cut short: 1 already stopped, 1 failed, 2 waiting, 1 in flight, 2 never sent."""

    def aborted(stage: str) -> FleetAbortedError:
        return FleetAbortedError(reason="cancelled", stage=stage)

    missing = NotFoundError(status=404, method="POST", path="/servers/2/stop/", detail="Not found.")
    outcomes: list[Outcome[int]] = [
        Outcome(1, True, already=True),
        Outcome(2, False, error=missing),
        Outcome(3, False, error=aborted("waiting")),
        Outcome(4, False, error=aborted("waiting")),
        Outcome(5, False, error=aborted("requesting")),
        Outcome(6, False, error=aborted("queued")),
    ]  # 7 has no outcome at all: never picked up
    result: FleetResult[int] = FleetResult(
        operation="stop", total=7, outcomes={o.key: o for o in outcomes}
    )
    return result, Selection([1, 2, 3, 4, 5, 6, 7])


SUMMARY = (
    "stop: 1 ok (1 already stopped), 1 failed, 5 not finished (interrupted: "
    "2 requested, not yet confirmed; 1 request in flight, answer unknown; 2 not requested) "
    "of 7 in 1.5 s"
)
BY_STAGE = [
    "requested, not yet confirmed: 3, 4.",
    "request in flight, answer unknown: 5.",
    "not requested: 6, 7.",
    "Run the same command again to finish.",
]


def _interrupted_report(output: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """What the CLI prints (stdout, stderr) for ``_interrupted_stop`` in ``output`` form."""
    result, selection = _interrupted_stop()
    print_fleet_report(result, selection, 1.5, output=output, interrupted=True)
    return capsys.readouterr()


def test_interrupted_report_tells_requested_from_not_requested(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, err = _interrupted_report("table", capsys)
    assert SUMMARY in out
    assert "server 2 not found (404)" in out  # the one real failure, in the failures table
    assert err.splitlines() == BY_STAGE


def test_interrupted_report_in_json_marks_the_same_stages(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, err = _interrupted_report("json", capsys)
    errors = {row["id"]: row["error"] for row in json.loads(out)}
    assert errors[1] is None
    assert errors[2] == "server 2 not found (404)"
    for key, stage in {3: "waiting", 4: "waiting", 5: "requesting", 6: "queued"}.items():
        assert errors[key].startswith(f"not finished ({stage})")
    assert err.splitlines() == [SUMMARY, *BY_STAGE]


# --- --quiet and the library's log --------------------------------------------------------------


@pytest.fixture
def dead_api() -> Iterator[str]:
    """A base URL on a loopback port that refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"


@pytest.fixture
def no_real_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client the CLI makes retries without sleeping."""
    make_client = _runtime.Settings.client

    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    def client(self: _runtime.Settings, **options: Any) -> Any:
        return make_client(self, sleep=no_sleep, **options)

    monkeypatch.setattr(_runtime.Settings, "client", client)


@pytest.mark.usefixtures("no_real_backoff")
@pytest.mark.parametrize(
    "command", [("fleet", "stop", "--yes", "--timeout", "0.5"), ("servers", "stop")]
)
def test_quiet_hides_the_library_warnings(
    monkeypatch: pytest.MonkeyPatch, dead_api: str, command: tuple[str, ...]
) -> None:
    """``vpsorg -q fleet stop 1 2 3 --yes`` against a dead API: the failures, no log lines."""
    vpsorg = Vpsorg(None, monkeypatch)
    args = ("-q", *command, "1", "2", "3")
    result = vpsorg(*args, env={"VPSORG_BASE_URL": dead_api})
    assert result.exit_code == 1
    assert "warning" not in result.stderr
    assert "info: " not in result.stderr
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())


@pytest.mark.usefixtures("no_real_backoff")
def test_without_quiet_each_warning_shows_once(
    monkeypatch: pytest.MonkeyPatch, dead_api: str
) -> None:
    vpsorg = Vpsorg(None, monkeypatch)
    result = vpsorg("servers", "get", "7", env={"VPSORG_BASE_URL": dead_api})
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert (
        sum("info: GET /servers/7/ failed" in line and "retry 1 of" in line for line in lines) == 1
    )
    assert lines[-1].startswith("error: could not get server 7")


def test_the_library_logs_nowhere_unless_the_application_says_so() -> None:
    """No handler configured: a warning of the library does not reach stderr (no lastResort)."""
    code = "import logging, vpsorg_async; logging.getLogger('vpsorg_async').warning('leaked')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert done.stderr == ""
