"""FHIR R4 export: the patient and every reading as standard Observations.

Codes per docs/clinical.md: BP panel 85354-9 (with the ``bp`` profile) whose
components are systolic 8480-6 and diastolic 8462-4 in ``mm[Hg]``; heart rate
8867-4 in ``/min`` as its own Observation; capillary glucose 41653-7 (mg/dL)
or 14743-9 (mmol/L), in the unit the patient submitted.  Interpretation uses
the v3 ObservationInterpretation codes N, L, H, LL, HH.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from chalicelib.domain.errors import FieldError, RecordTooLargeError
from chalicelib.domain.patients import Patient
from chalicelib.domain.readings import Reading
from chalicelib.domain.timeutil import iso

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
BP_PROFILE = "http://hl7.org/fhir/StructureDefinition/bp"
HR_PROFILE = "http://hl7.org/fhir/StructureDefinition/heartrate"
READING_ID_SYSTEM = "urn:carewire:reading-id"
NAMESPACE = uuid.UUID("6f1c2a53-9a0e-4d38-8f3a-6a1b1c0e7c21")
_FHIR_ID = re.compile(r"^[A-Za-z0-9.-]{1,64}$")
INTERPRETATION_TEXT = {"N": "Normal", "L": "Low", "H": "High", "LL": "Critical low", "HH": "Critical high"}


def fhir_id(value: str) -> str:
    """Our ids may contain "_", which FHIR ids may not; such ids become a stable hash."""
    return value if _FHIR_ID.match(value) else "cw-" + hashlib.sha256(value.encode()).hexdigest()[:40]


def full_url(resource_type: str, resource_id: str) -> str:
    """Bundle entries are addressed by stable urn:uuid values, so references resolve inside the bundle."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{resource_type}/{resource_id}')}"


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _quantity(value: float, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _interpretation(code: str) -> list[dict[str, Any]]:
    return [_coding(INTERPRETATION_SYSTEM, code, INTERPRETATION_TEXT[code])]


def _category(code: str, display: str) -> list[dict[str, Any]]:
    return [_coding(CATEGORY_SYSTEM, code, display)]


def _base(reading: Reading, suffix: str = "") -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id(reading.reading_id + suffix),
        "identifier": [{"system": READING_ID_SYSTEM, "value": reading.reading_id + suffix}],
        "status": "final",
        "subject": {"reference": full_url("Patient", fhir_id(reading.patient_id))},
        "effectiveDateTime": iso(reading.measured_at),
        "issued": iso(reading.received_at),
    }
    if reading.device_id:
        observation["device"] = {"display": reading.device_id}
    return observation


def glucose_observation(reading: Reading) -> dict[str, Any]:
    mmol = reading.unit == "mmol/L"
    code, display = (
        ("14743-9", "Glucose [Moles/volume] in Capillary blood by Glucometer")
        if mmol
        else (
            "41653-7",
            "Glucose [Mass/volume] in Capillary blood by Glucometer",
        )
    )
    observation = _base(reading)
    observation.update(
        category=_category("laboratory", "Laboratory"),
        code=_coding(LOINC, code, display),
        interpretation=_interpretation(reading.classification.interpretation),
    )
    if reading.value is not None:
        observation["valueQuantity"] = _quantity(reading.value, reading.unit, reading.unit)
    else:
        # The meter showed LO/HI: out of its measuring range, no number to report.
        observation["valueString"] = f"{reading.meter_flag} (outside the meter's range)"
    if reading.context:
        observation["note"] = [{"text": f"context: {reading.context}"}]
    return observation


