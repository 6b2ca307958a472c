"""The README's first session, run as a newcomer would run it: its shell block, with bash, against the e2e stack.

The block is taken from README.md itself (the ```sh blocks after "A first session with the local stack" in the
Quick start section), so the examples cannot drift from the API. Ids and phone numbers are rewritten to fresh
ones, because the e2e stack is shared with the other e2e tests (a patient's phone number is looked up on
inbound SMS, and the conftest's p-1 has the README's number).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from chalicelib.settings import Settings
from devstack.stack import ROOT, Stack, free_port

README = ROOT / "README.md"
FIRST_SESSION_MARKER = "A first session with the local stack"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """A stack of its own, as fresh as a newcomer's `make run`: the README's times are the wall clock's,
    while the shared e2e stack's clock may have been travelled days or years ahead by other tests."""
    running = Stack(api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None).start()
    yield running
    running.stop()


FENCED_SH = re.compile(r"^```(?:sh|bash|shell)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
PHONE = re.compile(r"\+1555\d{7}\b")


def quick_start_section(readme: str) -> str:
    start = readme.index("\n## Quick start\n")
    following = readme.find("\n## ", start + 1)
    return readme[start : following if following != -1 else len(readme)]


def first_session_script(readme_path: Path) -> str:
    section = quick_start_section(readme_path.read_text(encoding="utf-8"))
    after_marker = section[section.index(FIRST_SESSION_MARKER) :]
    return "\n".join(block.group(1) for block in FENCED_SH.finditer(after_marker))


def for_the_e2e_stack(script: str, api_url: str, patient_id: str, clinician_id: str) -> str:
    phones: dict[str, str] = {}

    def fresh_phone(match: re.Match[str]) -> str:
        # Unique to this patient, and the same on a second run for the same patient.
        seed = uuid.uuid5(uuid.NAMESPACE_URL, f"{patient_id}/{match.group(0)}").int
        return phones.setdefault(match.group(0), f"+1555{seed % 10**7:07d}")

    script = script.replace("localhost:8000", urlsplit(api_url).netloc)
    script = re.sub(r"\bp-123\b", patient_id, script)
    script = re.sub(r"\bc-1\b", clinician_id, script)
    return PHONE.sub(fresh_phone, script)


def json_values(output: str) -> list[Any]:
    """Every JSON document in the output, in order (lines that are not JSON are skipped)."""
    decoder = json.JSONDecoder()
    values, position = [], 0
    while position < len(output):
        if output[position].isspace():
            position += 1
            continue
        try:
            value, position = decoder.raw_decode(output, position)
        except json.JSONDecodeError:
            next_line = output.find("\n", position)
            position = len(output) if next_line == -1 else next_line + 1
            continue
        values.append(value)
    return values


def run_first_session(
    stack: Stack, patient_id: str | None = None, clinician_id: str | None = None
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    patient_id = patient_id or f"p-readme-{uuid.uuid4().hex[:8]}"
    clinician_id = clinician_id or f"c-readme-{uuid.uuid4().hex[:8]}"
    script = for_the_e2e_stack(first_session_script(README), stack.api_url, patient_id, clinician_id)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    return result, patient_id, clinician_id


def test_every_request_of_the_readme_first_session_that_sends_a_body_says_it_is_json() -> None:
    commands = first_session_script(README).replace("\\\n", " ").splitlines()

    curls = [command for command in commands if "curl " in command]
    with_a_body = [command for command in curls if re.search(r"\s(-d|--data\S*)\s", command)]

    assert len(with_a_body) >= 5, "the first session enrols, authenticates and posts a reading"
    assert all("Content-Type: application/json" in command for command in with_a_body)
    assert all("curl -fsS " in command for command in curls), "a failing request must fail the script"
    assert all("localhost:8000" in command for command in curls)


def test_readme_first_session_enrols_a_patient_and_pages_the_care_team_on_a_critical_reading(stack: Stack) -> None:
    result, patient_id, clinician_id = run_first_session(stack)

    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    documents = json_values(result.stdout)
    objects = [document for document in documents if isinstance(document, dict)]
    health, outbox = documents[0], documents[-1]
    assert health["status"] == "ok"
    assert any(o.get("patient_id") == patient_id and o.get("care_team") == [clinician_id] for o in objects)
    assert any(o.get("severity") == "critical_low" and o.get("interpretation") == "LL" for o in objects)
    assert {"reading", "alert_opened"} <= {o.get("kind") for o in objects}
    assert isinstance(outbox, list)
    # The page names the clinic and links the alert, never the patient (docs/clinical.md "Safety net" rule 14).
    pages = [message["body"] for message in outbox if "CRITICAL alert" in (message["body"] or "")]
    assert pages, outbox
    encoded_id = base64.urlsafe_b64encode(patient_id.encode()).decode().rstrip("=")
    for page in pages:
        assert Settings.model_fields["clinic_name"].default in page and re.search(r"\S/alerts/\S", page), page
        assert patient_id not in page and encoded_id not in page, page


def test_running_the_readme_first_session_twice_is_safe(stack: Stack) -> None:
    first, patient_id, clinician_id = run_first_session(stack)

    again, _, _ = run_first_session(stack, patient_id, clinician_id)

    assert first.returncode == 0, first.stderr
    assert again.returncode == 0, f"stdout:\n{again.stdout}\nstderr:\n{again.stderr}"
    enrolments = [o for o in json_values(again.stdout) if isinstance(o, dict) and o.get("patient_id") == patient_id]
    assert enrolments and enrolments[0]["care_team"] == [clinician_id]
