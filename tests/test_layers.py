"""The layers: every module of the package has a rank and imports only lower ranks; the public
modules import cheaply; the CLI goes through the public faces.

The ranks are ARCHITECTURE.md as a table: core < waiters < fleet < the package's face < the
simulator < the CLI. Nothing lower imports anything higher (a lazy import inside a function
counts too), so there is no import cycle; a new module must be given its rank here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import vpsorg_async

PACKAGE = Path(vpsorg_async.__file__).parent
ROOT = "vpsorg_async"

#: Each module's rank (``""`` is the package's own face). Models and errors are leaves everyone
#: may import; within a group the order is the one its imports need.
LAYER = {
    # the core
    "_policy": -1,  # imports nothing; every module may read its numbers, the errors' too
    "_version": 0,
    "_redact": 0,
    "_ratelimit": 0,
    "_status": 0,
    "_deadline": -1,  # the deadline and the clock/sleep types; imports nothing
    "_slots": 0,
    "_keywords": 0,  # keyword arguments declared once (a TypedDict and its defaults)
    "_attempt_timer": 0,  # the attempts' shared deadline timers; reads _policy only
    "_errors": 1,
    "_validate": 2,
    "_logonce": 2,
    "_logenv": 0,
    "_events": 2,  # the hooks' records; names the endpoint row and the tracer for types only
    "_answers": 2,
    "_config": 3,
    "_proxy": 4,  # checks a proxy against the base URL; no I/O
    "_models": 3,
    "_seams": 4,  # protocols and their in-process defaults; names the Server model
    "_convert": 4,
    "_endpoints": 4,
    "_wire": 5,
    "_body": 5,
    "_otel": 5,  # imported only when tracing is on (by _observe, lazily)
    "_observe": 6,
    "_session": 6,
    "_methods": 6,  # names Client only for type checking
    "_pages": 7,  # the walks Client's methods use; Client itself only for type checking
    "_views": 7,  # with_options: a session layer viewing another; Client for type checking
    "_raw": 8,  # with_raw_response: a view answering RawResponse; Client for type checking
    "_reconcile": 8,
    "_client": 9,
    # waiting: on the client's public methods only
    "waiters._rules": 10,
    "waiters._schedule": 10,
    "waiters._judge": 11,
    "waiters._sweep": 12,
    "waiters._watcher": 13,
    "waiters._wait": 14,
    "waiters": 15,
    # fleets: on waiters
    "fleet._outcome": 20,
    "fleet._reach": 20,
    "fleet._steps": 20,
    "fleet._options": 20,
    "fleet._shard": 20,
    "fleet._ops": 21,
    "fleet._runner": 21,
    "fleet._calls": 22,
    "fleet": 23,
    # Redis, for many processes: plugs into the core's seams; nothing below imports it
    "redis._link": 25,
    "redis._sightings": 25,
    "redis._locks": 26,
    "redis._pacer": 26,
    "redis._board": 26,
    "redis._coordinator": 27,
    "redis": 28,
    # the package's face: hands out the client, waiters and fleets lazily
    "": 30,
    # the simulator: apart from the library, which never imports it
    "testing._catalogue": 40,
    "testing._timing": 40,
    "testing._ledger": 40,
    "testing._validation": 41,
    "testing._faults": 41,
    "testing._state": 41,
    "testing._handlers": 42,
    "testing._app": 43,
    "testing.examples": 40,
    "testing._server": 44,
    "testing._serve": 45,
    "testing": 46,
    "testing.pytest_plugin": 47,
    "testing.__main__": 47,
    # the command line: on the public faces only
    "cli._words": 49,
    "cli._describe": 50,
    "cli._output": 50,
    "cli._progress": 50,
    "cli._runtime": 51,
    "cli._servers": 52,
    "cli._fleet": 53,
    "cli._demo": 53,
    "cli._app": 54,
    "cli": 55,
    "cli.__main__": 56,
}
#: What the CLI may import of the package: the public faces (and its own modules).
PUBLIC = {ROOT, f"{ROOT}.waiters", f"{ROOT}.fleet", f"{ROOT}.testing", f"{ROOT}.redis"}


def module_file(module: str) -> Path | None:
    """The file of ``module`` (a dotted name under the package, ``""`` for the face), if any."""
    base = PACKAGE.joinpath(*module.split(".")) if module else PACKAGE
    if module and base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    face = base / "__init__.py"
    return face if face.is_file() else None


def every_module() -> set[str]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.add(".".join(parts))
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            skipped.update(id(inner) for child in node.body for inner in ast.walk(child))
    return [node for node in ast.walk(tree) if id(node) not in skipped]


def package_imports(module: str) -> set[str]:
    """The package modules ``module`` imports, as dotted names under the package (``""``: its face).

    Every form counts, anywhere in the file (lazy imports inside functions too):
    ``import vpsorg_async.x``, ``from vpsorg_async.x import n``, ``from . import x``,
    ``from ..x import n``; a name that is itself a module (``from .. import _policy``) is that
    module. Imports under ``if TYPE_CHECKING:`` are for annotations only and never run: they
    may name a higher layer (the walks in ``_pages`` annotate the ``Client`` that calls them).
    """
    path = module_file(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def add(target: str, names: list[str]) -> None:
        subs = [
            f"{target}.{n}".lstrip(".") for n in names if module_file(f"{target}.{n}".lstrip("."))
        ]
        found.update(subs)
        if len(subs) < len(names):  # some names are defined by ``target`` itself
            found.add(target)

    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == ROOT or alias.name.startswith(f"{ROOT}."):
                    found.add(alias.name.removeprefix(ROOT).lstrip("."))
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                parts = package.split(".") if package else []
                base = parts[: len(parts) - node.level + 1]
                target = ".".join([*base, *(node.module or "").split(".")]).strip(".")
                add(target, names)
            elif node.module and (node.module == ROOT or node.module.startswith(f"{ROOT}.")):
                add(node.module.removeprefix(ROOT).lstrip("."), names)
    return found - {module}


def test_every_module_of_the_package_has_a_rank() -> None:
    modules = every_module()
    assert modules - set(LAYER) == set(), "rank the new module(s) in LAYER"
    assert set(LAYER) - modules == set(), "LAYER names module(s) that no longer exist"


@pytest.mark.parametrize("module", sorted(LAYER))
def test_a_module_imports_only_lower_ranks(module: str) -> None:
    for imported in package_imports(module):
        assert LAYER[imported] < LAYER[module], f"{module or ROOT} imports {imported or ROOT}"


def test_the_import_scanner_sees_every_form() -> None:
    assert {"_policy", "_convert", "_errors"} <= package_imports("_session")
    assert package_imports("_errors") == {"_redact"}
    # an import for annotations only (under ``if TYPE_CHECKING:``) is not a runtime edge
    assert "_client" not in package_imports("_pages")
    assert "_models" in package_imports("_pages")
    # from .. import _policy; from ..waiters import ...; from ..waiters._sweep import ...
    assert {"_policy", "waiters", "waiters._sweep", "_seams"} <= package_imports("fleet._ops")
    # import vpsorg_async.fleet as value (lazy, inside __getattr__)
    assert {"fleet", "waiters", "_client", "_convert"} <= package_imports("")
    # from vpsorg_async import ...; from vpsorg_async.waiters import ...; lazy from ._demo
    assert {"", "waiters", "cli._demo", "cli._runtime"} <= package_imports("cli._app")
    assert package_imports("cli.__main__") == {"cli"}


@pytest.mark.parametrize("module", sorted(m for m in LAYER if m.startswith("cli")))
def test_the_cli_imports_only_the_public_faces(module: str) -> None:
    for imported in package_imports(module):
        assert imported.startswith("cli") or f"{ROOT}.{imported}".strip(".") in PUBLIC, imported


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``statement``."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(result.stdout.split())


def test_the_library_loads_no_server_test_or_cli_code() -> None:
    loaded = _loaded_after(
        "import vpsorg_async.waiters, vpsorg_async.fleet\nfrom vpsorg_async import Client"
    )
    assert "vpsorg_async._client" in loaded  # the client really was imported
    bad = {
        m
        for m in loaded
        if m == "aiohttp.web"
        or m.startswith(("aiohttp.web_", f"{ROOT}.testing", f"{ROOT}.cli"))
        or m.startswith(f"{ROOT}.redis")
        or m.split(".")[0] in {"pytest", "hypothesis", "aioresponses", "click", "rich", "redis"}
    }
    assert bad == set()


def test_waiters_and_fleet_import_no_http_code() -> None:
    loaded = _loaded_after("import vpsorg_async.waiters, vpsorg_async.fleet")
    assert {f"{ROOT}.waiters._watcher", f"{ROOT}.fleet._runner"} <= loaded
    http = {m for m in loaded if m.split(".")[0] in {"aiohttp", "yarl", "multidict"}}
    assert http == set()
    assert f"{ROOT}._client" not in loaded
    assert f"{ROOT}._session" not in loaded


def test_the_public_surface_is_one_file() -> None:
    for name in vpsorg_async.__all__:
        assert hasattr(vpsorg_async, name), name
    private = [n for n in vpsorg_async.__all__ if n.startswith("_") and n != "__version__"]
    assert private == []
    assert (PACKAGE / "py.typed").exists()
