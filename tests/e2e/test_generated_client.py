"""A client generated from the committed openapi.json works against the local stack.

``openapi-python-client`` (pinned in requirements-dev.txt) generates the client
into a temporary directory at test time, offline: it reads the file, and its
formatting post-hooks run the venv's ruff.  The scenario goes through the
generated functions and models only: enrol a patient as an admin, post a
reading as the patient, list it, and list the alert it raised as a clinician.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.e2e.conftest import Http

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PACKAGE = "carewire_client"
# literal_enums: the tzdata zone names include GMT+0, GMT-0 and GMT0, one Python enum member name.
# The SVG chart is bytes to a client (the generator reads only JSON, text/* and octet-stream bodies).
CONFIG = f"""\
package_name_override: {PACKAGE}
literal_enums: true
content_type_overrides:
  image/svg+xml: application/octet-stream
"""
# Any attempt to reach the network fails fast instead of passing silently.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def _generate(into: Path) -> Path:
    config = into / "config.yaml"
    config.write_text(CONFIG)
    package = into / PACKAGE
    result = subprocess.run(
        [
            str(VENV_BIN / "openapi-python-client"),
            "generate",
            "--path",
            str(ROOT / "openapi.json"),
            "--meta",
            "none",
            "--output-path",
            str(package),
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        env={**os.environ, **OFFLINE, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return package


@pytest.fixture(scope="module")
def client_package(tmp_path_factory: pytest.TempPathFactory) -> Any:
    into = tmp_path_factory.mktemp("generated")
    _generate(into)
    sys.path.insert(0, str(into))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(into))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_the_generated_client_has_one_module_per_tag_and_one_function_module_per_operation(
    client_package: ModuleType,
) -> None:
    import json

    document = json.loads((ROOT / "openapi.json").read_text())
    operations = [op for ops in document["paths"].values() for op in ops.values()]
    api = Path(client_package.__file__).parent / "api"

    tags = {p.name for p in api.iterdir() if p.is_dir() and not p.name.startswith("_")}
    functions = {p.stem for p in api.glob("*/*.py") if p.stem != "__init__"}

    assert tags == {op["tags"][0] for op in operations}
    assert functions == {op["operationId"] for op in operations}


def test_a_generated_client_enrols_a_patient_records_a_reading_lists_it_and_lists_the_alert(
    http: Http, clinic: dict[str, Any], client_package: ModuleType
) -> None:
    client_module = _module(client_package, "client")
    create_patient = _module(client_package, "api.patients.create_patient")
    post_reading = _module(client_package, "api.readings.post_reading")
    list_readings = _module(client_package, "api.readings.list_readings")
    list_alerts = _module(client_package, "api.alerts.list_alerts")
    models = _module(client_package, "models")

    def as_(role: str, subject: str) -> Any:
        return client_module.AuthenticatedClient(
            base_url=http.base, token=http.token(role, subject), raise_on_unexpected_status=True
        )

    enrolment = models.PatientIn.from_dict(
        {
            "patient_id": "p-generated",
            "given_name": "Lia",
            "family_name": "Costa",
            "timezone": "America/New_York",
            "care_team": ["c-1"],
            "channels": ["sms"],
            "phone": "+15551230077",
        }
    )
    stage_now = http.call("POST", "/_local/drain").json()["now"]  # other tests may have moved the stage clock
    reading = models.GlucoseIn.from_dict(
        {"type": "blood_glucose", "value": 45, "unit": "mg/dL", "context": "fasting", "measured_at": stage_now}
    )

    enrolled = create_patient.sync_detailed(client=as_("admin", "a-1"), body=enrolment)
    posted = post_reading.sync_detailed("p-generated", client=as_("patient", "p-generated"), body=reading)
    history = list_readings.sync("p-generated", client=as_("patient", "p-generated"))
    http.call("POST", "/_local/drain")  # alerts are raised from the table stream
    alerts = list_alerts.sync(client=as_("clinician", "c-1"), patient_id="p-generated")

    assert enrolled.status_code == 201, enrolled.content
    assert isinstance(enrolled.parsed, models.Patient)
    assert enrolled.parsed.patient_id == "p-generated"
    assert posted.status_code == 201, posted.content
    assert isinstance(posted.parsed, models.Reading)
    assert posted.parsed.classification.severity == "critical_low"
    assert isinstance(posted.parsed.received_at, datetime)
    assert [r.reading_id for r in history.items] == [posted.parsed.reading_id]
    assert [(a.patient_id, a.kind, a.priority) for a in alerts.items] == [("p-generated", "critical_low", "critical")]
    assert alerts.items[0].reading_ids == [posted.parsed.reading_id]
