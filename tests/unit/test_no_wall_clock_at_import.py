"""No test module reads the wall clock when it is imported or collected.

A time computed at collection (a module constant, a parametrize argument, a default
argument, a class attribute) goes stale while the suite runs: "now + 10 min" is no longer
in the future after a slow run. Times are computed inside the test, from the injected clock
where the code has one. This guard parses every ``tests/**/*.py`` and reports any clock read
that is evaluated at import time: outside every function and lambda body. It also reports
an import-time call to a function of the test suite that reads the clock (``glucose()``
whose ``measured_at`` is ``ago(minutes=1)``).
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CLOCK = frozenset(
    {
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
    }
)
# Spelled without an import in sight (a snippet, a name imported some odd way).
CLOCK_BY_SPELLING = frozenset({"datetime.now", "datetime.utcnow", "datetime.today", "date.today"} | CLOCK)

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _aliases(tree: ast.Module, module: str) -> dict[str, str]:
    """Local name -> qualified name, from the module's imports and its own functions."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, Function):
            names[node.name] = f"{module}.{node.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _callee(call: ast.Call, aliases: dict[str, str]) -> tuple[str, str] | None:
    """(as written, qualified) for a call to a plain or dotted name."""
    written = _dotted(call.func)
    if written is None:
        return None
    head, _, rest = written.partition(".")
    qualified = aliases.get(head, head) + (f".{rest}" if rest else "")
    return written, qualified


def _is_clock(written: str, qualified: str) -> bool:
    return qualified in CLOCK or written in CLOCK_BY_SPELLING


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and _dotted(node.test.left) == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators)
    )


def _import_time_calls(tree: ast.Module) -> Iterator[tuple[ast.Call, str]]:
    """Every call evaluated at import time, with where it sits (module level, decorator...)."""

    def signature(args: ast.arguments, where: str) -> Iterator[tuple[ast.expr, str]]:
        for default in [*args.defaults, *args.kw_defaults]:
            if default is not None:
                yield default, f"default argument{where}"
        for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                yield arg.annotation, f"annotation{where}"

    def walk(node: ast.AST, where: str) -> Iterator[tuple[ast.Call, str]]:
        if isinstance(node, Function):
            for decorator in node.decorator_list:
                yield from walk(decorator, f"decorator of {node.name}()")
            for part, kind in signature(node.args, f" of {node.name}()"):
                yield from walk(part, kind)
            if node.returns is not None:
                yield from walk(node.returns, f"annotation of {node.name}()")
            return  # the body runs when the function is called
        if isinstance(node, ast.Lambda):
            for part, kind in signature(node.args, " of a lambda"):
                yield from walk(part, kind)
            return  # the body runs when the lambda is called
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                yield from walk(decorator, f"decorator of class {node.name}")
            for part in [*node.bases, *node.keywords]:
                yield from walk(part, f"class {node.name}")
            for statement in node.body:
                yield from walk(statement, f"body of class {node.name}")
            return
        if isinstance(node, ast.stmt) and _is_main_guard(node):
            return  # runs as a script, not on import
        if isinstance(node, ast.Call):
            yield node, where
        for child in ast.iter_child_nodes(node):
            yield from walk(child, where)

    for statement in tree.body:
        yield from walk(statement, "module level")


def _clock_readers(modules: dict[str, tuple[ast.Module, dict[str, str]]]) -> dict[str, str]:
    """Qualified names of suite functions that read the clock -> what they read (transitively)."""
    calls: dict[str, list[tuple[str, str]]] = {}
    for module, (tree, aliases) in modules.items():
        for node in tree.body:
            if isinstance(node, Function):
                found = (_callee(c, aliases) for c in ast.walk(node) if isinstance(c, ast.Call))
                calls[f"{module}.{node.name}"] = [c for c in found if c is not None]
    readers: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for function, callees in calls.items():
            if function in readers:
                continue
            for written, qualified in callees:
                if _is_clock(written, qualified):
                    readers[function] = f"{written}()"
                elif qualified in readers:
                    readers[function] = f"{written}() -> {readers[qualified]}"
                else:
                    continue
                changed = True
                break
    return readers


def import_time_clock_reads(sources: dict[str, str]) -> list[str]:
    """``file:line: what (where)`` for each clock read evaluated at import time.

    ``sources`` maps a path (relative to the repository) to its source text.
    """
    modules: dict[str, tuple[ast.Module, dict[str, str]]] = {}
    files: dict[str, str] = {}
    for path, source in sources.items():
        module = ".".join(Path(path).with_suffix("").parts)
        tree = ast.parse(source, filename=path)
        modules[module] = (tree, _aliases(tree, module))
        files[module] = path
    readers = _clock_readers(modules)
    found: list[tuple[str, int, str]] = []
    for module, (tree, aliases) in modules.items():
        for call, where in _import_time_calls(tree):
            callee = _callee(call, aliases)
            if callee is None:
                continue
            written, qualified = callee
            if _is_clock(written, qualified):
                found.append((files[module], call.lineno, f"{written}() ({where})"))
            elif qualified in readers:
                found.append((files[module], call.lineno, f"{written}() -> {readers[qualified]} ({where})"))
    return [f"{path}:{line}: {what}" for path, line, what in sorted(found)]


def test_no_test_module_reads_the_wall_clock_at_import() -> None:
    sources = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in sorted((ROOT / "tests").rglob("*.py"))
    }

    found = import_time_clock_reads(sources)

    assert not found, "Compute times inside the test, not at import/collection:\n" + "\n".join(found)


def test_the_guard_reports_clock_reads_at_import_but_not_inside_a_test() -> None:
    source = textwrap.dedent(
        """
        import datetime as dt
        import time
        from datetime import UTC, datetime, timedelta

        import pytest

        STARTED = datetime.now(UTC)


        def ago(minutes):
            return dt.datetime.now(dt.UTC) - timedelta(minutes=minutes)


        EXAMPLES = [ago(5)]


        class TestSomething:
            deadline = time.monotonic() + 60

            @pytest.mark.parametrize("stamp", [time.time()])
            def test_with_a_stamp(self, stamp, at=datetime.now()):
                assert datetime.now(UTC) > STARTED


        def test_inside_a_body_is_fine(make=lambda: datetime.now(UTC), today=lambda: dt.date.today()):
            started = time.perf_counter()
            assert make() and today() and ago(1) and started


        if __name__ == "__main__":
            print(time.time())
        """
    )

    found = import_time_clock_reads({"tests/unit/test_example.py": source})

    assert found == [
        "tests/unit/test_example.py:8: datetime.now() (module level)",
        "tests/unit/test_example.py:15: ago() -> dt.datetime.now() (module level)",
        "tests/unit/test_example.py:19: time.monotonic() (body of class TestSomething)",
        "tests/unit/test_example.py:21: time.time() (decorator of test_with_a_stamp())",
        "tests/unit/test_example.py:22: datetime.now() (default argument of test_with_a_stamp())",
    ]
