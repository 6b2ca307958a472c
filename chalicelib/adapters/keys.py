"""The key formats the DynamoDB adapters share: whose partition an item lives in.

Kept apart from the repositories so that each adapter can import the keys
without importing another repository (``stores.py`` moves a patient's alerts
through ``alerts.py``, which needs the same keys).
"""

from __future__ import annotations

from typing import Any


def patient_pk(patient_id: str) -> str:
    return f"PATIENT#{patient_id}"


def clinician_pk(clinician_id: str) -> str:
    return f"CLINICIAN#{clinician_id}"


def phone_pk(phone: str) -> str:
    return f"PHONE#{phone}"


def phone_item(phone: str, patient_id: str) -> dict[str, Any]:
    """The item inbound SMS finds a patient by, from the sender's number."""
    return {"pk": phone_pk(phone), "sk": patient_pk(patient_id), "entity": "phone", "patient_id": patient_id}
