"""The patient's 360° view: timeline, notes, trends and the trend chart.

Every read is scoped (404 outside the caller's scope) and audited.  Costs do
not grow with the history: a timeline page is one Query (one per kind with a
``kinds`` filter, each at most a page), a trend one Query of at most 90 daily
buckets.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain import console_stats, trends
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError, MalformedRequestError
from chalicelib.domain.idempotency import chosen_id, fingerprint
from chalicelib.domain.identity import Principal, is_care_team
from chalicelib.domain.timeline import EARLIEST, KINDS, LATEST, NoteIn, PatientNote, TimelineEvent
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.ports import Audit, Page, PatientAccess, Record, TimelineEntry


class PatientEvents(Protocol):
    """The patient's timeline as the record reads it, and the care team's notes (``DynamoConversationStore``)."""

    def timeline_page(self, patient_id: str, kind: str | None, lower: str, upper: str, limit: int) -> Page:
        """Events newest first (one kind, or every kind), each with its ``position`` ``<at>#<event_id>``.

        Positions run from ``lower`` to ``upper`` inclusive; ``last_key`` is not None whenever the page is full.
        """
        ...

    def put_note_once(self, patient_id: str, note: Record, request_hash: str, event: TimelineEntry) -> Record | None:
        """Store ``note`` (a ``PatientNote``'s fields) and its timeline ``event`` unless its ``note_id`` was used.

        None when stored; else the first note's fields and its ``request_hash``, and nothing is written.
        """
        ...


class DailyBuckets(Protocol):
    """The patient's daily reading summaries (``DynamoSummaryStore``)."""

    def days(self, patient_id: str, reading_type: str, first: str, last: str) -> list[Record]:
        """The buckets of local days ``first``..``last`` (ISO dates), oldest first."""
        ...


def _moment(text: str | None, field: str) -> str | None:
    if text is None:
        return None
    try:
        moment = parse_iso(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MalformedRequestError(
            f"'{field}' must be an RFC 3339 time with an offset.", [FieldError(field, "invalid")]
        )
    return iso(moment)


def _kinds(text: str | None) -> list[str]:
    if not text:
        return []
    chosen = sorted({k.strip() for k in text.split(",") if k.strip()})
    unknown = [k for k in chosen if k not in KINDS]
    if unknown or not chosen:
        raise MalformedRequestError(
            "Unknown timeline kind.", [FieldError("kinds", f"comma-separated, each one of: {', '.join(KINDS)}")]
        )
    return chosen


def _days(text: str | None) -> int:
    if text is None:
        return 30
    if text not in {str(d) for d in trends.WINDOWS}:
        raise MalformedRequestError("Unknown trend window.", [FieldError("days", "one of 7, 14, 30, 90")])
    return int(text)


def _type(text: str | None) -> str:
    if text not in ("blood_glucose", "blood_pressure"):
        raise MalformedRequestError("Unknown reading type.", [FieldError("type", "blood_glucose or blood_pressure")])
    return text


class PatientRecordService:
    def __init__(
        self,
        events: PatientEvents,
        summaries: DailyBuckets,
        patients: PatientAccess,
        audit: Audit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
    ) -> None:
        self._events = events
        self._summaries = summaries
        self._patients = patients
        self._audit = audit
        self._cursors = cursors
        self._clock = clock
        self._new_id = new_id

    # -- timeline --------------------------------------------------------------------

    def timeline(
        self,
        principal: Principal,
        patient_id: str,
        start: str | None,
        end: str | None,
        kinds_text: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[TimelineEvent], str | None]:
        self._patients.visible_record(principal, patient_id)
        lower = _moment(start, "from") or EARLIEST
        upper = _moment(end, "to") or LATEST
        if lower > upper:
            raise InvalidInputError("'from' is after 'to'.", [FieldError("from", "must not be after 'to'")])
        kinds = _kinds(kinds_text)
        scope = f"timeline:{patient_id}:{','.join(kinds)}:{lower}:{upper}"
        # The position is the last shown event's "<at>#<event_id>"; the next page is strictly older.
        position: str | None = self._cursors.decode(scope, cursor)
        high = position if position is not None else f"{upper}#~"
        found: list[dict[str, Any]] = []
        more = False
        for kind in kinds or (None,):
            page = self._events.timeline_page(patient_id, kind, lower, high, limit + 1)
            found += page.items
            more = more or page.last_key is not None
        rows = sorted(
            (item for item in found if position is None or _position(item) < position),
            key=_position,
            reverse=True,
        )
        taken = rows[:limit]
        more = (more or len(rows) > limit) and bool(taken)
        shown = [as_patient_sees(item) for item in taken] if principal.is_patient else taken
        events = [TimelineEvent.model_validate(item) for item in shown if item is not None]
        self._audit.record(principal, "list", "timeline", patient_id, {"count": len(events)})
        # The cursor is the last *read* position: a page the patient sees may be shorter, never skipped.
        return events, self._cursors.encode(scope, _position(taken[-1]) if more else None)

    def add_note(
        self, principal: Principal, patient_id: str, request: NoteIn, idempotency_key: str | None = None
    ) -> tuple[int, PatientNote]:
        """201 and the note; 200 and the stored note for a repeat of the same request; 409 otherwise.

        The key is the client's ``note_id`` or one derived from the ``Idempotency-Key``
        header; the note is stored once per id with its timeline event, so a repeat adds nothing.
        """
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient's care team may add notes.")
        now = self._clock()
        note_id = chosen_id(
            request.note_id, idempotency_key, "note", ("notes", patient_id, principal.subject), self._new_id
        )
        shared = request.share_with_patient
        note = PatientNote(
            note_id=note_id,
            patient_id=patient_id,
            by=principal.subject,
            at=now,
            text=request.text,
            share_with_patient=shared,
        )
        asked = fingerprint({"text": request.text, "by": principal.subject, "shared": shared})
        event = TimelineEntry(
            patient_id,
            "note",
            now,
            note_id,
            f"Note by {principal.subject}: {request.text}",
            None,
            {"note_id": note_id, "by": principal.subject, "shared": shared},
        )
        existing = self._events.put_note_once(patient_id, note.model_dump(mode="json"), asked, event)
        if existing is not None:
            if existing.get("request_hash") != asked:
                raise ConflictError("A different note with this note_id was already written.")
            return 200, PatientNote.model_validate({k: existing[k] for k in PatientNote.model_fields if k in existing})
        self._audit.record(principal, "create", "note", patient_id, {"note_id": note_id, "shared": shared})
        return 201, note

    # -- trends ----------------------------------------------------------------------

    def trend(
        self, principal: Principal, patient_id: str, type_text: str | None, days_text: str | None
    ) -> trends.GlucoseTrend | trends.BpTrend:
        record = self._patients.visible_record(principal, patient_id)
        return self._trend(principal, patient_id, record, type_text, days_text)

    def _trend(
        self,
        principal: Principal,
        patient_id: str,
        record: dict[str, Any],
        type_text: str | None,
        days_text: str | None,
    ) -> trends.GlucoseTrend | trends.BpTrend:
        reading_type, days = _type(type_text), _days(days_text)
        window = trends.Window.ending(self._clock(), record.get("timezone") or "UTC", days)
        buckets = self._summaries.days(patient_id, reading_type, window.first.isoformat(), window.last.isoformat())
        self._audit.record(principal, "read", "trend", patient_id, {"type": reading_type, "days": days})
        if reading_type == "blood_glucose":
            return trends.glucose_trend(buckets, window)
        return trends.bp_trend(buckets, window)

    def window_stats(
        self, principal: Principal, patient_id: str, window: trends.Window
    ) -> tuple[console_stats.GlucoseStats, console_stats.BpStats]:
        """The console's statistics for ``window``: glucose against the previous window, blood pressure.

        From the daily buckets: glucose over this and the previous window in one Query, blood pressure over
        this window in one; against the patient's effective targets; audited as the trend API's read.
        """
        from chalicelib.services.patients import targets_of

        record = self._patients.visible_record(principal, patient_id)
        span = console_stats.comparison_span(window)
        glucose = self._summaries.days(patient_id, "blood_glucose", span.first.isoformat(), span.last.isoformat())
        bp = self._summaries.days(patient_id, "blood_pressure", window.first.isoformat(), window.last.isoformat())
        detail = {"type": "blood_glucose,blood_pressure", "days": window.days}
        self._audit.record(principal, "read", "trend", patient_id, detail)
        return console_stats.glucose_stats(glucose, window), console_stats.bp_stats(bp, window, targets_of(record))

    def chart(self, principal: Principal, patient_id: str, type_text: str | None, days_text: str | None) -> str:
        """The trend drawn against the patient's own effective targets (their band, not the population's)."""
        from chalicelib.domain.charts import render
        from chalicelib.services.patients import targets_of

        record = self._patients.visible_record(principal, patient_id)
        return render(self._trend(principal, patient_id, record, type_text, days_text), targets_of(record))


def as_patient_sees(item: dict[str, Any]) -> dict[str, Any] | None:
    """A timeline event as the patient sees it (docs/api.md "Trust rules", F18), or None.

    A clinician's note is staff-only unless written with ``share_with_patient``;
    a task shows that it exists, not the internal reason (``"<kind>: <reason>"``).
    """
    ref = item.get("ref") or {}
    if item.get("kind") == "note" and "note_id" in ref and ref.get("shared") is not True:
        return None
    if item.get("kind") == "task_created":
        what = str(item.get("summary", "")).split(":", 1)[0].strip() or "task"
        return {**item, "summary": f"Task for the care team: {what}"}
    return item


def _position(item: dict[str, Any]) -> str:
    return str(item["position"])
