"""Global behaviour: configuration, --verbose, --debug, one-line errors, exit codes, the token."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from vpsorg_async import Client, ResponseEvent
from vpsorg_async.cli import _runtime, _servers
from vpsorg_async.testing import Faults

from .helpers import TOKEN, ThreadedSimulator, Vpsorg


def test_help_and_version(vpsorg: Vpsorg) -> None:
    top = vpsorg("--help")
    assert top.exit_code == 0
    for command in ("servers", "fleet", "simulate", "demo"):
        assert command in top.stdout
    assert "VPSORG_API_TOKEN" in top.stdout
    for group in ("servers", "fleet"):
        assert vpsorg(group, "--help").exit_code == 0
    assert "--wait" in vpsorg("fleet", "stop", "-h").stdout
    assert vpsorg("--version").stdout.startswith("vpsorg, version ")


def test_unknown_command_is_a_usage_error(vpsorg: Vpsorg) -> None:
    assert vpsorg("servers", "frobnicate").exit_code == 2
    assert vpsorg("servers", "list", "--status", "sleeping").exit_code == 2


def test_missing_token_is_a_usage_error(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    result = vpsorg("servers", "list", env={"VPSORG_API_TOKEN": None})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no API token: pass --token or set VPSORG_API_TOKEN")
    assert sim.requests() == 0


def test_token_option_overrides_the_environment(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    ok = vpsorg("--token", TOKEN, "servers", "list", env={"VPSORG_API_TOKEN": "wrong-5e1b"})
    assert ok.exit_code == 0
    refused = vpsorg("--token", "wrong-5e1b", "--debug", "servers", "list")
    assert refused.exit_code == 1
    assert "error: the API refused the token: Invalid token. (401)" in refused.stderr
    assert "wrong-5e1b" not in refused.stdout + refused.stderr


def test_plain_http_to_a_public_host_is_refused(vpsorg: Vpsorg) -> None:
    result = vpsorg("--base-url", "http://example.com/api/v1", "servers", "list")
    assert result.exit_code == 2
    assert "plain http" in result.stderr


def test_verbose_shows_each_request_without_the_token(
    vpsorg: Vpsorg, sim: ThreadedSimulator
) -> None:
    server_id = sim.add(name="web-1")
    result = vpsorg("--verbose", "servers", "get", str(server_id), "-o", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["id"] == server_id  # stdout stays machine-readable
    (line,) = result.stderr.splitlines()  # from the on_response hook, not a log line too
    assert re.fullmatch(
        rf"\[ *\d+\.\d\ds\] GET /servers/{server_id}/ -> 200 in [\d.]+ ms \(attempt 1\)", line
    )
    quiet = vpsorg("servers", "get", str(server_id))
    assert quiet.stderr == ""


def test_debug_shows_the_traceback(vpsorg: Vpsorg) -> None:
    plain = vpsorg("servers", "get", "5")
    assert plain.stderr == "error: server 5 not found (404)\n"
    debug = vpsorg("--debug", "--verbose", "servers", "get", "5")
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "NotFoundError" in debug.stderr
    assert debug.stderr.rstrip().endswith("error: server 5 not found (404)")


def test_unexpected_errors_are_one_line(vpsorg: Vpsorg, monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom(self: Client, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(Client, "get_server", boom)
    result = vpsorg("servers", "get", "5")
    assert result.exit_code == 1
    assert result.stderr == "error: unexpected RuntimeError: boom\n"
    assert "Traceback" in vpsorg("--debug", "servers", "get", "5").stderr


def test_ctrl_c_outside_the_event_loop(vpsorg: Vpsorg, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_servers, "print_servers", interrupted)
    result = vpsorg("servers", "list")
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"


@pytest.mark.sim(faults=Faults(error_rate=1.0, error_statuses=(502,), endpoints={"get_server"}))
def test_retries_are_shown_and_failure_is_one_line(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    server_id = sim.add(name="web-1")
    result = vpsorg("servers", "get", str(server_id))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"info: GET /servers/{server_id}/ failed (502); retry 1 of 2")
    assert lines[-1].startswith(f"error: the API failed to get server {server_id} after 3 attempts")
    assert lines[-1].endswith(": 502 Bad Gateway (502)")
    assert len(lines) == 3  # two retries, one error


def test_unreachable_api(vpsorg: Vpsorg) -> None:
    result = vpsorg("--base-url", "http://127.0.0.1:9/api/v1", "servers", "list")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].startswith("error: could not list servers after ")


def test_verbose_lines_tell_an_attempt_without_an_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    show = _runtime.request_lines()
    common: dict[str, Any] = {
        "endpoint": "get_server", "method": "GET", "path_template": "/servers/{server_id}/",
        "path": "/servers/7/", "server_id": 7, "elapsed": 0.002, "call_elapsed": 0.5,
        "error": None, "final": True,
    }  # fmt: skip
    show(ResponseEvent(**common, attempt=2, status=None, error_type="TransportError"))
    show(
        ResponseEvent(
            **common, attempt=3, status=None, error_type="RequestTimeoutError", sent=False
        )
    )
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("GET /servers/7/ -> no answer (TransportError) in 2.0 ms (attempt 2)")
    assert lines[1].endswith("-> not sent (RequestTimeoutError) in 2.0 ms (attempt 3)")


def test_a_base_url_without_api_v1_is_hinted_at(vpsorg: Vpsorg, sim: ThreadedSimulator) -> None:
    root = sim.url.removesuffix("/api/v1")
    result = vpsorg("--base-url", root, "servers", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot list servers: ")
    assert "does the base URL end in /api/v1" in result.stderr
