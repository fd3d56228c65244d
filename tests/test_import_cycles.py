"""No import cycle among the modules of the package or of the benchmarks.

Imports inside functions count (they only defer the cycle), imports under ``TYPE_CHECKING`` do
not (they never run). A package's ``__init__`` counts as the package itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("vpsorg_async", "benchmarks")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The ``known`` modules that ``path`` imports at run time (``from . import x`` included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = node.module or ""
            if node.level:
                target = ".".join([*base, *([node.module] if node.module else [])])
            # ``from pkg import mod`` imports the module; ``from pkg import name``, the package
            modules = {f"{target}.{alias.name}" for alias in node.names} & known
            found.update(modules)
            if len(modules) < len(node.names):
                found.add(target)
    return (found & known) - {name}


def import_graph() -> dict[str, set[str]]:
    paths = [path for root in ROOTS for path in (REPO / root).rglob("*.py")]
    known = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, known) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as ``[a, b, ..., a]``, or ``None``."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once every path from it is seen

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_the_scanner_sees_relative_absolute_and_deferred_imports() -> None:
    graph = import_graph()
    assert "benchmarks.call_breakdown" in graph["benchmarks.per_call"]  # inside a function
    assert "benchmarks._harness" in graph["benchmarks.per_call"]  # from ._harness import ...
    assert "vpsorg_async.testing.examples" in graph["benchmarks.waiters_scale"]  # absolute
    assert "vpsorg_async.testing._server" in graph["vpsorg_async.testing._serve"]


def test_the_cycle_finder_finds_one() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a"}}) is None


@pytest.mark.parametrize("root", ROOTS)
def test_no_import_cycle(root: str) -> None:
    graph = import_graph()
    assert find_cycle({m: e for m, e in graph.items() if m.startswith(root)}) is None