def blood_pressure_observations(reading: Reading) -> list[dict[str, Any]]:
    assert reading.systolic is not None and reading.diastolic is not None
    panel = _base(reading)
    panel.update(
        meta={"profile": [BP_PROFILE]},
        category=_category("vital-signs", "Vital Signs"),
        code=_coding(LOINC, "85354-9", "Blood pressure panel with all children optional"),
        interpretation=_interpretation(reading.classification.interpretation),
        component=[
            {
                "code": _coding(LOINC, "8480-6", "Systolic blood pressure"),
                "valueQuantity": _quantity(reading.systolic, "mmHg", "mm[Hg]"),
            },
            {
                "code": _coding(LOINC, "8462-4", "Diastolic blood pressure"),
                "valueQuantity": _quantity(reading.diastolic, "mmHg", "mm[Hg]"),
            },
        ],
    )
    observations = [panel]
    if reading.pulse is not None:
        heart_rate = _base(reading, "-hr")
        heart_rate.update(
            meta={"profile": [HR_PROFILE]},
            category=_category("vital-signs", "Vital Signs"),
            code=_coding(LOINC, "8867-4", "Heart rate"),
            valueQuantity=_quantity(reading.pulse, "beats/minute", "/min"),
            derivedFrom=[{"reference": full_url("Observation", panel["id"])}],
        )
        observations.append(heart_rate)
    return observations


def patient_resource(patient: Patient) -> dict[str, Any]:
    telecom = []
    if patient.phone:
        telecom.append({"system": "phone", "value": patient.phone, "use": "mobile"})
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id(patient.patient_id),
        "identifier": [{"system": "urn:carewire:patient-id", "value": patient.patient_id}],
        "name": [{"family": patient.family_name, "given": [patient.given_name]}],
        "communication": [{"language": _coding("urn:ietf:bcp:47", patient.language, patient.language)}],
    }
    if telecom:
        resource["telecom"] = telecom
    if patient.birth_date:
        resource["birthDate"] = patient.birth_date.isoformat()
    if patient.mrn:
        resource["identifier"].append(
            {
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]},
                "system": "urn:carewire:mrn",
                "value": patient.mrn,
            }
        )
    return resource


# One HTTP answer carries at most 6 MB (a Lambda's synchronous response), measured with the body
# escaped inside the proxy integration's JSON envelope; 5 MiB leaves the envelope and headers room.
DOCUMENT_BUDGET = 5 * 1024 * 1024


def bundle(
    patient: Patient, readings: Iterable[Reading], timestamp: str, budget: int = DOCUMENT_BUDGET
) -> dict[str, Any]:
    """The patient and ``readings`` as one collection Bundle, or RecordTooLargeError past ``budget``.

    ``readings`` is consumed lazily and no further than the budget: a record of 100,000 readings is
    refused after the first few thousand, not read whole and then refused.
    """
    document: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "timestamp": timestamp, "entry": []}
    size = _enveloped_size(document)
    for entry in itertools.chain(entries([patient_resource(patient)]), _entries_of(readings)):
        size += _enveloped_size(entry) + 2  # and the ", " before it
        if size > budget:
            raise RecordTooLargeError(
                "The record is too large for one document: ask for it in pages with everything=true.",
                [FieldError("everything", "true: this record is exported in pages")],
            )
        document["entry"].append(entry)
    return document


def _entries_of(readings: Iterable[Reading]) -> Iterator[dict[str, Any]]:
    for reading in readings:
        yield from entries(reading_resources(reading))


def _enveloped_size(value: Any) -> int:
    """Bytes of ``value`` as JSON once escaped as the string body of the integration's envelope."""
    text = json.dumps(value)  # ASCII (ensure_ascii), as the view sends it
    return len(text) + text.count('"') + text.count("\\")


# -- the whole record (GET /patients/{pid}/export?everything=true) --------------------------------------

FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {"sms": ("SMSWRIT", "SMS message"), "email": ("EMAILWRIT", "email"), "voice": ("PHONE", "telephone")}
WEEKDAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
# A message's delivery status as a Communication's (FHIR event status).
COMMUNICATION_STATUS = {
    "queued": "preparation",
    "sent": "completed",
    "delivered": "completed",
    "received": "completed",
    "unknown": "unknown",
}


def _patient_ref(patient_id: str) -> dict[str, str]:
    return {"reference": full_url("Patient", fhir_id(patient_id))}


