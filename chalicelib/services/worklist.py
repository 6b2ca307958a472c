"""The clinician's worklist: their panel ordered by who needs attention first, and the care team's reviews.

The order is chalicelib/domain/worklist.py's (docs/console.md "Worklist"): open critical alerts (oldest
unacknowledged first), unanswered alerts, open routine alerts, open tasks, stale data, then the rest by
triage bucket.  Built without a request per patient:

- the panel: one Query per 500 patients, and the profiles (BatchGetItem; they carry ``open_tasks`` and
  ``last_reading_at``, kept by the stream); then, side by side (chalicelib/readers.py: a read of 100 keys
  a task, so the page waits for the slowest read rather than for their sum), what the order needs:
- the clinician's open and acknowledged alert entries (two Queries);
- each patient's RECENT item (BatchGetItem, chalicelib/adapters/recent.py): the compact records of the last
  15 local days, triaged here, and the device days of the last 31 (for a patient whose marks do not cover
  the window yet, this and last month's RPM items instead);
- the care team's clinician profiles (one BatchGetItem): names for the filter, and whether the clinician
  can be paged (no phone is a configuration error);
- with the "not reviewed" filter, every patient's REVIEW item;

then, for the rows shown only (all of them for ``GET /worklist``, a page of 100 on the console):

- the messages held back today by the daily cap on sending (BatchGetItem);
- this month's RPM item (BatchGetItem): care minutes;
- the REVIEW item (BatchGetItem): the care team's last "Mark reviewed".

A patient whose stored targets break a hard limit of docs/clinical.md names those thresholds in
``targets_outside_limits``.  Each patient shown gets an audit record (batched, as a list page's: a
transaction of 100 records, side by side).

"Mark reviewed" is a review of the patient by anyone on the care team (one item per patient: who and
when), undoable by the reviewer: the undo puts back the review it replaced.  Both are audited.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import wait
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib import readers
from chalicelib.domain.alerts import realtime
from chalicelib.domain.billing import month_of
from chalicelib.domain.delivery import unreachable_channels
from chalicelib.domain.episodes import status_of
from chalicelib.domain.errors import ForbiddenError
from chalicelib.domain.identity import Principal, Role, is_care_team
from chalicelib.domain.targets import targets_outside_limits
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.domain.triage import Recent, triage_records
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
    """A clinician's panel: the patients' ids, and their profiles many at once."""

    def panel_ids(self, clinician_id: str) -> list[str]:
        """Every patient of the panel, in patient-id order."""
        ...

    def many(self, patient_ids: list[str]) -> dict[str, Record]:
        """Profiles by patient id (one BatchGetItem per 100); a patient not found is left out."""
        ...


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
    """Each patient's RECENT item, kept by the stream (chalicelib/adapters/recent.py): the triage records
    (chalicelib/domain/triage.py strings) and the device days of the last 31 local days."""

    def items(self, patient_ids: list[str]) -> dict[str, Recent]:
        """The items by patient; a patient with none may be left out."""
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

    def build(self, principal: Principal, keep: WorklistFilter | None = None, shown: slice | None = None) -> Worklist:
        """The panel in the order of need; with ``keep``, only the rows it keeps; with ``shown``, only that
        stretch of them (the console's page of 100), the others ranked but not read further or audited.

        ``total`` is the number of rows kept, shown or not.
        """
        principal.require(Role.CLINICIAN)
        now = self._clock()
        panel = self._patients.panel_ids(principal.subject)
        # What the order needs, side by side (chalicelib/readers.py; 100 keys, one BatchGetItem, a task): the
        # profiles, the alert entries, each patient's RECENT item (triage records and device-day marks) and,
        # for the "not reviewed" filter, every review.  Held messages, care minutes and reviews are read
        # below for the rows shown only.
        profiles_f = [readers.submit(partial(self._patients.many, chunk)) for chunk in _chunks(panel)]
        entries_f = readers.submit(partial(self._alerts.live_entries, principal.subject))
        recent_f = [readers.submit(partial(self._recent.items, chunk)) for chunk in _chunks(panel)]
        every_review = keep is not None and keep.not_reviewed
        reviews_f = [readers.submit(partial(self._reviews.many, c)) for c in _chunks(panel)] if every_review else []
        found = {k: v for f in profiles_f for k, v in f.result().items()}
        profiles = [found[pid] for pid in panel if pid in found]
        team = sorted({principal.subject, *(c for p in profiles for c in p.get("care_team") or [])})
        clinicians_f = readers.submit(partial(self._clinicians.many, team))
        windows = _windows(profiles, now)
        recent: dict[str, Recent] = {k: v for f in recent_f for k, v in f.result().items()}
        # A patient whose marks do not cover the last 30 days (enrolled before them, or an item that could
        # not grow): device days from the RPM months, as before the marks.
        device_days: dict[str, int] = {}
        unmarked: list[str] = []
        for pid, (low, high) in windows.items():
            counted = recent.get(pid, Recent()).device_days_between(low, high)
            if counted is None:
                unmarked.append(pid)
            else:
                device_days[pid] = counted
        found_months = self._months({pid: windows[pid] for pid in unmarked}, both=True)
        device_days.update({pid: days for pid, (days, _) in _month_counts(windows, unmarked, found_months).items()})
        entries = entries_f.result()
        clinicians = clinicians_f.result()
        reviews = {k: v for f in reviews_f for k, v in f.result().items()}
        alerts = _alert_counts(entries)
        me = clinicians.get(principal.subject) or {}
        my_zone = me.get("timezone") or "UTC"
        my_day = now.astimezone(ZoneInfo(my_zone)).date()
        rows: list[WorklistRow] = []
        for p in profiles:
            pid = p["patient_id"]
            last = p.get("last_reading_at")
            critical, unanswered, routine, oldest = alerts.get(pid, (0, 0, 0, None))
            if status_of(p) == "discharged" and not (critical or routine):
                # Left the program: off the worklist, unless a reading that still came opened an alert.
                continue
            rows.append(
                WorklistRow(
                    patient_id=pid,
                    given_name=p.get("given_name"),
                    family_name=p.get("family_name"),
                    open_critical_alerts=critical,
                    unanswered_alerts=unanswered,
                    open_routine_alerts=routine,
                    open_tasks=int(p.get("open_tasks", 0)),
                    last_reading_at=last,
                    days_since_last_reading=(now - parse_iso(last)).days if last else None,
                    device_days_last_30=device_days[pid],
                    # Targets stored before the hard limits: reported here, never silently changed.
                    targets_outside_limits=targets_outside_limits(targets_of(p)),
                    triage_bucket=triage_records(recent.get(pid, Recent()).records, _today(p, now)),
                    oldest_unacknowledged_critical_at=oldest,
                    care_team=list(p.get("care_team") or []),
                    unreachable_channels=unreachable_channels(p),
                    episode_status=status_of(p),
                    **_review_fields(reviews.get(pid), my_day, my_zone),
                )
            )
        rows.sort(key=need_key)
        if keep is not None:
            rows = [r for r in rows if keep.keeps(r)]
        total = len(rows)
        if shown is not None:
            rows = rows[shown]
        # One audit record per patient shown (names, alert and task counts: PHI), in batches (F5): the console's
        # page of 100 is one transaction; GET /worklist of a whole panel, one per 100, side by side.  Written
        # while the rows' details are read (the rows shown are known now), and waited for before answering.
        audited = readers.submit(
            partial(self._audit.record_many, principal, "list", "worklist", [(r.patient_id, None) for r in rows])
        )
        try:
            rows = self._details(
                rows, {p["patient_id"]: p for p in profiles}, windows, found_months, now, my_day, my_zone
            )
        finally:
            wait([audited])  # never left running past the request
        audited.result()
        # Rule 5: a page must be able to wake its clinician; email alone cannot.
        errors = (
            []
            if realtime(me)
            else [
                ConfigurationError(
                    clinician_id=principal.subject,
                    problem=(
                        "the phone was reported unreachable: critical pages go to the on-call list"
                        if me.get("phone")
                        else "no real-time channel for pages (a phone): critical pages go to the on-call list"
                    ),
                    code="phone_unreachable" if me.get("phone") else "no_phone",
                )
            ]
        )
        members = [CareTeamMember(clinician_id=cid, name=_name(clinicians.get(cid))) for cid in team]
        return Worklist(items=rows, configuration_errors=errors, care_team_members=members, total=total)

    def _months(self, windows: dict[str, tuple[str, str]], both: bool) -> dict[tuple[str, str], Record]:
        """The RPM months of these patients: those their windows span (``both``), else only the last day's."""
        keys = [
            (pid, month)
            for pid, (first, last) in windows.items()
            for month in (sorted({month_of(date.fromisoformat(first)), last[:7]}) if both else [last[:7]])
        ]
        return {
            k: v
            for part in readers.each([partial(self._summaries.months, c) for c in _chunks(keys)])
            for k, v in part.items()
        }

    def _details(
        self,
        rows: list[WorklistRow],
        profiles: dict[str, Record],
        windows: dict[str, tuple[str, str]],
        found_months: dict[tuple[str, str], Record],
        now: datetime,
        my_day: date,
        my_zone: str,
    ) -> list[WorklistRow]:
        """The rows shown, with what only they need: messages held today, care minutes, the last review."""
        pids = [r.patient_id for r in rows]
        read_months = {pid: windows[pid] for pid in pids if (pid, windows[pid][1][:7]) not in found_months}
        months_f = readers.submit(partial(self._months, read_months, False))
        held_f = [
            readers.submit(partial(self._messaging.held_on, {pid: _today(profiles[pid], now).isoformat() for pid in c}))
            for c in _chunks(pids)
        ]
        reviews_f = [readers.submit(partial(self._reviews.many, c)) for c in _chunks(pids)]
        months = {**found_months, **months_f.result()}
        held = {k: v for f in held_f for k, v in f.result().items()}
        reviews = {k: v for f in reviews_f for k, v in f.result().items()}
        return [
            r.model_copy(
                update={
                    "held_messages_today": held.get(r.patient_id, 0),
                    "care_minutes_month": int(
                        (months.get((r.patient_id, windows[r.patient_id][1][:7])) or {}).get("care_minutes") or 0
                    ),
                    **_review_fields(reviews.get(r.patient_id), my_day, my_zone),
                }
            )
            for r in rows
        ]

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


def _windows(profiles: list[dict[str, Any]], now: datetime) -> dict[str, tuple[str, str]]:
    """Each patient's last 30 local days: (first, last)."""
    windows: dict[str, tuple[str, str]] = {}
    for p in profiles:
        today = _today(p, now)
        windows[p["patient_id"]] = ((today - timedelta(days=29)).isoformat(), today.isoformat())
    return windows


def _month_counts(
    windows: dict[str, tuple[str, str]], pids: list[str], months: dict[tuple[str, str], Record]
) -> dict[str, tuple[int, int]]:
    """Device days in the last 30 local days and care minutes this local month of ``pids``, from the RPM months."""
    days: dict[str, set[str]] = {pid: set() for pid in pids}
    minutes: dict[str, int] = dict.fromkeys(pids, 0)
    for (pid, month), item in months.items():
        if pid not in days:
            continue
        low, high = windows[pid]
        days[pid] |= {d for d in item.get("device_days") or [] if low <= d <= high}
        if month == high[:7]:
            minutes[pid] = int(item.get("care_minutes") or 0)
    return {pid: (len(days[pid]), minutes[pid]) for pid in pids}


def _alert_counts(entries: list[Record]) -> dict[str, tuple[int, int, int, str | None]]:
    """By patient: open critical, unanswered and routine alerts, and the oldest critical nobody acknowledged."""
    critical: Counter[str] = Counter()
    routine: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    oldest: dict[str, str] = {}
    for entry in entries:
        pid = entry["patient_id"]
        (critical if entry["priority"] == "critical" else routine)[pid] += 1
        if entry.get("unanswered"):  # escalation reached level 3 without an acknowledgment
            unanswered[pid] += 1
        if entry["priority"] == "critical" and entry.get("status", "open") == "open":
            opened = str(entry.get("opened_at") or "")
            oldest[pid] = min(oldest.get(pid, opened), opened)
    return {
        pid: (critical[pid], unanswered[pid], routine[pid], oldest.get(pid) or None)
        for pid in {*critical, *routine, *unanswered}
    }


def _review_fields(review: Record | None, my_day: date, my_zone: str) -> dict[str, Any]:
    review = review or {}
    return {
        "reviewed_at": review.get("reviewed_at"),
        "reviewed_by": review.get("reviewed_by"),
        "reviewed_today": reviewed_on(review.get("reviewed_at"), my_day, my_zone),
    }


def _today(profile: dict[str, Any], now: datetime) -> date:
    return now.astimezone(ZoneInfo(profile.get("timezone") or "UTC")).date()


def _name(profile: Record | None) -> str | None:
    if not profile:
        return None
    return " ".join(str(profile[k]) for k in ("given_name", "family_name") if profile.get(k)) or None
