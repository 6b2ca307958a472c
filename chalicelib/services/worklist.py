"""The clinician's worklist: their panel ordered by who needs attention first, and the care team's reviews.

The order is chalicelib/domain/worklist.py's (docs/console.md "Worklist"): open critical alerts (oldest
unacknowledged first), unanswered alerts, open routine alerts, open tasks, stale data, then the rest by
triage bucket.  Built without a request per patient:

- the panel: one Query per 500 patients, and the profiles (BatchGetItem; they carry ``open_tasks`` and
  ``last_reading_at``, kept by the stream); then, side by side (chalicelib/readers.py: a read of 100 keys
  a task, so the page waits for the slowest read rather than the sum of about 26 for 500 patients):
- the clinician's open and acknowledged alert entries (two Queries);
- this and last month's RPM items (BatchGetItem): device days of the last 30 local days, care minutes;
- the messages held back today by the daily cap on sending (BatchGetItem);
- each patient's RECENT item (BatchGetItem): the compact records of the last 15 local days, triaged here;
- each patient's REVIEW item (BatchGetItem): the care team's last "Mark reviewed";
- the care team's clinician profiles (one BatchGetItem): names for the filter, and whether the clinician
  can be paged (no phone is a configuration error).

A patient whose stored targets break a hard limit of docs/clinical.md names those thresholds in
``targets_outside_limits``.  Each patient shown gets an audit record (batched, as a list page's; over 100
patients, one view item that the table's stream expands: chalicelib/adapters/stores.py).

"Mark reviewed" is a review of the patient by anyone on the care team (one item per patient: who and
when), undoable by the reviewer: the undo puts back the review it replaced.  Both are audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib import readers
from chalicelib.domain.billing import month_of
from chalicelib.domain.errors import ForbiddenError
from chalicelib.domain.identity import Principal, Role, is_care_team
from chalicelib.domain.targets import targets_outside_limits
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.domain.triage import triage_records
from chalicelib.domain.worklist import (
    CareTeamMember,
    ConfigurationError,
    Review,
    Worklist,
    WorklistFilter,
    WorklistRow,
    need_key,
    reviewed_on,
)
from chalicelib.services.patients import targets_of
from chalicelib.services.ports import ListAudit, PatientAccess, Record

BATCH = 100  # keys of one BatchGetItem

# -- ports ---------------------------------------------------------------------------------


class Panel(Protocol):
    """A clinician's panel: pages of patient profiles in patient-id order; the page key is opaque."""

    def page_panel(self, clinician_id: str, limit: int, start_key: Any) -> tuple[list[Record], Any]: ...


class ClinicianDirectory(Protocol):
    """Clinician profiles by id, many at once (names, phone, time zone)."""

    def many(self, clinician_ids: list[str]) -> dict[str, Record]: ...


class LiveAlerts(Protocol):
    """The clinician's open and acknowledged alert list entries (``patient_id``, ``priority``, ``status``,
    ``opened_at``, ``unanswered``)."""

    def live_entries(self, clinician_id: str) -> list[Record]: ...