def consent_resource(patient_id: str, episode: dict[str, Any]) -> dict[str, Any] | None:
    """An episode's RPM consent (none recorded: no resource)."""
    consent = episode.get("rpm_consent")
    if not consent:
        return None
    period = {
        "start": episode["starts_on"],
        **({"end": episode["discharged_on"]} if episode.get("discharged_on") else {}),
    }
    return {
        "resourceType": "Consent",
        "id": fhir_id(f"consent-{episode['episode_id']}"),
        "status": "inactive" if episode.get("status") == "discharged" else "active",
        "scope": _coding(CONSENT_SCOPE, "treatment", "Treatment"),
        "category": [_coding(LOINC, "59284-0", "Patient Consent")],
        "patient": _patient_ref(patient_id),
        "dateTime": consent["at"],
        "performer": [{"display": consent["recorded_by"]}],
        "policyRule": {
            "coding": [{"system": ACT_CODE, "code": "OPTIN", "display": "opt-in"}],
            "text": f"Remote physiologic monitoring ({', '.join(episode.get('programs') or [])}); {consent['method']}",
        },
        "provision": {"period": period},
    }


def flag_resource(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert: active while open or acknowledged, its period from opening to resolution."""
    what = (alert.get("condition") or alert.get("kind") or "alert").replace("_", " ")
    period = {"start": alert["opened_at"], **({"end": alert["resolved_at"]} if alert.get("resolved_at") else {})}
    return {
        "resourceType": "Flag",
        "id": fhir_id(alert["alert_id"]),
        "status": "inactive" if alert.get("status") == "resolved" else "active",
        "category": [_coding(FLAG_CATEGORY, "clinical", "Clinical")],
        "code": {"text": f"{alert.get('priority', 'routine').capitalize()} alert: {what}"},
        "subject": _patient_ref(alert["patient_id"]),
        "period": period,
    }


def communication_resource(patient_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """A message of the conversation, either direction, with its delivery status."""
    outgoing = message.get("direction") == "out"
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": fhir_id(f"msg-{message['message_id']}"),
        "status": COMMUNICATION_STATUS.get(str(message.get("status")), "not-done"),
        "subject": _patient_ref(patient_id),
        ("sent" if outgoing else "received"): message["at"],
    }
    if message.get("text"):  # an empty text (an MMS with no words) has no payload: FHIR strings are not empty
        resource["payload"] = [{"contentString": message["text"]}]
    if outgoing:
        resource["recipient"] = [_patient_ref(patient_id)]
        resource["sender"] = {"display": "care team"}
    else:
        resource["sender"] = _patient_ref(patient_id)
    medium = MEDIUM.get(str(message.get("channel")))
    if medium:
        resource["medium"] = [_coding(PARTICIPATION_MODE, medium[0], medium[1])]
    return resource


def care_plan_resource(patient_id: str, reminders: list[dict[str, Any]]) -> dict[str, Any]:
    """The patient's reminders as one CarePlan, one activity each, with its local times and days."""
    activities = []
    for reminder in reminders:
        what = reminder["kind"].replace("_", " ")
        label = f" ({reminder['label']})" if reminder.get("label") else ""
        activities.append(
            {
                "detail": {
                    "kind": "Task",
                    "status": "scheduled" if reminder.get("active") else "stopped",
                    "description": f"{what}{label} at {', '.join(reminder['times'])} local time",
                    "scheduledTiming": {"repeat": _repeat(reminder)},
                }
            }
        )
    plan: dict[str, Any] = {
        "resourceType": "CarePlan",
        "id": fhir_id(f"reminders-{patient_id}"),
        "status": "active" if any(r.get("active") for r in reminders) else "completed",
        "intent": "plan",
        "title": "Reminders",
        "subject": _patient_ref(patient_id),
    }
    if activities:
        plan["activity"] = activities
    return plan


def _repeat(reminder: dict[str, Any]) -> dict[str, Any]:
    """A reminder's times and days as a Timing's repeat, leaving out what is empty (FHIR has no empty arrays)."""
    repeat: dict[str, Any] = {}
    if reminder.get("times"):
        repeat["timeOfDay"] = [f"{t}:00" for t in reminder["times"]]
    days = [d for d in reminder.get("days") or [] if d in WEEKDAYS]
    if days:
        repeat["dayOfWeek"] = days
    return repeat


def reading_resources(reading: Reading) -> list[dict[str, Any]]:
    return [glucose_observation(reading)] if reading.type == "blood_glucose" else blood_pressure_observations(reading)


def entries(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"fullUrl": full_url(r["resourceType"], r["id"]), "resource": r} for r in resources]
