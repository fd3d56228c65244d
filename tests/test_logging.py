"""Library logging manners: silent unless asked, ``VPSORG_LOG`` asks, the loggers are named."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import vpsorg_async
from vpsorg_async._logenv import HANDLER_NAME, log_to_stderr

PACKAGE = Path(vpsorg_async.__file__).parent
#: Every logger the package uses, as documented in docs/observability.md and the README.
LOGGERS = {
    "vpsorg_async.http",
    "vpsorg_async.waiters",
    "vpsorg_async.fleet",
    "vpsorg_async.events",
    "vpsorg_async.redis",
}


def run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "VPSORG_LOG"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**environ, **env},
    )


LOG_ALL = (
    "import logging, vpsorg_async\n"
    "logging.getLogger('vpsorg_async.http').debug('a debug line')\n"
    "logging.getLogger('vpsorg_async.fleet').info('an info line')\n"
    "logging.getLogger('vpsorg_async.waiters').warning('a warning line')\n"
)


def test_nothing_reaches_stderr_unasked() -> None:
    assert run(LOG_ALL).stderr == ""


def test_vpsorg_log_turns_on_a_readable_stderr_log_at_import() -> None:
    lines = run(LOG_ALL, VPSORG_LOG="debug").stderr.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith(" DEBUG   vpsorg_async.http: a debug line")
    assert lines[2].endswith(" WARNING vpsorg_async.waiters: a warning line")
    only_warnings = run(LOG_ALL, VPSORG_LOG="WARNING").stderr.splitlines()
    assert [line.split(" ", 1)[1] for line in only_warnings] == [
        "WARNING vpsorg_async.waiters: a warning line"
    ]


def test_an_unknown_vpsorg_log_value_is_ignored() -> None:
    assert run(LOG_ALL, VPSORG_LOG="verbose").stderr == ""


@pytest.fixture
def package_logger() -> Iterator[logging.Logger]:
    """The package logger, put back as it was after the test."""
    logger = logging.getLogger("vpsorg_async")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_the_handler_is_added_once(package_logger: logging.Logger) -> None:
    first = log_to_stderr("info")
    assert first is not None
    assert log_to_stderr(" Info ") is first
    assert [h.get_name() for h in package_logger.handlers].count(HANDLER_NAME) == 1
    assert package_logger.level == logging.INFO
    assert log_to_stderr(None) is None


def _logger_names(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "getLogger"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(str(node.args[0].value))
    return found


def test_every_logger_the_library_uses_is_a_documented_child_of_the_package_logger() -> None:
    library = [p for p in PACKAGE.rglob("*.py") if p.parent.name not in ("cli", "testing")]
    used = set().union(*(_logger_names(path) for path in library))
    used.discard("vpsorg_async")  # the face: only its NullHandler and VPSORG_LOG's handler
    assert used == LOGGERS
    docs = (PACKAGE.parent / "docs" / "observability.md").read_text()
    readme = (PACKAGE.parent / "README.md").read_text()
    for name in LOGGERS:
        assert f"`{name}`" in docs, name
        assert f"`{name}`" in readme, name