class RpmMonths(Protocol):
    """RPM month records by ``(patient_id, month)``: ``device_days`` (local days with a reading), ``care_minutes``."""

    def months(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        """The months found among ``keys``; a month nobody recorded is left out."""
        ...


class HeldMessages(Protocol):
    """Messages held back by the daily cap on sending (``DynamoMessagingStore``)."""

    def held_on(self, days: dict[str, str]) -> dict[str, int]:
        """Held counts for ``patient_id -> local day``; a patient with nothing counted that day may be left out."""
        ...


class RecentReadings(Protocol):
    """Each patient's recent-reading records (chalicelib/domain/triage.py strings), kept by the stream."""

    def recent(self, patient_ids: list[str]) -> dict[str, list[str]]:
        """The records by patient; a patient with none may be left out."""
        ...


class Reviews(Protocol):
    """The care team's last review of each patient and the one it replaced (chalicelib/adapters/reviews.py).

    Each answers the review as it is after the request: ``reviewed_at``, ``reviewed_by``, ``previous_at``,
    ``previous_by`` (None: never), ``has_previous`` (an undo has something to put back) and ``changed``
    (whether this request wrote it).
    """

    def mark(self, patient_id: str, at: str, by: str, seen: str | None) -> Record:
        """Review now, if the last review is still ``seen`` (None: never reviewed)."""
        ...

    def undo(self, patient_id: str, reviewed_at: str, by: str) -> Record:
        """Put back the previous review, if ``by``'s review at ``reviewed_at`` is still the last one."""
        ...

    def many(self, patient_ids: list[str]) -> dict[str, Record]: ...


class WorklistService:
    def __init__(
        self,
        patients: Panel,
        clinicians: ClinicianDirectory,
        alerts: LiveAlerts,
        summaries: RpmMonths,
        clock: Callable[[], datetime],
        messaging: HeldMessages,
        audit: ListAudit,
        recent: RecentReadings,
        reviews: Reviews,
        access: PatientAccess,
    ) -> None:
        self._audit = audit
        self._summaries = summaries
        self._messaging = messaging
        self._patients = patients
        self._clinicians = clinicians
        self._alerts = alerts
        self._clock = clock
        self._recent = recent
        self._reviews = reviews
        self._access = access

    # -- the worklist ------------------------------------------------------------------------

    def build(self, principal: Principal, keep: WorklistFilter | None = None) -> Worklist:
        """The panel in the order of need; with ``keep``, only the rows it keeps (and only those audited)."""
        principal.require(Role.CLINICIAN)
        now = self._clock()
        profiles: list[dict[str, Any]] = []
        start = None
        while True:
            page, start = self._patients.page_panel(principal.subject, 500, start)
            profiles += page
            if not start:
                break
        pids = [p["patient_id"] for p in profiles]
        team = sorted({principal.subject, *(c for p in profiles for c in p.get("care_team") or [])})
        windows, month_keys = _month_windows(profiles, now)
        # The reads below are independent: they run side by side (chalicelib/readers.py), 100 keys (one
        # BatchGetItem) a task, so the page waits for the slowest read, not for their sum.
        entries_f = readers.submit(partial(self._alerts.live_entries, principal.subject))
        clinicians_f = readers.submit(partial(self._clinicians.many, team))
        months_f = [readers.submit(partial(self._summaries.months, keys)) for keys in _chunks(month_keys)]
        held_f = [
            readers.submit(
                partial(self._messaging.held_on, {p["patient_id"]: _today(p, now).isoformat() for p in chunk})
            )
            for chunk in _chunks(profiles)
        ]
        recent_f = [readers.submit(partial(self._recent.recent, chunk)) for chunk in _chunks(pids)]
        reviews_f = [readers.submit(partial(self._reviews.many, chunk)) for chunk in _chunks(pids)]
        entries = entries_f.result()
        clinicians = clinicians_f.result()
        found_months = {k: v for f in months_f for k, v in f.result().items()}
        held = {k: v for f in held_f for k, v in f.result().items()}
        recent = {k: v for f in recent_f for k, v in f.result().items()}
        reviews = {k: v for f in reviews_f for k, v in f.result().items()}
        critical: Counter[str] = Counter()
        routine: Counter[str] = Counter()
        unanswered: Counter[str] = Counter()
        oldest: dict[str, str] = {}  # the oldest critical alert nobody has acknowledged, by patient
        for entry in entries:
            pid = entry["patient_id"]
            (critical if entry["priority"] == "critical" else routine)[pid] += 1
            if entry.get("unanswered"):  # escalation reached level 3 without an acknowledgment
                unanswered[pid] += 1
            if entry["priority"] == "critical" and entry.get("status", "open") == "open":
                opened = str(entry.get("opened_at") or "")
                oldest[pid] = min(oldest.get(pid, opened), opened)
        months = _month_counts(windows, found_months)
        me = clinicians.get(principal.subject) or {}
        my_day = now.astimezone(ZoneInfo(me.get("timezone") or "UTC")).date()
        rows: list[WorklistRow] = []
        for p in profiles:
            pid = p["patient_id"]
            last = p.get("last_reading_at")
            review = reviews.get(pid) or {}
            device_days, care_minutes = months[pid]
            rows.append(
                WorklistRow(
                    patient_id=pid,
                    given_name=p.get("given_name"),
                    family_name=p.get("family_name"),
                    open_critical_alerts=critical[pid],
                    unanswered_alerts=unanswered[pid],
                    open_routine_alerts=routine[pid],
                    open_tasks=int(p.get("open_tasks", 0)),
                    last_reading_at=last,
                    days_since_last_reading=(now - parse_iso(last)).days if last else None,
                    device_days_last_30=device_days,
                    # Targets stored before the hard limits: reported here, never silently changed.
                    targets_outside_limits=targets_outside_limits(targets_of(p)),
                    # Over the daily cap on sending (docs/api.md "Trust rules"): not sent, someone may call instead.
                    held_messages_today=held.get(pid, 0),
                    triage_bucket=triage_records(recent.get(pid, []), _today(p, now)),
                    oldest_unacknowledged_critical_at=oldest.get(pid) or None,
                    care_minutes_month=care_minutes,
                    reviewed_at=review.get("reviewed_at"),
                    reviewed_by=review.get("reviewed_by"),
                    reviewed_today=reviewed_on(review.get("reviewed_at"), my_day, me.get("timezone") or "UTC"),
                    care_team=list(p.get("care_team") or []),
                )
            )
        rows.sort(key=need_key)
        if keep is not None:
            rows = [r for r in rows if keep.keeps(r)]
        # One audit record per patient shown (names, alert and task counts: PHI), in batches (F5); a panel of
        # more than 100 is one view item, which the stream expands (chalicelib/adapters/stores.py).
        self._audit.record_many(principal, "list", "worklist", [(r.patient_id, None) for r in rows])
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
        members = [CareTeamMember(clinician_id=cid, name=_name(clinicians.get(cid))) for cid in team]
        return Worklist(items=rows, configuration_errors=errors, care_team_members=members)

    # -- reviews ------------------------------------------------------------------------------

    def mark_reviewed(self, principal: Principal, patient_id: str, seen: str | None) -> Review:
        """Mark the patient reviewed now, over the review the caller saw (``seen``; None: none).

        Someone else's review since then wins: the answer is the review as it is, ``changed`` False.
        """
        record = self._care_team(principal, patient_id)
        at = iso(self._clock())
        after = self._reviews.mark(patient_id, at, principal.subject, seen or None)
        if after["changed"]:
            self._audit.record(principal, "review", "patient", patient_id, {"reviewed_at": at})
        return self._review(after, principal, record)

    def undo_review(self, principal: Principal, patient_id: str, reviewed_at: str) -> Review:
        """Undo the caller's review made at ``reviewed_at``: the review before it comes back.

        A review that is no longer the last one (or not the caller's, or undone already) stays;
        the answer is the review as it is, ``changed`` False.
        """
        record = self._care_team(principal, patient_id)
        after = self._reviews.undo(patient_id, reviewed_at, principal.subject)
        if after["changed"]:
            detail = {"undone": reviewed_at, "restored": after["reviewed_at"]}
            self._audit.record(principal, "undo_review", "patient", patient_id, detail)
        return self._review(after, principal, record)

    def _review(self, item: Record, principal: Principal, patient: Record) -> Review:
        """The review as the caller's worklist row shows it: the reviewer's name, "today" in the caller's zone."""
        by = item["reviewed_by"]
        people = self._clinicians.many(sorted({principal.subject, *([by] if by else [])}))
        zone = (people.get(principal.subject) or {}).get("timezone") or "UTC"
        return Review(
            patient_id=item["patient_id"],
            patient_name=_name(patient),
            reviewed_at=item["reviewed_at"],
            reviewed_by=by,
            reviewed_by_name=_name(people.get(by)) if by else None,
            reviewed_today=reviewed_on(item["reviewed_at"], self._clock().astimezone(ZoneInfo(zone)).date(), zone),
            changed=bool(item["changed"]),
            can_undo=bool(item["has_previous"]) and by == principal.subject,
        )

    def _care_team(self, principal: Principal, patient_id: str) -> Record:
        """The API's rule for a care-team action: staff only (403), the patient in scope (404), on the team."""
        principal.require(Role.CLINICIAN, Role.ADMIN)
        record = self._access.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient's care team may do this.")
        return record


def _chunks(items: list[Any], size: int = BATCH) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _month_windows(profiles: list[dict[str, Any]], now: datetime) -> tuple[dict[str, tuple[str, str]], list[Any]]:
    """Each patient's last 30 local days (first, last) and the RPM month keys they span (one or two each)."""
    windows: dict[str, tuple[str, str]] = {}
    keys: list[tuple[str, str]] = []
    for p in profiles:
        today = _today(p, now)
        first = today - timedelta(days=29)
        windows[p["patient_id"]] = (first.isoformat(), today.isoformat())
        keys += [(p["patient_id"], month) for month in sorted({month_of(first), month_of(today)})]
    return windows, keys


def _month_counts(
    windows: dict[str, tuple[str, str]], months: dict[tuple[str, str], Record]
) -> dict[str, tuple[int, int]]:
    """Device days in the last 30 local days and care minutes this local month, by patient."""
    days: dict[str, set[str]] = {pid: set() for pid in windows}
    minutes: dict[str, int] = dict.fromkeys(windows, 0)
    for (pid, month), item in months.items():
        low, high = windows[pid]
        days[pid] |= {d for d in item.get("device_days") or [] if low <= d <= high}
        if month == high[:7]:
            minutes[pid] = int(item.get("care_minutes") or 0)
    return {pid: (len(days[pid]), minutes[pid]) for pid in windows}


def _today(profile: dict[str, Any], now: datetime) -> date:
    return now.astimezone(ZoneInfo(profile.get("timezone") or "UTC")).date()


def _name(profile: Record | None) -> str | None:
    if not profile:
        return None
    return " ".join(str(profile[k]) for k in ("given_name", "family_name") if profile.get(k)) or None
