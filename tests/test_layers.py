"""The core's layering: data flows one way, and importing the client pulls in no server code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import vpsorg_async

PACKAGE = Path(vpsorg_async.__file__).parent
#: Higher layers may import lower ones, never the other way round (STYLE.md: "Nothing lower
#: imports anything higher; models and errors are leaves everyone may import").
LAYER: dict[str, float] = {
    "_version": 0,
    "_policy": -1,  # imports nothing; every module may read its numbers, the errors' too
    "_redact": 0,
    "_slots": 0,
    "_errors": 0.5,
    "_answers": 1,
    "_ratelimit": 0,
    "_status": 0,
    "_deadline": 0,
    "_seams": 3,  # protocols only; names the Server model (for type checking alone)
    "_validate": 1,
    "_logonce": 1,
    "_models": 2,
    "_convert": 3,
    "_endpoints": 3,
    "_wire": 3.5,
    "_session": 4,
    "_config": 1,
    "_methods": 4,  # names Client only for type checking
    "_pages": 5,  # the walks Client's methods use; Client itself only for type checking
    "_reconcile": 6,
    "_client": 7,
}
#: The core this suite covers; everything else in the package (waiters, fleet and their private
#: helpers, testing, cli) is built on top of it.
CORE = sorted(LAYER)
#: The parts built on top of the core, which the core must never import.
UPPER = {"waiters", "fleet", "testing", "cli"}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def package_imports(module: str) -> set[str]:
    """The package modules ``module`` imports (``._x``, ``vpsorg_async.x``, ``from . import x``)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("vpsorg_async."):
                    found.add(alias.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.module and node.module.startswith("vpsorg_async"):
                parts = node.module.split(".")
                if len(parts) > 1:
                    found.add(parts[1])
                else:
                    found.update(alias.name for alias in node.names)
    return found


def test_every_core_module_exists() -> None:
    for module in CORE:
        assert (PACKAGE / f"{module}.py").is_file(), module


@pytest.mark.parametrize("module", CORE)
def test_core_never_imports_the_upper_parts(module: str) -> None:
    assert package_imports(module) & UPPER == set()


@pytest.mark.parametrize("module", CORE)
def test_core_imports_only_lower_layers(module: str) -> None:
    for imported in package_imports(module):
        # a module outside the core (say ``_fleet``) has no layer here: importing it fails too
        assert LAYER.get(imported, 99) < LAYER[module], f"{module} imports {imported}"


def test_the_import_scanner_sees_every_form() -> None:
    assert {"_policy", "_convert", "_errors"} <= package_imports("_session")
    assert "_session" in package_imports("_client")
    assert package_imports("_errors") == {"_redact"}
    # an import for annotations only (under ``if TYPE_CHECKING:``) is not a runtime edge
    assert "_client" not in package_imports("_pages")
    assert "_models" in package_imports("_pages")


def test_importing_the_client_loads_no_server_or_test_code() -> None:
    code = (
        "import sys, vpsorg_async\n"
        "bad = [m for m in sys.modules if m == 'aiohttp.web' or m.startswith(("
        "'aiohttp.web_', 'vpsorg_async.testing', 'vpsorg_async.cli', 'pytest', 'hypothesis', "
        "'aioresponses', 'click', 'rich'))]\n"
        "print(','.join(sorted(bad)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_the_public_surface_is_one_file() -> None:
    for name in vpsorg_async.__all__:
        assert hasattr(vpsorg_async, name), name
    private = [n for n in vpsorg_async.__all__ if n.startswith("_") and n != "__version__"]
    assert private == []
    assert (PACKAGE / "py.typed").exists()
