"""``vpsorg servers ...`` against the simulator: output, JSON, exit codes, confirmation."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from vpsorg_async.cli import _runtime, _servers
from vpsorg_async.testing import Delays

from .helpers import ThreadedSimulator, Vpsorg, interrupt_when

WAIT = ("--poll-interval", "0.01")  # global option: poll fast while waiting


def test_list_table_and_filters(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    sim.add(name="web-1", status="active", location="us-west")
    sim.add(name="db-1", status="stopped", location="us-east")
    result = vpsorg("servers", "list")
    assert result.exit_code == 0
    assert "web-1" in result.stdout
    assert "db-1" in result.stdout
    assert "2 servers" in result.stdout
    assert "\x1b[" not in result.stdout  # no colour codes into a pipe
    stopped = vpsorg("servers", "list", "--status", "stopped")
    assert "db-1" in stopped.stdout
    assert "web-1" not in stopped.stdout
    west = vpsorg("servers", "list", "--location", "us-west", "-o", "json")
    assert [s["name"] for s in json.loads(west.stdout)] == ["web-1"]


@pytest.mark.sim(page_size=2)
def test_list_json_follows_every_page(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ids = [sim.add(name=f"web-{i}") for i in range(5)]
    result = vpsorg("servers", "list", "--output", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data, list)
    assert [s["id"] for s in data] == ids
    assert data[0]["created_at"].endswith("Z")
    assert data[0]["status"] == "active"
    assert sim.requests("list_servers") == 3


def test_list_empty(vpsorg: Vpsorg) -> None:
    assert json.loads(vpsorg("servers", "list", "-o", "json").stdout) == []
    assert "0 servers" in vpsorg("servers", "list").stdout


def test_get_table_json_and_not_found(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    server_id = sim.add(name="web-1", hostname="web1.example.com", backups_enabled=True)
    table = vpsorg("servers", "get", str(server_id))
    assert table.exit_code == 0
    assert "web1.example.com" in table.stdout
    assert "backups" in table.stdout
    detail = json.loads(vpsorg("servers", "get", str(server_id), "-o", "json").stdout)
    assert detail["id"] == server_id
    assert detail["backups_enabled"] is True
    assert "resource_usage" in detail
    missing = vpsorg("servers", "get", "12")
    assert missing.exit_code == 1
    assert missing.stderr == "error: server 12 not found (404)\n"
    assert missing.stdout == ""


def test_get_refuses_a_bad_id(vpsorg: Vpsorg) -> None:
    result = vpsorg("servers", "get", "0")
    assert result.exit_code == 2
    assert "Invalid value" in result.stderr


def test_create_and_wait(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    base = ("servers", "create", "--plan-id", "1", "--os-id", "5", "--location", "us-west")
    created = vpsorg(*base, "--name", "web-1", "--hostname", "web1.example.com", "-o", "json")
    assert created.exit_code == 0
    data = json.loads(created.stdout)
    assert data["status"] == "provisioning"
    assert data["backups_enabled"] is False
    waited = vpsorg(*WAIT, *base, "--name", "web-2", "--backups", "--ssh-key-id", "3", "--wait")
    assert waited.exit_code == 0
    assert "active" in waited.stdout
    assert "on" in waited.stdout  # backups
    names = {s["name"]: s for s in sim.servers()}
    assert names["web-2"]["status"] == "active"
    assert names["web-2"]["backups_enabled"] is True
    note = vpsorg(*base, "--name", "web-3")
    assert "provisioned" in note.stdout


def test_create_errors(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    base = ("servers", "create", "--os-id", "5", "--location", "us-west")
    refused = vpsorg(*base, "--name", "web-1", "--plan-id", "99")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: cannot create a server: plan_id:")
    assert refused.stderr.rstrip().endswith("(400)")
    invalid = vpsorg(*base, "--name", "bad name!", "--plan-id", "1")
    assert invalid.exit_code == 2
    assert invalid.stderr.startswith("error: invalid name:")
    missing = vpsorg("servers", "create", "--name", "x")
    assert missing.exit_code == 2
    sim.call(lambda: setattr(sim.sim, "balance", 0.0))
    broke = vpsorg(*base, "--name", "web-2", "--plan-id", "1")
    assert broke.exit_code == 1
    assert "(402)" in broke.stderr
    assert sim.servers() == []


def test_update_and_patch(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    server_id = str(sim.add(name="web-1"))
    update = ("servers", "update", server_id, "--name", "web-2", "--hostname", "w2.example.com")
    no_backups = vpsorg(*update)
    assert no_backups.exit_code == 2
    assert "--backups/--no-backups" in no_backups.stderr
    updated = vpsorg(*update, "--backups", "-o", "json")
    assert updated.exit_code == 0
    assert json.loads(updated.stdout)["name"] == "web-2"
    assert json.loads(updated.stdout)["backups_enabled"] is True
    assert vpsorg("servers", "patch", server_id).exit_code == 2
    patched = vpsorg("servers", "patch", server_id, "--no-backups")
    assert patched.exit_code == 0
    assert "web-2" in patched.stdout
    state = sim.call(lambda: sim.sim.get(int(server_id)))
    assert state is not None
    assert state["backups_enabled"] is False
    assert state["hostname"] == "w2.example.com"
    assert vpsorg("servers", "patch", "99", "--name", "x").stderr == (
        "error: server 99 not found (404)\n"
    )


def test_power_actions(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    a = sim.add(name="web-1", status="active")
    b = sim.add(name="web-2", status="stopped")
    started = vpsorg("servers", "start", str(b))
    assert started.exit_code == 0
    assert started.stdout == f"server {b} (web-2): Server is starting\n"
    busy = vpsorg("servers", "stop", str(b))  # still starting: the API says no
    assert busy.exit_code == 1
    assert "busy" in busy.stderr
    sim.settle(b, "active")
    stopped = vpsorg(*WAIT, "servers", "stop", str(a), str(b), "--wait", "-o", "json")
    assert stopped.exit_code == 0, stopped.stderr
    rows = json.loads(stopped.stdout)
    assert [(r["id"], r["ok"], r["status"]) for r in rows] == [
        (a, True, "stopped"),
        (b, True, "stopped"),
    ]
    again = vpsorg("servers", "stop", str(a))
    assert again.exit_code == 1
    assert again.stderr == f"error: cannot stop server {a}: Server is not running (400)\n"
    vpsorg(*WAIT, "servers", "start", str(a), "--wait")
    rebooted = vpsorg(*WAIT, "servers", "reboot", str(a), "--wait")
    assert rebooted.stdout == f"server {a} (web-1): active\n"


def test_action_failures_are_per_server(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    a = sim.add(name="web-1", status="stopped")
    result = vpsorg("servers", "start", str(a), "777", str(a), "-o", "json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["id"], r["ok"]) for r in rows] == [(a, True), (777, False)]
    assert rows[1]["error"] == "server 777 not found (404)"
    assert "error: server 777 not found (404)" in result.stderr


def test_wait_timeout_is_a_failure(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    a = sim.add(name="web-1", status="stopped")
    sim.call(lambda: setattr(sim.sim, "delays", sim.sim.delays.scaled(100)))
    result = vpsorg(*WAIT, "servers", "start", str(a), "--wait", "--timeout", "0.2")
    assert result.exit_code == 1
    assert "did not reach 'active'" in result.stderr


def test_delete_asks_on_a_terminal(
    vpsorg: Vpsorg, sim: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_runtime, "interactive", lambda: True)
    a = sim.add(name="web-1")
    declined = vpsorg("servers", "delete", str(a), input="n\n")
    assert declined.exit_code == 1
    assert "Delete 1 server (" in declined.stderr
    assert "Nothing done." in declined.stderr
    eof = vpsorg("servers", "delete", str(a), input="")
    assert eof.exit_code == 1
    assert len(sim.servers()) == 1
    assert sim.requests("delete_server") == 0
    accepted = vpsorg(*WAIT, "servers", "delete", str(a), "--wait", input="y\n")
    assert accepted.exit_code == 0
    assert accepted.stdout == f"server {a}: deleted\n"
    assert sim.servers() == []


def test_delete_without_a_terminal_needs_yes(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ids = [str(sim.add(name=f"web-{i}")) for i in range(12)]
    refused = vpsorg("servers", "delete", *ids)
    assert refused.exit_code == 2
    assert "pass --yes" in refused.stderr
    assert ", ...)" in refused.stderr  # a long list of ids is cut short
    assert sim.requests("delete_server") == 0
    deleted = vpsorg("servers", "delete", *ids, "--yes", "-o", "json")
    assert deleted.exit_code == 0
    assert all(row["ok"] for row in json.loads(deleted.stdout))
    assert sim.servers() == []
    gone = vpsorg("servers", "delete", ids[0], "-y")
    assert gone.exit_code == 1
    assert gone.stderr == f"error: server {ids[0]} not found (404)\n"


@pytest.mark.sim(delays=Delays(stop=(5.0, 6.0)))
def test_ctrl_c_while_waiting(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    a, b = sim.add(name="web-1"), sim.add(name="web-2", status="stopped")
    interrupt_when(lambda: sim.requests("stop_server") >= 2)
    result = vpsorg(*WAIT, "servers", "stop", str(a), str(b), "--wait")
    assert result.exit_code == 130
    assert result.stdout == f"server {a} (web-1): stopping (interrupted before it was stopped)\n"
    assert f"error: cannot stop server {b}: Server is not running (400)" in result.stderr
    assert result.stderr.endswith("interrupted: in-flight requests were cancelled\n")


def test_spinner_on_a_terminal(
    vpsorg: Vpsorg, sim: ThreadedSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(_servers, "err_console", lambda: terminal)
    a = sim.add(name="web-1", status="stopped")
    result = vpsorg(*WAIT, "servers", "start", str(a), "--wait")
    assert result.exit_code == 0
    assert "waiting for 1 server to be active" in screen.getvalue()
    assert "\x1b[" not in result.stdout
