"""The hazard log is kept true: every control names tests that exist, and every safety-net rule has a hazard.

docs/safety/hazard-log.md lists hazards (what could harm a patient), their
causes and their controls; under each control a ``verified by:`` line names
the pytest node ids that show it.  This test fails when a control has no
test, when a named test does not exist (renamed or deleted), or when one of
docs/clinical.md's safety-net rules (1-14) or the targets' hard limits is covered
by no hazard.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG = ROOT / "docs" / "safety" / "hazard-log.md"
NODE = re.compile(r"`(tests/[\w/]+\.py)::([\w:]+)`")
CONTROL = re.compile(r"^\s*- \*\*(C[\d.]+)\*\*")
HAZARD = re.compile(r"^## (H\d+)\b")
RULES = re.compile(r"^- \*\*Rules\*\*: (.+)$")


def parse(text: str) -> dict[str, dict[str, list[str]]]:
    """{hazard: {control: [node ids]}}, plus each hazard's rules under the key "rules"."""
    hazards: dict[str, dict[str, list[str]]] = {}
    hazard = control = None
    for line in text.splitlines():
        if found := HAZARD.match(line):
            hazard, control = found.group(1), None
            hazards[hazard] = {"rules": []}
        elif hazard and (found := RULES.match(line)):
            hazards[hazard]["rules"] = [r.strip() for r in found.group(1).split(",")]
        elif hazard and (found := CONTROL.match(line)):
            control = found.group(1)
            hazards[hazard][control] = []
        elif hazard and control and "verified by:" in line:
            hazards[hazard][control] += [f"{path}::{name}" for path, name in NODE.findall(line)]
    return hazards


@cache
def _defined(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{m.name}" for m in node.body if isinstance(m, ast.FunctionDef)}
            names.add(node.name)
        elif isinstance(node, ast.Assign):  # a generated test case, e.g. TestX = Machine.TestCase
            names |= {t.id for t in node.targets if isinstance(t, ast.Name) and t.id.startswith("Test")}
    return names


def exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    return (ROOT / path).is_file() and name in _defined(path)


def test_every_control_of_the_hazard_log_names_tests_that_exist() -> None:
    hazards = parse(LOG.read_text())

    untested = [
        f"{h}/{c}" for h, controls in hazards.items() for c, ids in controls.items() if c != "rules" and not ids
    ]
    missing = sorted(
        {
            n
            for controls in hazards.values()
            for c, ids in controls.items()
            if c != "rules"
            for n in ids
            if not exists(n)
        }
    )

    assert len(hazards) >= 15
    assert untested == [], "controls without a test"
    assert missing == [], "tests named in the hazard log that do not exist"


def test_every_safety_net_rule_and_the_hard_limits_have_a_hazard() -> None:
    hazards = parse(LOG.read_text())

    covered = {rule for controls in hazards.values() for rule in controls["rules"]}

    assert {str(n) for n in range(1, 15)} | {"hard limits"} <= covered


def test_the_checker_catches_a_missing_test_and_an_untested_control() -> None:
    log = """## H1 — something
- **Rules**: 1
- **Controls**:
  - **C1.1** a control
    - verified by: `tests/unit/test_hazard_log.py::test_does_not_exist`
  - **C1.2** another control
"""
    hazards = parse(log)

    assert hazards["H1"]["C1.1"] == ["tests/unit/test_hazard_log.py::test_does_not_exist"]
    assert not exists(hazards["H1"]["C1.1"][0])
    assert hazards["H1"]["C1.2"] == []
    assert exists("tests/unit/test_hazard_log.py::test_the_checker_catches_a_missing_test_and_an_untested_control")
