"""The service tier: ``AlertService`` on the in-memory fakes of its ports (tests/fakes/), in milliseconds.

Readings are built the way the API builds them (validated, then classified
by the real classifier against the default targets), so a test says "a
glucose of 40 measured now" and gets the stored record the stream would hand
the service.  The tick is the real ``Scheduler`` over the fake due index (``World.tick``),
with the service's handlers registered as ``bootstrap.py`` registers them.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.classification import classify_blood_pressure, classify_glucose
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.messages import Intent
from chalicelib.domain.readings import BloodPressureIn, GlucoseIn
from chalicelib.domain.targets import default_targets
from chalicelib.domain.timeutil import iso
from chalicelib.services.alerts import AlertService
from chalicelib.services.audit import AuditTrail
from chalicelib.services.scheduler import Scheduler
from tests.fakes import AlertWorld

TRENDS = ("recurrent_lows", "sustained_high_home_bp")


class World(AlertWorld):
    """The fakes, the service over them, and a patient ``p-1`` with clinicians to page."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._reading_ids = itertools.count(1)  # per world: the same moves give the same ids (hypothesis replays)
        self.service = AlertService(
            self.alerts,
            self.readings,
            self.patients,
            self.clinicians,
            self.timeline,
            self.outbox,
            AuditTrail(self.audit_log, self.clock),
            CursorCodec(b"unit-test-secret"),
            self.clock,
            "https://console.example",
        )
        # The real scheduler over the fake due index, wired as bootstrap wires the alert handlers.
        self.scheduler = Scheduler(self.due_index)
        self.scheduler.register("alert", self.service.escalate_due)
        self.scheduler.register("digest", self.service.send_digest)

    # -- arranging people ----------------------------------------------------------------------

    def clinician(self, cid: str, phone: bool = True, contacts: tuple[str, ...] = ()) -> str:
        self.clinicians.put(
            {
                "clinician_id": cid,
                "email": f"{cid}@clinic.example",
                **({"phone": "+15555550100"} if phone else {}),
                "escalation_contacts": list(contacts),
            }
        )
        return cid

    def on_call(self, *cids: str) -> None:
        self.clinicians.put_on_call({"clinician_ids": list(cids)})

    def patient(self, pid: str = "p-1", care_team: tuple[str, ...] = ("c-ana",)) -> dict[str, Any]:
        record = {"patient_id": pid, "care_team": list(care_team), "timezone": "UTC", "language": "en"}
        self.patients.put(record)
        return record

    # -- acting ------------------------------------------------------------------------------

    def glucose(
        self,
        value: float | None,
        pid: str = "p-1",
        measured_ago: timedelta = timedelta(0),
        meter_flag: str | None = None,
        reading_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a glucose reading received now and hand it to the service, as the stream does."""
        payload: dict[str, Any] = {
            "type": "blood_glucose",
            "unit": "mg/dL",
            "measured_at": iso(self.clock() - measured_ago),
        }
        if meter_flag:
            payload["meter_flag"] = meter_flag
        else:
            payload["value"] = value
        parsed = GlucoseIn.model_validate(payload, context={"now": self.clock()})
        judgement = classify_glucose(parsed, default_targets())
        return self._store(pid, parsed, judgement, reading_id, {"value_mg_dl": parsed.value_mg_dl})

    def bp(
        self,
        systolic: float,
        diastolic: float,
        pid: str = "p-1",
        measured_ago: timedelta = timedelta(0),
        pulse: float | None = None,
        reading_id: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "type": "blood_pressure",
            "systolic": systolic,
            "diastolic": diastolic,
            "measured_at": iso(self.clock() - measured_ago),
        }
        if pulse is not None:
            payload["pulse"] = pulse
        parsed = BloodPressureIn.model_validate(payload, context={"now": self.clock()})
        judgement = classify_blood_pressure(parsed, default_targets())
        return self._store(pid, parsed, judgement, reading_id, {})

    def _store(
        self, pid: str, parsed: Any, judgement: Any, reading_id: str | None, extra: dict[str, Any]
    ) -> dict[str, Any]:
        flags = list(judgement.flags)
        measured = parsed.measured_at
        if self.clock() - measured > timedelta(hours=6):
            flags.append("late")
        reading = {
            **parsed.model_dump(mode="json", exclude={"measured_at"}),
            **extra,
            "reading_id": reading_id or f"r-{next(self._reading_ids)}",
            "patient_id": pid,
            "measured_at": iso(measured),
            "received_at": iso(self.clock()),
            "classification": {
                "severity": judgement.severity,
                "category": judgement.category,
                "interpretation": judgement.interpretation,
                "flags": flags,
                "guidance_key": judgement.guidance_key,
                "language": "en",
            },
            "request_id": "req-1",
        }
        self.readings.put(reading)
        self.service.on_reading(reading, self.patients.get(pid))
        return reading

    def tick(self, at: datetime | None = None) -> None:
        """The minute tick at ``at`` (default now): the scheduler's escalations first, then every due digest."""
        self.scheduler.tick(at or self.clock())

    def advance(self, minutes: float) -> None:
        """Let time pass, ticking every minute on the way, as EventBridge does.

        A tick that would find nothing due is skipped (it would do nothing; the
        scheduler's sixteen-shard sweep is what makes a tick cost time here).
        """
        for _ in range(int(minutes)):
            now = self.clock.advance(minutes=1)
            if self.alerts.due_escalations(now) or self.alerts.due_digests(now):
                self.tick()

    # -- reading what happened ---------------------------------------------------------------

    def pages(self) -> list[Intent]:
        """Clinician pages enqueued since the last look (one per intent id)."""
        return [i for i in self.outbox.take() if i.intent_id.startswith("page:")]

    def paged(self) -> set[str]:
        return {i.recipient.id for i in self.pages()}

    def only_alert(self, pid: str = "p-1") -> dict[str, Any]:
        alerts = self.alerts.of_patient(pid)
        assert len(alerts) == 1, alerts
        return alerts[0]

    def reading_alert(self, pid: str = "p-1") -> dict[str, Any]:
        """The one alert that is not a trend's (two lows also open a recurrent-lows alert)."""
        alerts = [a for a in self.alerts.of_patient(pid) if a["kind"] not in TRENDS]
        assert len(alerts) == 1, alerts
        return alerts[0]


def clinician_principal(cid: str) -> Principal:
    return Principal(subject=cid, role=Role.CLINICIAN)


def admin_principal() -> Principal:
    return Principal(subject="a-1", role=Role.ADMIN)


@pytest.fixture
def world() -> World:
    w = World()
    w.clinician("c-ana", contacts=("c-eve",))
    w.clinician("c-eve")
    w.clinician("c-oli")
    w.on_call("c-oli")
    w.patient()
    return w
