"""``vpsorg fleet ...``: selection, confirmation, progress, the failure report, Ctrl-C."""

from __future__ import annotations

import gc
import json
import time

import pytest

from vpsorg_async.cli import _runtime
from vpsorg_async.testing import Delays

from .helpers import ThreadedSimulator, Vpsorg, interrupt_when

FAST_POLL = ("--poll-interval", "0.01")


def fleet_of(sim: ThreadedSimulator, *statuses: str, prefix: str = "web") -> list[int]:
    return [sim.add(name=f"{prefix}-{i}", status=s) for i, s in enumerate(statuses)]


def test_stop_all_converges(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ids = fleet_of(sim, "active", "stopped", "active")
    result = vpsorg(*FAST_POLL, "fleet", "stop", "--all", "--wait", "--yes", "-o", "json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ids
    assert all(r["ok"] and r["status"] == "stopped" for r in rows)
    assert [r["already"] for r in rows] == [False, True, False]
    assert {s["status"] for s in sim.servers()} == {"stopped"}
    # progress and the summary went to stderr, in plain lines (stderr is not a terminal)
    assert f"stop 3 servers: {ids[0]} web-0 (active)" in result.stderr
    assert "stop: 3 servers" in result.stderr
    assert "stop: 3 ok (1 already stopped), 0 failed of 3 in" in result.stderr
    assert "\x1b[" not in result.stderr


def test_table_output_and_rerun(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ids = [str(i) for i in fleet_of(sim, "stopped", "stopped")]
    first = vpsorg(*FAST_POLL, "fleet", "start", *ids, "--wait")
    assert first.exit_code == 0
    assert first.stdout.startswith("start: 2 ok, 0 failed of 2 in ")
    again = vpsorg("fleet", "start", *ids)
    assert again.stdout.startswith("start: 2 ok (2 already active), 0 failed of 2")


def test_selection_by_filters(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    a = sim.add(name="web-1", status="active", location="us-west")
    sim.add(name="web-2", status="active", location="us-east")
    sim.add(name="db-1", status="active", location="us-west")
    sim.add(name="web-3", status="stopped", location="us-west")
    args = ("fleet", "reboot", "--status", "active", "--location", "us-west")
    result = vpsorg(*FAST_POLL, *args, "--name-prefix", "web", "--wait", "-o", "json")
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)] == [a]
    assert sim.requests("reboot_server") == 1


def test_selection_usage_errors(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    nothing = vpsorg("fleet", "stop")
    assert nothing.exit_code == 2
    assert "give IDs, a filter" in nothing.stderr
    both = vpsorg("fleet", "stop", "1", "--status", "active")
    assert both.exit_code == 2
    assert "not both" in both.stderr
    assert vpsorg("fleet", "stop", "--concurrency", "0", "--all").exit_code == 2
    assert sim.requests() == 0


def test_empty_selection_is_not_an_error(vpsorg: Vpsorg) -> None:
    result = vpsorg("fleet", "start", "--status", "stopped", "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []
    assert "nothing to do" in result.stderr


def test_failures_table_and_exit_code(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ok, suspended, stopped = fleet_of(sim, "stopped", "suspended", "stopped")
    result = vpsorg(*FAST_POLL, "fleet", "start", str(ok), str(suspended), "424242", "--wait")
    assert result.exit_code == 1
    out = result.stdout
    assert "2 failed" in out
    assert f"{suspended}" in out
    assert "web-1" not in out  # no name known when selected by id
    assert "server 424242 not found (404)" in out
    assert "start: 1 ok, 2 failed of 3 in" in out
    assert stopped  # untouched


def test_failure_names_come_from_the_listing(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    fleet_of(sim, "stopped", "stopped", prefix="app")
    result = vpsorg("fleet", "reboot", "--name-prefix", "app")
    assert result.exit_code == 1
    assert "app-0" in result.stdout
    assert "Server is not running (400)" in result.stdout
    rows = json.loads(vpsorg("fleet", "reboot", "--name-prefix", "app", "-o", "json").stdout)
    assert [r["name"] for r in rows] == ["app-0", "app-1"]
    assert all(r["error"].endswith("Server is not running (400)") for r in rows)


def test_large_fleets_and_deletes_ask_first(
    vpsorg: Vpsorg, sim: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_of(sim, *["active"] * (_runtime.CONFIRM_THRESHOLD + 1))
    piped = vpsorg("fleet", "stop", "--all")
    assert piped.exit_code == 2
    assert "pass --yes" in piped.stderr
    assert "... and" in piped.stderr  # the preview is cut short
    monkeypatch.setattr(_runtime, "interactive", lambda: True)
    declined = vpsorg("fleet", "stop", "--all", input="n\n")
    assert declined.exit_code == 1
    assert "Stop 11 servers?" in declined.stderr
    assert sim.requests("stop_server") == 0
    accepted = vpsorg("fleet", "stop", "--all", input="y\n")
    assert accepted.exit_code == 0
    assert sim.requests("stop_server") == 11
    small = vpsorg("fleet", "delete", "--name-prefix", "web-1", input="n\n")
    assert small.exit_code == 1
    assert "Permanently delete 2 servers?" in small.stderr


def test_delete_with_wait(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ids = [str(i) for i in fleet_of(sim, "active", "stopped")]
    result = vpsorg(*FAST_POLL, "fleet", "delete", *ids, "999", "--yes", "--wait")
    assert result.exit_code == 0
    assert "delete: 3 ok (1 already gone), 0 failed of 3" in result.stdout
    assert sim.servers() == []


def test_quiet_shows_no_progress(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    fleet_of(sim, "active")
    result = vpsorg("--quiet", "fleet", "stop", "--all")
    assert result.exit_code == 0
    assert result.stderr == ""


@pytest.mark.sim(delays=Delays(stop=(5.0, 6.0)))
def test_ctrl_c_cancels_and_reports(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    """A real SIGINT while the fleet waits: exit 130, what was done, nothing left running."""
    ids = fleet_of(sim, "active", "active", "active", "stopped")
    interrupt_when(lambda: sim.requests("stop_server") >= 4)
    started = time.monotonic()
    result = vpsorg("--poll-interval", "0.05", "fleet", "stop", "--all", "--wait", "--yes")
    assert time.monotonic() - started < 4  # did not wait for the 5 s stops
    assert result.exit_code == 130
    assert (
        "stop: 1 ok (1 already stopped), 0 failed, "
        "3 not finished (interrupted: 3 requested, not yet confirmed) of 4"
    ) in result.stdout
    assert f"requested, not yet confirmed: {ids[0]}, {ids[1]}, {ids[2]}." in result.stderr
    assert "interrupted: in-flight requests were cancelled" in result.stderr
    assert "Traceback" not in result.stderr
    gc.collect()  # an unclosed client would warn now, and warnings are errors
    polled = sim.requests()
    time.sleep(0.2)
    assert sim.requests() == polled  # nothing polls on in the background


def test_one_server_is_one_server_in_every_line(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    (a,) = fleet_of(sim, "active")
    result = vpsorg(*FAST_POLL, "fleet", "stop", str(a), "--wait")
    assert result.exit_code == 0, result.stderr
    assert f"stop 1 server: {a}\n" in result.stderr
    assert "stop: 1 server\n" in result.stderr  # the progress lines' header
    asked = vpsorg("servers", "delete", str(a))  # no terminal: the question is quoted
    assert f"confirmation needed (Delete 1 server ({a}) permanently?)" in asked.stderr
    everything = result.stdout + result.stderr + asked.stdout + asked.stderr
    assert "1 servers" not in everything


def test_a_refused_token_is_one_line_for_ids_as_for_all(
    vpsorg: Vpsorg, sim: ThreadedSimulator
) -> None:
    ids = [str(i) for i in fleet_of(sim, "active", "active", "active")]
    wrong: dict[str, str | None] = {"VPSORG_API_TOKEN": "wrong-token-77"}
    by_ids = vpsorg("fleet", "stop", *ids, env=wrong)
    by_all = vpsorg("fleet", "stop", "--all", "--yes", env=wrong)
    line = "error: the API refused the token: Invalid token. (401); check --token or $VPSORG_API_TOKEN\n"
    assert by_all.stderr == line
    assert by_ids.stderr.endswith(line)
    assert by_ids.stderr.count("401") == 1
    assert by_ids.stdout == ""
    assert (by_ids.exit_code, by_all.exit_code) == (1, 1)
    json_rows = vpsorg("fleet", "stop", *ids, "-o", "json", env=wrong)
    assert json_rows.stdout == ""
    assert json_rows.stderr.endswith(line)


def test_a_refusal_of_some_servers_only_keeps_its_rows(
    vpsorg: Vpsorg, sim: ThreadedSimulator
) -> None:
    a = sim.add(name="web-1", status="active")
    result = vpsorg(*FAST_POLL, "fleet", "stop", str(a), "999", "-o", "json")
    rows = json.loads(result.stdout)
    assert [(r["id"], r["ok"]) for r in rows] == [(a, True), (999, False)]


def test_fleet_and_servers_json_rows_have_the_same_fields(
    vpsorg: Vpsorg, sim: ThreadedSimulator
) -> None:
    a, b = fleet_of(sim, "active", "stopped")
    fleet_rows = json.loads(
        vpsorg(*FAST_POLL, "fleet", "stop", str(a), str(b), "-o", "json").stdout
    )
    sim.settle(a, "stopped")
    sim.call(lambda: sim.sim.set_status(a, "active"))
    server_rows = json.loads(vpsorg("servers", "stop", str(a), "-o", "json").stdout)
    fields = ["id", "ok", "name", "status", "already", "message", "error"]
    assert [list(r) for r in fleet_rows + server_rows] == [fields] * 3
    assert [(r["already"], r["message"]) for r in fleet_rows] == [
        (False, None),
        (True, "already stopped"),
    ]
    assert (server_rows[0]["already"], server_rows[0]["message"]) == (False, "Server is stopping")
