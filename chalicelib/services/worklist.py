"""The clinician's worklist: their panel ordered by who needs attention first.

Open critical alerts, then open routine alerts, then open tasks, then the
longest time without a reading.  Built from the panel (one Query), the
profiles (BatchGetItem: they carry ``open_tasks`` and ``last_reading_at``,
kept by the stream) and the clinician's open alert entries (two Queries).
A clinician nobody can page shows up as a configuration error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.stores import DynamoClinicianStore, DynamoPatientStore
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.timeutil import parse_iso


class WorklistService:
    def __init__(
        self,
        patients: DynamoPatientStore,
        clinicians: DynamoClinicianStore,
        alerts: Any,
        clock: Callable[[], datetime],
    ) -> None:
        self._patients = patients
        self._clinicians = clinicians
        self._alerts = alerts
        self._clock = clock

    def build(self, principal: Principal) -> dict[str, Any]:
        principal.require(Role.CLINICIAN)
        now = self._clock()
        profiles: list[dict[str, Any]] = []
        start = None
        while True:
            page, start = self._patients.page_panel(principal.subject, 500, start)
            profiles += page
            if not start:
                break
        critical: Counter[str] = Counter()
        routine: Counter[str] = Counter()
        for status in ("open", "acknowledged"):
            for entry in self._alerts._alerts.clinician_entries(principal.subject, status):
                (critical if entry["priority"] == "critical" else routine)[entry["patient_id"]] += 1
        rows = []
        for p in profiles:
            last = p.get("last_reading_at")
            days = (now - parse_iso(last)).days if last else None
            rows.append(
                {
                    "patient_id": p["patient_id"],
                    "given_name": p.get("given_name"),
                    "family_name": p.get("family_name"),
                    "open_critical_alerts": critical[p["patient_id"]],
                    "open_routine_alerts": routine[p["patient_id"]],
                    "open_tasks": int(p.get("open_tasks", 0)),
                    "last_reading_at": last,
                    "days_since_last_reading": days,
                }
            )
        never = 10**6  # no reading at all sorts as the longest gap
        rows.sort(
            key=lambda r: (
                -r["open_critical_alerts"],
                -r["open_routine_alerts"],
                -r["open_tasks"],
                -(r["days_since_last_reading"] if r["days_since_last_reading"] is not None else never),
            )
        )
        me = self._clinicians.get(principal.subject) or {}
        reachable = any(me.get(field) for field in ("phone", "email"))
        errors = [] if reachable else [{"clinician_id": principal.subject, "problem": "no reachable channel for pages"}]
        return {"items": rows, "configuration_errors": errors}
