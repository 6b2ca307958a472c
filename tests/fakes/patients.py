"""In-memory fakes of the people ports: ``PatientStore``, ``ClinicianStore``/``OnCallRoster``, ``PushRegistry``
(chalicelib/services/patients.py, clinic.py) and ``ContactChallenges`` (chalicelib/services/contacts.py).

Each keeps what ``DynamoPatientStore``, ``DynamoClinicianStore``, ``SnsPushRegistry`` and
``DynamoContactStore`` keep, and refuses what their conditional writes refuse: a second
create of the same patient hands back the stored one; a replace of a patient changed since
it was read is a ``ConflictError``; a wrong try counts only against the very code still
pending and with tries left; completing a verification needs the pending value and the
code to be those read.  Pages come in patient-id order, as the panel and the all-patients
index sort them, with an opaque position whenever a page is full (even if nothing follows,
as DynamoDB's LastEvaluatedKey does).  Everything read is a copy without the attributes
DynamoDB does not keep (nulls).  ``tests/contract/test_patient_store.py`` and
``test_contact_challenges.py`` run the same suite on these fakes and on the adapters.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.contacts import FIELD_OF, MAX_TRIES
from chalicelib.domain.errors import ConflictError, InvalidInputError
from chalicelib.domain.timeutil import iso
from tests.fakes import FakeClinicianProfiles, FakePatients, as_read

Record = dict[str, Any]

# What a profile edit never writes: the stream maintains these (DynamoPatientStore.replace).
STREAM_MAINTAINED = frozenset({"open_tasks", "last_reading_at", "channel_stats", "measurement_plan"})
CHALLENGE_TTL = timedelta(days=1)


class FakePatientStore(FakePatients):
    """The ``PatientStore`` port: profiles (and the panels they imply), consents, devices, phone lookups."""

    def __init__(self) -> None:
        super().__init__()
        self.consent_items: dict[str, dict[str, Record]] = {}  # patient -> channel -> consent
        self.device_items: dict[str, dict[str, Record]] = {}  # patient -> device_id -> device
        self.phones: dict[str, set[str]] = {}  # the inbound-SMS lookup: phone -> patients

    # -- profiles --------------------------------------------------------------------------

    def create(self, record: Record) -> Record | None:
        pid = record["patient_id"]
        if pid in self.records:
            return copy.deepcopy(self.records[pid])
        self.records[pid] = as_read({"channel_stats": {c: {} for c in ("push", "sms", "email", "voice")}, **record})
        if record.get("phone"):
            self.phones.setdefault(record["phone"], set()).add(pid)
        return None

    def touch_last_reading(self, patient_id: str, measured_at: str) -> Record | None:
        """Keep the newest measurement time; the profile as it stands after the touch (None: no patient)."""
        stored = self.records.get(patient_id)
        if stored is None:
            return None
        if stored.get("last_reading_at", "") < measured_at:
            stored["last_reading_at"] = measured_at
        return copy.deepcopy(stored)

    def replace(self, record: Record, previous: Record) -> None:
        pid = record["patient_id"]
        stored = self.records.get(pid)
        if stored is None or stored.get("updated_at") != previous["updated_at"]:
            raise ConflictError("The patient was changed by someone else; fetch it and retry.")
        for key, value in record.items():
            if key in STREAM_MAINTAINED:
                continue
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = as_read(value)
        if previous.get("phone") != record.get("phone"):
            if previous.get("phone"):
                self.phones.get(previous["phone"], set()).discard(pid)
            if record.get("phone"):
                self.phones.setdefault(record["phone"], set()).add(pid)

    def _page(self, ids: list[str], limit: int, start: Any) -> tuple[list[Record], Any]:
        after = start["patient_id"] if start else ""
        chosen = [pid for pid in sorted(ids) if pid > after][:limit]
        last = {"patient_id": chosen[-1]} if chosen and len(chosen) == limit else None
        return [copy.deepcopy(self.records[pid]) for pid in chosen], last

    def page_all(self, limit: int, start: Any) -> tuple[list[Record], Any]:
        return self._page(list(self.records), limit, start)

    def panel_ids(self, clinician_id: str) -> list[str]:
        return sorted(pid for pid, r in self.records.items() if clinician_id in r.get("care_team", []))

    def many(self, patient_ids: list[str]) -> dict[str, Record]:
        return {pid: copy.deepcopy(self.records[pid]) for pid in dict.fromkeys(patient_ids) if pid in self.records}

    def page_panel(self, clinician_id: str, limit: int, start: Any) -> tuple[list[Record], Any]:
        panel = [pid for pid, r in self.records.items() if clinician_id in r.get("care_team", [])]
        return self._page(panel, limit, start)

    def patients_by_phone(self, phone: str) -> list[str]:
        """Who inbound SMS finds by this number (``DynamoMessagingStore.patients_by_phone`` on the real table)."""
        return sorted(self.phones.get(phone, set()))

    # -- consents and devices -------------------------------------------------------------

    def consents(self, patient_id: str) -> list[Record]:
        found = self.consent_items.get(patient_id, {})
        return [copy.deepcopy(found[channel]) for channel in sorted(found)]

    def put_consent(self, patient_id: str, consent: Record) -> None:
        item = as_read({"patient_id": patient_id, **consent})
        self.consent_items.setdefault(patient_id, {})[consent["channel"]] = item

    def put_device(self, patient_id: str, device: Record, token: str) -> Record:
        digest = hashlib.sha256(token.encode()).hexdigest()[:32]
        item = as_read({"device_id": digest, **device})
        self.device_items.setdefault(patient_id, {})[digest] = item
        return copy.deepcopy(item)

    def devices(self, patient_id: str) -> list[Record]:
        found = self.device_items.get(patient_id, {})
        return [copy.deepcopy(found[d]) for d in sorted(found)]


class FakeClinicianStore(FakeClinicianProfiles):
    """The ``ClinicianStore`` and ``OnCallRoster`` ports: profiles by id, the on-call record."""


class FakePushRegistry:
    """The ``PushRegistry`` port: one endpoint per platform and token; refuses unconfigured platforms."""

    def __init__(self, platforms: tuple[str, ...] = ("apns", "fcm"), refused: tuple[str, ...] = ()) -> None:
        self.platforms = platforms
        self.refused = set(refused)  # tokens the push service rejects
        self.endpoints: dict[tuple[str, str], str] = {}

    def register(self, platform: str, token: str, owner: str) -> str:
        if platform not in self.platforms:
            raise InvalidInputError(f"Push platform {platform} is not configured for this clinic.")
        if token in self.refused:
            raise InvalidInputError("The device token was rejected by the push service.")
        digest = hashlib.sha256(token.encode()).hexdigest()[:12]
        return self.endpoints.setdefault((platform, token), f"arn:aws:sns:us-east-1:0:endpoint/{platform}/{digest}")


class FakeContactChallenges:
    """The ``ContactChallenges`` port, over the patients it switches to a verified contact."""

    def __init__(self, patients: FakePatientStore) -> None:
        self.patients = patients
        self.challenges: dict[tuple[str, str], Record] = {}

    def challenge(self, patient_id: str, channel: str) -> Record | None:
        found = self.challenges.get((patient_id, channel))
        return copy.deepcopy(found) if found is not None else None

    def put_challenge(self, patient_id: str, challenge: Record, now: datetime) -> None:
        self.challenges[(patient_id, challenge["channel"])] = as_read(
            {"patient_id": patient_id, **challenge, "expires_at": int((now + CHALLENGE_TTL).timestamp())}
        )

    def count_wrong_try(self, patient_id: str, channel: str, code_hash: str) -> bool:
        found = self.challenges.get((patient_id, channel))
        if (
            found is None
            or found.get("code_hash") != code_hash
            or found.get("status") != "pending"
            or int(found.get("tries", 0)) >= MAX_TRIES
        ):
            return False
        found["tries"] = int(found.get("tries", 0)) + 1
        return True

    def complete(self, patient_id: str, challenge: Record, previous: str | None, now: datetime) -> bool:
        channel, address = challenge["channel"], challenge["address"]
        field = FIELD_OF[channel]
        profile = self.patients.records.get(patient_id)
        stored = self.challenges.get((patient_id, channel))
        if profile is None or profile.get(f"{field}_pending") != address:
            return False
        if stored is None or stored.get("code_hash") != challenge["code_hash"] or stored.get("status") != "pending":
            return False
        profile[field] = address
        profile["updated_at"] = iso(now)
        del profile[f"{field}_pending"]
        stored.update(status="verified", verified_at=iso(now))
        if field == "phone" and previous != address:
            self.patients.phones.setdefault(address, set()).add(patient_id)
            if previous:
                self.patients.phones.get(previous, set()).discard(patient_id)
        return True
