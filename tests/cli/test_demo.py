"""``vpsorg demo`` in-process, and the real console script with ``vpsorg simulate`` in subprocesses."""

from __future__ import annotations

import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import vpsorg_async.cli as cli_package
from vpsorg_async.cli import main

from .helpers import Vpsorg, assert_no_token, interrupt_when

#: The console script installed next to this interpreter (.venv/bin/vpsorg).
SCRIPT = Path(sys.executable).with_name("vpsorg")
SIM_TOKEN = "subprocess-sim-token-91c4"
#: Slow transitions (10-20 s), so that a fleet can be interrupted while it waits.
SIMULATE = (
    "simulate",
    "--port",
    "0",
    "--token",
    SIM_TOKEN,
    "--servers",
    "3",
    "--delay-scale",
    "20",
)


@pytest.fixture
def vpsorg_alone(monkeypatch: pytest.MonkeyPatch) -> Vpsorg:
    """The CLI with no simulator (the demo brings its own)."""
    return Vpsorg(None, monkeypatch)


def test_demo_runs_every_step(vpsorg_alone: Vpsorg) -> None:
    result = vpsorg_alone("demo", "--servers", "5", "--delay-scale", "0.05")
    assert result.exit_code == 0, result.stderr
    table = result.stdout
    for step in ("create", "stop", "start", "reboot", "delete"):
        assert f" {step} " in table
    assert "interrupted" not in table
    assert "5 steps in " in table
    # the states the fleet passes through, as the simulator showed them while each step ran
    for trail in (
        "provisioning -> active",
        "active -> stopping -> stopped",
        "stopped -> starting -> active",
        "active -> rebooting -> active",
        "active -> deleted",
    ):
        assert trail in table
    assert "create: 5 servers" in result.stderr  # progress lines, stderr not being a terminal
    assert "(loopback only)" in result.stderr


def test_demo_interrupted_reports_its_steps(vpsorg_alone: Vpsorg) -> None:
    began = time.monotonic()
    interrupt_when(lambda: time.monotonic() - began > 0.5, settle=0)
    result = vpsorg_alone("demo", "--servers", "3", "--delay-scale", "10")
    assert result.exit_code == 130
    assert "create (interrupted)" in result.stdout
    assert "1 steps in " in result.stdout


@pytest.fixture
def simulator_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``vpsorg simulate`` as a real process (slow transitions); yields it and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vpsorg_async.cli", *SIMULATE],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("url=http://127.0.0.1:"), first
        url = first.split()[0].removeprefix("url=")
        assert first.split()[1] == f"token={SIM_TOKEN}"
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_console_script_against_vpsorg_simulate(
    simulator_process: tuple[subprocess.Popen[str], str],
) -> None:
    """The installed `vpsorg` script, a real SIGINT mid-fleet, and the simulator's own Ctrl-C."""
    sim, url = simulator_process
    env = {**os.environ, "VPSORG_API_TOKEN": SIM_TOKEN, "VPSORG_BASE_URL": url}
    env.pop("FORCE_COLOR", None)
    listed = subprocess.run(
        [str(SCRIPT), "--verbose", "servers", "list", "--output", "json"],
        env=env, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 3
    assert "GET /servers/ -> 200" in listed.stderr
    assert SIM_TOKEN not in listed.stdout + listed.stderr

    fleet = subprocess.Popen(
        [str(SCRIPT), "--poll-interval", "0.1", "fleet", "stop", "--all", "--wait", "--yes"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert fleet.stderr is not None
    while "stop: 3 servers" not in (line := fleet.stderr.readline()):
        assert line, "the fleet command ended before its progress started"
    time.sleep(0.3)
    fleet.send_signal(signal.SIGINT)
    out, err = fleet.communicate(timeout=30)
    assert fleet.returncode == 130, err
    assert "not finished (interrupted: " in out
    assert "Traceback" not in err
    assert_no_token(out, err)

    sim.send_signal(signal.SIGINT)
    _, sim_err = sim.communicate(timeout=10)
    assert sim.returncode == 0
    assert "simulator stopped" in sim_err


def test_simulate_in_process_until_ctrl_c(vpsorg_alone: Vpsorg) -> None:
    began = time.monotonic()
    interrupt_when(lambda: time.monotonic() - began > 0.3, settle=0)
    result = vpsorg_alone("simulate", "--port", "0", "--servers", "2", "--page-size", "5")
    assert result.exit_code == 0
    assert result.stdout.startswith("url=http://127.0.0.1:")
    assert "simulator stopped" in result.stderr


def test_simulate_on_a_busy_port(vpsorg_alone: Vpsorg) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = vpsorg_alone("simulate", "--port", port)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot serve on 127.0.0.1:{port}: ")


def test_main_and_python_dash_m(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert "vpsorg, version" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["vpsorg", "servers", "--help"])
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(
            str(Path(cli_package.__file__).with_name("__main__.py")), run_name="__main__"
        )
    assert exited.value.code == 0
    assert "Usage: vpsorg servers" in capsys.readouterr().out
