"""What ships imports one way: no import cycle among app.py and chalicelib, and no tooling imported by either.

A cycle is a module that, through what it imports, imports itself.  At import
time it is a crash waiting for the next reordering of imports; through a
deferred import (inside a function) it still makes two modules that cannot be
read or changed apart: app.py and the local routes were one such pair
(app.py registered them; they imported app.py for the event runner).  The graph
is read from the source with ``ast``, nothing is imported; imports under
``if TYPE_CHECKING:`` never run and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLING = {"devstack", "tests", "bench", "infra"}
# Deferred-import cycles tolerated for now (a cycle not listed here fails; delete an entry once the pair is
# untangled).  None: adapters/stores.py and adapters/alerts.py were the last pair, untangled by moving the
# key helpers both need to adapters/keys.py.
KNOWN_DEFERRED_CYCLES: list[list[str]] = []

Graph = dict[str, set[str]]


def product_modules(
    root: Path, packages: Iterable[str] = ("chalicelib",), scripts: Iterable[str] = ("app",)
) -> dict[str, Path]:
    """Dotted module name -> source file, for the scripts and every module of the packages under ``root``."""
    found = {name: root / f"{name}.py" for name in scripts}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every dotted name a module imports (``from a.b import c`` gives ``a.b.c``), deferred ones if asked."""

    def __init__(self, package: str, deferred: bool) -> None:
        self.names: set[str] = set()
        self._package = package
        self._deferred = deferred

    def visit_If(self, node: ast.If) -> None:
        if not _type_checking(node.test):
            self.generic_visit(node)
            return
        for child in node.orelse:
            self.visit(child)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if self._deferred:
            self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            anchor = self._package.split(".")[: len(self._package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        self.names.add(base)
        self.names.update(f"{base}.{alias.name}" for alias in node.names)


def imported_names(name: str, path: Path, deferred: bool) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    visitor = _Imports(package, deferred)
    visitor.visit(ast.parse(path.read_text(), filename=str(path)))
    return visitor.names


def import_graph(modules: dict[str, Path], deferred: bool) -> Graph:
    """Module -> the modules among ``modules`` it imports (a name resolves to its longest module prefix)."""
    graph: Graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_names(name, path, deferred):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_module_of_the_package_imports_itself_at_import_time() -> None:
    graph = import_graph(product_modules(ROOT), deferred=False)

    assert cycles(graph) == []


def test_no_module_of_the_package_reaches_itself_even_through_a_deferred_import() -> None:
    graph = import_graph(product_modules(ROOT), deferred=True)

    found = cycles(graph)

    assert [c for c in found if c not in KNOWN_DEFERRED_CYCLES] == []


def test_app_and_chalicelib_import_no_tooling_and_chalicelib_never_imports_app() -> None:
    modules = product_modules(ROOT)
    forbidden = TOOLING | {"app"}

    offenders = {}
    for name, path in modules.items():
        tops = {imported.split(".")[0] for imported in imported_names(name, path, deferred=True)}
        if tops & forbidden:
            offenders[name] = sorted(tops & forbidden)

    assert offenders == {}


@pytest.mark.parametrize(("deferred", "expected"), [(False, []), (True, [["pkg.a", "pkg.b"]])])
def test_the_check_finds_a_cycle_through_a_deferred_import_and_ignores_type_checking_ones(
    tmp_path: Path, deferred: bool, expected: list[list[str]]
) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def later():\n    from pkg import b\n")
    (package / "b.py").write_text("from . import a\nimport pkg.c\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.b\n")
    (tmp_path / "main.py").write_text("import pkg.b\n")
    modules = product_modules(tmp_path, packages=("pkg",), scripts=("main",))

    found = cycles(import_graph(modules, deferred=deferred))

    assert found == expected
