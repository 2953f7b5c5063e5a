"""Static structure checks: no import cycle among the project's modules, no oversized file in the package.

The import graph is read with ``ast`` from the source folders as installed (``lexicons/`` is
``affectlens.lexicons``, ``export/`` is ``affectlens.export``, ``handlers/`` is ``affectlens.handlers``).
Imports inside functions count (they still run, and a cycle hidden in a function is still a cycle); imports in
``if TYPE_CHECKING:`` blocks do not. Dynamic imports (``importlib.import_module``) are not followed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {  # module prefix -> source folder (pyproject's package-dir)
    "affectlens": ROOT / "affectlens",
    "affectlens.lexicons": ROOT / "lexicons",
    "affectlens.export": ROOT / "export",
    "affectlens.handlers": ROOT / "handlers",
}
MAX_LINES = 500


def project_modules() -> dict[str, Path]:
    """Every project module name -> its file (packages by their ``__init__.py``)."""
    modules: dict[str, Path] = {}
    for prefix, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if any(p.startswith(".") or p == "__pycache__" for p in parts) or "default_model" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((prefix, *parts))
            if prefix == "affectlens" and len(parts) > 0 and f"affectlens.{parts[0]}" in PACKAGE_DIRS:
                continue  # a folder of the same name inside affectlens/ would shadow nothing: skip it
            modules[name] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements anywhere in ``node`` (functions included), skipping ``if TYPE_CHECKING:`` bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _imports_in(other)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _imports(child)


def _imports_in(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    yield from _imports(node)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _imports(tree):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                source = _resolve(name, path.name == "__init__.py", node)
                candidates = [f"{source}.{alias.name}" for alias in node.names if alias.name != "*"] + [source]
            for candidate in candidates:
                # the deepest project module named by the import (``a.b.c`` -> ``a.b`` when c is a name)
                while candidate and candidate not in modules:
                    candidate = candidate.rpartition(".")[0]
                if candidate and candidate != name:
                    targets.add(candidate)
                    break
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import b\nelse:\n    import c\n"
        "def f():\n    from . import d\n    import e.sub\n"
    )
    tree = ast.parse(source)
    found = {alias.name for n in _imports(tree) if isinstance(n, ast.Import) for alias in n.names}
    assert found == {"c", "e.sub"}
    assert (
        _resolve("pkg.mod", False, next(n for n in _imports(tree) if isinstance(n, ast.ImportFrom) and n.level))
        == "pkg"
    )
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_module_map_follows_the_package_dirs() -> None:
    modules = project_modules()
    assert modules["affectlens.lexicons.vader"] == ROOT / "lexicons" / "vader.py"
    assert modules["affectlens.handlers.affectlens_handler"] == ROOT / "handlers" / "affectlens_handler.py"
    assert modules["affectlens.serving"] == ROOT / "affectlens" / "serving" / "__init__.py"
    graph = import_graph(modules)
    # absolute imports from handlers/, one of them inside a function (the engine is imported lazily)
    assert {"affectlens.config", "affectlens.serving.requests", "affectlens.engine"} <= graph[
        "affectlens.handlers.affectlens_handler"
    ]
    # relative imports in lexicons/ resolve under the installed name
    assert {"affectlens.lexicons.base", "affectlens.lexicons.negation_cues"} <= graph["affectlens.lexicons.negation"]
    assert all(target in modules for targets in graph.values() for target in targets)


def test_no_import_cycles_among_the_project_modules() -> None:
    found = cycles(import_graph(project_modules()))
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(" <-> ".join(c) for c in found)


@pytest.mark.parametrize("folder", sorted({p.relative_to(ROOT).parts[0] for p in PACKAGE_DIRS.values()}))
def test_no_file_in_the_package_is_over_500_lines(folder: str) -> None:
    """Every source folder that installs as part of ``affectlens`` (``lexicons/``, ``export/``, ``handlers/`` too)."""
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"files over {MAX_LINES} lines: {too_long}"
