"""What the help says: no promise the API does not keep, and what the commands really do."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest

from vpsorg_async.cli._app import cli

from .helpers import Vpsorg


def _commands(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


@pytest.fixture
def vpsorg_alone(monkeypatch: pytest.MonkeyPatch) -> Vpsorg:
    return Vpsorg(None, monkeypatch)


def _help(vpsorg: Vpsorg, *path: str) -> str:
    result = vpsorg(*path, "--help")
    assert result.exit_code == 0, result.stderr
    return " ".join(result.stdout.split())  # one line: click wraps where it likes


def test_no_help_claims_names_are_unique(vpsorg_alone: Vpsorg) -> None:
    """The API document does not make server names unique; no help text may say it does."""
    paths = list(_commands(cli))
    assert ("servers", "create") in paths
    for path in paths:
        assert "unique" not in _help(vpsorg_alone, *path).lower(), path


def test_create_help_says_what_reconcile_adopts(vpsorg_alone: Vpsorg) -> None:
    text = _help(vpsorg_alone, "servers", "create")
    assert "lets two servers share a name" in text
    assert "same name, plan, OS and location, and not there before the request" in text
    assert "lists the candidates" in text


def test_group_help_names_the_exit_codes_and_what_quiet_hides(vpsorg_alone: Vpsorg) -> None:
    text = _help(vpsorg_alone)
    assert "130 Ctrl-C, 143 SIGTERM" in text
    assert "no progress, spinners or retry warnings" in text


def test_only_create_mentions_provisioning_in_its_timeout(vpsorg_alone: Vpsorg) -> None:
    assert "provisioning takes 2-5 minutes" in _help(vpsorg_alone, "servers", "create")
    for action in ("start", "stop", "reboot", "delete"):
        text = _help(vpsorg_alone, "servers", action)
        assert "provisioning" not in text, action
        assert (
            "deadline of --wait (starting, stopping, rebooting or deleting takes seconds)" in text
        )
