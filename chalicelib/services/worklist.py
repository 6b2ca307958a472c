"""The clinician's worklist: their panel ordered by who needs attention first.

Open critical alerts, then open routine alerts, then open tasks, then the
longest time without a reading, then the fewest device days in the last 30
local days (the RPM supply threshold is 16).  Built from the panel (one
Query), the profiles (BatchGetItem: they carry ``open_tasks`` and
``last_reading_at``, kept by the stream), the clinician's open alert entries
(two Queries) and this and last month's RPM items (BatchGetItem).
A clinician nobody can page shows up as a configuration error; a patient whose
stored targets break a hard limit of docs/clinical.md names those thresholds in
``targets_outside_limits``; ``held_messages_today`` counts the messages held
back today (the patient's local day) by the daily cap on sending (one more
BatchGetItem).  Each patient shown gets an audit record (batched, as a list page's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.billing import month_of
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.targets import targets_outside_limits
from chalicelib.domain.timeutil import parse_iso
from chalicelib.domain.worklist import ConfigurationError, Worklist, WorklistRow
from chalicelib.services.patients import targets_of
from chalicelib.services.ports import ClinicianProfiles, ListAudit, Record

# -- ports ---------------------------------------------------------------------------------


class Panel(Protocol):
    """A clinician's panel: pages of patient profiles in patient-id order; the page key is opaque."""

    def page_panel(self, clinician_id: str, limit: int, start_key: Any) -> tuple[list[Record], Any]: ...


class LiveAlerts(Protocol):
    """The clinician's open and acknowledged alert list entries (``patient_id``, ``priority``, ``unanswered``)."""

    def live_entries(self, clinician_id: str) -> list[Record]: ...


class RpmMonths(Protocol):
    """RPM month records (``device_days``: the local days with a reading) by ``(patient_id, month)``."""

    def months(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        """The months found among ``keys``; a month nobody recorded is left out."""
        ...


class HeldMessages(Protocol):
    """Messages held back by the daily cap on sending (``DynamoMessagingStore``)."""

    def held_on(self, days: dict[str, str]) -> dict[str, int]:
        """Held counts for ``patient_id -> local day``; a patient with nothing counted that day may be left out."""
        ...


class WorklistService:
    def __init__(
        self,
        patients: Panel,
        clinicians: ClinicianProfiles,
        alerts: LiveAlerts,
        summaries: RpmMonths,
        clock: Callable[[], datetime],
        messaging: HeldMessages,
        audit: ListAudit,
    ) -> None:
        self._audit = audit
        self._summaries = summaries
        self._messaging = messaging
        self._patients = patients
        self._clinicians = clinicians
        self._alerts = alerts
        self._clock = clock

    def build(self, principal: Principal) -> Worklist:
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
        unanswered: Counter[str] = Counter()
        for entry in self._alerts.live_entries(principal.subject):
            (critical if entry["priority"] == "critical" else routine)[entry["patient_id"]] += 1
            if entry.get("unanswered"):  # escalation reached level 3 without an acknowledgment
                unanswered[entry["patient_id"]] += 1
        device_days = self._device_days(profiles, now)
        held = self._messaging.held_on(
            {p["patient_id"]: now.astimezone(ZoneInfo(p.get("timezone") or "UTC")).date().isoformat() for p in profiles}
        )
        rows: list[WorklistRow] = []
        for p in profiles:
            last = p.get("last_reading_at")
            rows.append(
                WorklistRow(
                    patient_id=p["patient_id"],
                    given_name=p.get("given_name"),
                    family_name=p.get("family_name"),
                    open_critical_alerts=critical[p["patient_id"]],
                    unanswered_alerts=unanswered[p["patient_id"]],
                    open_routine_alerts=routine[p["patient_id"]],
                    open_tasks=int(p.get("open_tasks", 0)),
                    last_reading_at=last,
                    days_since_last_reading=(now - parse_iso(last)).days if last else None,
                    device_days_last_30=device_days[p["patient_id"]],
                    # Targets stored before the hard limits: reported here, never silently changed.
                    targets_outside_limits=targets_outside_limits(targets_of(p)),
                    # Over the daily cap on sending (docs/api.md "Trust rules"): not sent, someone may call instead.
                    held_messages_today=held.get(p["patient_id"], 0),
                )
            )
        never = 10**6  # no reading at all sorts as the longest gap
        rows.sort(
            key=lambda r: (
                -r.open_critical_alerts,
                -r.unanswered_alerts,
                -r.open_routine_alerts,
                -r.open_tasks,
                -(r.days_since_last_reading if r.days_since_last_reading is not None else never),
                r.device_days_last_30,
            )
        )
        # One audit record per patient shown (names, alert and task counts: PHI), in batches (F5).
        self._audit.record_many(principal, "list", "worklist", [(r.patient_id, None) for r in rows])
        me = self._clinicians.get(principal.subject) or {}
        # Rule 5: a page must be able to wake its clinician; email alone cannot.
        errors = (
            []
            if me.get("phone")
            else [
                ConfigurationError(
                    clinician_id=principal.subject,
                    problem="no real-time channel for pages (a phone): critical pages go to the on-call list",
                )
            ]
        )
        return Worklist(items=rows, configuration_errors=errors)

    def _device_days(self, profiles: list[dict[str, Any]], now: datetime) -> dict[str, int]:
        windows: dict[str, tuple[str, str]] = {}
        keys: list[tuple[str, str]] = []
        for p in profiles:
            today = now.astimezone(ZoneInfo(p.get("timezone") or "UTC")).date()
            first = today - timedelta(days=29)
            windows[p["patient_id"]] = (first.isoformat(), today.isoformat())
            keys += [(p["patient_id"], month) for month in sorted({month_of(first), month_of(today)})]
        months = self._summaries.months(keys)
        days: dict[str, set[str]] = {pid: set() for pid in windows}
        for (pid, _), item in months.items():
            low, high = windows[pid]
            days[pid] |= {d for d in item.get("device_days") or [] if low <= d <= high}
        return {pid: len(found) for pid, found in days.items()}
