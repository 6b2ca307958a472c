"""The project's docs are kept true: routes, clinical boundaries and links.

- docs/api.md names every route the app registers as "METHOD /path" in a
  table whose first column is ``route`` (the local stage's ``/_local/*``
  routes in the ``local route`` table), and names no route the app lacks;
  rows of the ``planned route`` table must not be registered yet.
- docs/clinical.md states every clinical boundary the code uses, in tables
  this test parses and compares with ``chalicelib/domain``: every numeric
  constant of classification, targets, alerts, readings and reminders (a
  ``constant | value`` row each), the hard limits, the glucose profiles, the
  BP default targets, and every number the classifier and alert rules compare
  with directly (a ``function | comparison`` row each).
- Every relative link in README.md and docs/ resolves to a file, and an anchor
  to a heading of that file; no document points outside the repository.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from chalicelib.domain import alerts, classification, readings, reminders, targets

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
API = DOCS / "api.md"
CLINICAL = DOCS / "clinical.md"
METHOD_PATH = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) (/\S*)$")

# -- markdown tables -----------------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    inner = line.strip()[1:-1] if line.strip().endswith("|") else line.strip()[1:]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", inner)]


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every table outside code blocks, as rows keyed by header cell (backticks kept)."""
    found: list[list[dict[str, str]]] = []
    lines = _prose(text).splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and re.fullmatch(r"\s*\|[\s:|-]+\|?\s*", lines[i + 1]):
            header = [cell.lower() for cell in _cells(lines[i])]
            rows, i = [], i + 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append(dict(zip(header, _cells(lines[i]), strict=False)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def column(rows: list[dict[str, str]], name: str) -> bool:
    return bool(rows) and name in rows[0]


def code(cell: str) -> str:
    """The text of the first `code span` in a cell, or the cell."""
    span = re.search(r"`([^`]+)`", cell)
    return span.group(1) if span else cell.strip()


def _prose(text: str) -> str:
    """The text with fenced code blocks blanked (line numbers kept)."""
    return re.sub(r"^```.*?^```", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.M | re.S)


# -- (a) routes ----------------------------------------------------------------------------------------------

APP_ROUTES = """
import json, app
print(json.dumps(sorted(f"{m} {p}" for p, ms in app.app.routes.items() for m in ms)))
"""
# Wherever the local stage keeps them: every Blueprint of devstack/ and chalicelib/api with /_local routes.
LOCAL_ROUTES = """
import importlib, json, pathlib
from chalice import Blueprint, Chalice
found = set()
for folder in ("devstack", "chalicelib/api"):
    for source in sorted(pathlib.Path(folder).glob("*.py")):
        if source.name.startswith("_") or "Blueprint(" not in source.read_text():
            continue
        module = importlib.import_module(f"{folder.replace('/', '.')}.{source.stem}")
        for value in list(vars(module).values()):
            if isinstance(value, Blueprint):
                probe = Chalice("probe")
                probe.register_blueprint(value)
                found |= {f"{m} {p}" for p, ms in probe.routes.items() if p.startswith("/_local") for m in ms}
print(json.dumps(sorted(found)))
"""


def _run(script: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CAREWIRE_STAGE", "AWS_LAMBDA_FUNCTION_NAME")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@cache
def registered_routes() -> frozenset[str]:
    """``import app`` with CAREWIRE_STAGE unset, in a fresh interpreter (this one may have imported it otherwise)."""
    return frozenset(_run(APP_ROUTES))


@cache
def local_routes() -> frozenset[str]:
    return frozenset(_run(LOCAL_ROUTES))


def documented_routes(text: str, first_column: str) -> set[str]:
    routes = set()
    for rows in tables(text):
        if column(rows, first_column) and next(iter(rows[0])) == first_column:
            for row in rows:
                found = METHOD_PATH.match(code(row[first_column]))
                assert found, f"not a 'METHOD /path' in the {first_column!r} table: {row[first_column]!r}"
                routes.add(found.group(0))
    return routes


def undocumented(app_routes: set[str] | frozenset[str], text: str, first_column: str = "route") -> list[str]:
    return sorted(set(app_routes) - documented_routes(text, first_column))


def test_every_route_the_app_registers_is_in_the_api_doc_and_no_other() -> None:
    text = API.read_text(encoding="utf-8")
    app_routes = registered_routes()

    assert len(app_routes) >= 40 and "GET /health" in app_routes
    assert not any(route.split()[1].startswith("/_local") for route in app_routes), "deployed app has local routes"
    api_routes = {r for r in app_routes if not r.split()[1].startswith("/console")}
    assert undocumented(api_routes, text) == []
    assert sorted(documented_routes(text, "route") - api_routes) == [], "documented routes the app does not have"


def test_every_console_route_is_in_the_console_doc_and_no_other() -> None:
    text = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    console_routes = {r for r in registered_routes() if r.split()[1].startswith("/console")}

    assert "GET /console/static/{name}" in console_routes
    assert undocumented(console_routes, text) == []
    assert sorted(documented_routes(text, "route") - console_routes) == [], "documented pages the app does not have"


def test_every_local_stage_route_is_in_the_local_table_of_the_api_doc() -> None:
    text = API.read_text(encoding="utf-8")
    local = local_routes()

    assert {"POST /_local/token", "POST /_local/drain", "GET /_local/outbox"} <= local
    assert undocumented(local, text, "local route") == []
    assert sorted(documented_routes(text, "local route") - local) == []


def test_planned_routes_are_not_registered_yet() -> None:
    planned = documented_routes(API.read_text(encoding="utf-8"), "planned route")

    assert sorted(planned & registered_routes()) == [], "built: move these rows to their section's route table"


def test_the_route_check_fails_on_an_undocumented_route() -> None:
    text = "| route | who |\n| --- | --- |\n| `GET /health` | anyone |\n"

    assert undocumented({"GET /health", "POST /patients"}, text) == ["POST /patients"]
    assert undocumented({"GET /health"}, text.replace("GET /health", "GET /healthz")) == ["GET /health"]


# -- (b) clinical boundaries ---------------------------------------------------------------------------------

BOUNDARY_MODULES: tuple[ModuleType, ...] = (classification, targets, alerts, readings, reminders)
Boundary = float | tuple[float, ...]


def _module_names(module: ModuleType) -> list[str]:
    """Upper-case names assigned at the top of the module's own source (not imported ones)."""
    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    names = []
    for node in tree.body:
        assigned = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names += [t.id for t in assigned if isinstance(t, ast.Name) and t.id.isupper()]
    return names


def as_boundary(value: Any) -> Boundary | None:
    """A number (timedeltas in seconds) or a tuple of numbers; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, tuple) and value and all(isinstance(as_boundary(v), float) for v in value):
        return tuple(float(as_boundary(v) or 0) for v in value)
    return None


def code_boundaries() -> dict[str, Boundary]:
    found: dict[str, Boundary] = {}
    for module in BOUNDARY_MODULES:
        for name in _module_names(module):
            boundary = as_boundary(getattr(module, name))
            if boundary is not None:
                found[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = boundary
    return found


SECONDS = {"s": 1, "min": 60, "h": 3600, "hours": 3600, "day": 86400, "days": 86400}


def parse_value(cell: str) -> Boundary:
    numbers = [float(n) for n in re.findall(r"\d+(?:\.\d+)?", cell)]
    unit = re.search(r"(?<![/\w])(min|h|hours|days?|s)\s*$", cell.strip())
    scale = SECONDS[unit.group(1)] if unit else 1
    numbers = [n * scale for n in numbers]
    return numbers[0] if len(numbers) == 1 else tuple(numbers)


def documented_boundaries(text: str) -> dict[str, Boundary]:
    found: dict[str, Boundary] = {}
    for rows in tables(text):
        if column(rows, "constant") and column(rows, "value"):
            for row in rows:
                found[code(row["constant"])] = parse_value(row["value"])
    return found


def boundary_differences(code_: dict[str, Boundary], documented: dict[str, Boundary]) -> list[str]:
    """Constants missing from the doc, documented with another value, or documented but not in the code."""
    by_name = {qualified.rsplit(".", 1)[-1]: value for qualified, value in code_.items()}
    problems = [f"{name}: undocumented" for name in by_name if name not in documented]
    problems += [f"{n}: code {by_name[n]}, doc {v}" for n, v in documented.items() if n in by_name and by_name[n] != v]
    problems += [f"{name}: not in the code" for name in documented if name not in by_name]
    return sorted(problems)


def test_every_numeric_clinical_constant_is_in_the_clinical_doc_with_its_value() -> None:
    constants = code_boundaries()

    assert {"targets.GLUCOSE_ALWAYS_CRITICAL_BELOW", "alerts.ESCALATE_AFTER", "classification.VERY_HIGH_MG_DL"} <= set(
        constants
    )
    assert boundary_differences(constants, documented_boundaries(CLINICAL.read_text(encoding="utf-8"))) == []


def test_the_hard_limits_table_is_the_code_s() -> None:
    rows = next(rows for rows in tables(CLINICAL.read_text(encoding="utf-8")) if column(rows, "maximum"))

    def bound(cell: str) -> float | None:
        return None if cell.strip() in ("—", "-", "") else float(cell)

    documented = {code(r["threshold"]): (bound(r["minimum"]), bound(r["maximum"]), r["unit"]) for r in rows}
    in_code = {limit.field: (limit.minimum, limit.maximum, limit.unit) for limit in targets.HARD_LIMITS}
    assert documented == in_code


def test_the_glucose_profiles_table_is_the_code_s() -> None:
    rows = next(rows for rows in tables(CLINICAL.read_text(encoding="utf-8")) if column(rows, "profile"))

    documented = {
        code(r["profile"]): (
            float(r["fasting / before_meal high"]),
            float(r["after_meal high"]),
            float(r["bedtime high"]),
            r["comparison"] == "at or above",
        )
        for r in rows
    }
    assert documented == {name: (*map(float, highs[:3]), highs[3]) for name, highs in targets.PROFILE_HIGHS.items()}


def test_the_default_bp_targets_table_is_the_code_s() -> None:
    rows = next(rows for rows in tables(CLINICAL.read_text(encoding="utf-8")) if column(rows, "default"))

    assert {code(r["target"]): float(r["default"]) for r in rows} == targets.BloodPressureTargets().model_dump()


# Comparisons in these functions are about formats, not patients.
NOT_CLINICAL = {"legacy_patient_of_alert": "the shape of alert ids from before ids were opaque"}
OPS = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}


def literal_comparisons(module: ModuleType) -> set[tuple[str, str]]:
    """(innermost function, "op number") for every comparison with a number written in the code."""
    found: set[tuple[str, str]] = set()

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef):
                if child.name not in NOT_CLINICAL:
                    visit(child, child.name)
                continue
            if isinstance(child, ast.Compare):
                for op, right in zip(child.ops, child.comparators, strict=True):
                    if isinstance(right, ast.Constant) and as_boundary(right.value) is not None:
                        found.add((function, f"{OPS[type(op)]} {right.value:g}"))
            visit(child, function)

    visit(ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8")), "<module>")
    return found


def test_every_number_the_classifier_and_alert_rules_compare_with_is_in_the_clinical_doc() -> None:
    rows = next(rows for rows in tables(CLINICAL.read_text(encoding="utf-8")) if column(rows, "function"))
    documented = {(code(r["function"]), code(r["comparison"])) for r in rows}

    in_code = literal_comparisons(classification) | literal_comparisons(alerts)

    assert ("_pulse_severity", "< 40") in in_code
    assert sorted(in_code - documented) == [], "undocumented"
    assert sorted(documented - in_code) == [], "documented but not in the code"


def test_the_safety_net_has_its_fourteen_rules() -> None:
    text = CLINICAL.read_text(encoding="utf-8")
    section = text[text.index("\n## Safety net\n") :]
    section = section[: section.find("\n## ", 1)]

    assert re.findall(r"^(\d+)\. \*\*", section, re.M) == [str(n) for n in range(1, 15)]


def test_the_boundary_check_fails_on_an_undocumented_or_changed_threshold() -> None:
    doc = "| constant | value |\n| --- | --- |\n| `ESCALATE_AFTER` | 15 min |\n| `LOW` | 70 mg/dL |\n"
    documented = documented_boundaries(doc)

    assert documented == {"ESCALATE_AFTER": 900.0, "LOW": 70.0}
    assert boundary_differences({"alerts.ESCALATE_AFTER": 900.0, "targets.LOW": 70.0}, documented) == []
    assert boundary_differences({"alerts.ESCALATE_AFTER": 600.0, "targets.LOW": 70.0}, documented) == [
        "ESCALATE_AFTER: code 600.0, doc 900.0"
    ]
    assert boundary_differences(
        {"alerts.ESCALATE_AFTER": 900.0, "targets.LOW": 70.0, "targets.NEW": 3.0}, documented
    ) == ["NEW: undocumented"]
    assert parse_value("10 \N{EN DASH} 600 mg/dL") == (10.0, 600.0) and parse_value("7 days") == 7 * 86400.0


# -- (c) links -----------------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    found: set[str] = set()
    for line in _prose(path.read_text(encoding="utf-8")).splitlines():
        if heading := re.match(r"^#{1,6}\s+(.+?)\s*#*\s*$", line):
            base = slug(heading.group(1))
            anchor, n = base, 0
            while anchor in found:
                n += 1
                anchor = f"{base}-{n}"
            found.add(anchor)
    return frozenset(found)


def broken_links(path: Path, text: str | None = None) -> list[str]:
    broken = []
    for match in LINK.finditer(_prose(path.read_text(encoding="utf-8") if text is None else text)):
        target = match.group(1) or match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            broken.append(f"{path.relative_to(ROOT)}: {target} (no such file in the repository)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    return broken


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_the_link_check_fails_on_a_missing_file_or_heading() -> None:
    text = "[a](missing.md) [b](design.md#no-such-heading) [c](design.md#retry-safe-writes) [d](../../outside.md)"

    assert broken_links(DOCS / "api.md", text) == [
        "docs/api.md: missing.md (no such file in the repository)",
        "docs/api.md: design.md#no-such-heading (no such heading)",
        "docs/api.md: ../../outside.md (no such file in the repository)",
    ]
    assert slug("The 360° view: timeline, `trends`") == "the-360-view-timeline-trends"


SKIPPED_FOLDERS = {".git", ".venv", "node_modules", ".data", "cdk.out", "chalice.out", "__pycache__"}


def project_files() -> list[Path]:
    """Every .md and .py file of the project (not of its virtualenv, node modules or build output)."""
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [d for d in subfolders if d not in SKIPPED_FOLDERS and not d.startswith(".")]
        found += [Path(folder) / name for name in files if name.endswith((".md", ".py"))]
    return sorted(found)


def test_nothing_points_at_a_reference_outside_the_repository() -> None:
    outside = []
    for path in project_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "shared/" + "docs" in line:
                outside.append(f"{path.relative_to(ROOT)}:{number}")
    assert outside == []
