"""Console: the editable sections of the Patient page (Messages, Reminders, Targets, Care time, Notes).

The page itself (``pages/patient.py``) calls :func:`sections` once per render and
includes the five partials (``_patient_messages.html`` ...); each partial is also
what its POST route answers to htmx, so an action replaces only its section.
Without JavaScript the form posts normally and the route redirects back to the
section (303), or, when the form must be corrected, answers the section on a page
of its own (422) with the values as entered.

Every action goes through the API's own service with the signed-in principal, as
the JSON route does (chalicelib/api/messages.py, reminders.py, patients.py,
record.py): access rules (404 outside the panel, 403 for patients), the sending
rules (consent, quiet hours, the daily cap), the targets' hard limits,
idempotency and the audit trail are the services', not re-implemented here.
Creates carry an idempotency key minted when the form is rendered (a hidden
field, used as the API's ``Idempotency-Key``), so a double-clicked button stores
and sends once; care time is idempotent on its moment, so its form carries the
moment it was rendered at.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from chalice import Response
from pydantic import ValidationError

from chalicelib.api import problems
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.console.web import Visit, bp, page, redirect, render, staff
from chalicelib.domain.billing import CareTimeIn, RpmRow
from chalicelib.domain.errors import ConflictError, FieldError, InvalidInputError, MalformedRequestError
from chalicelib.domain.idempotency import KEY_PATTERN
from chalicelib.domain.identity import Principal
from chalicelib.domain.messages import MessageIn
from chalicelib.domain.patients import Patient
from chalicelib.domain.reminders import EVERY_DAY, MAX_REMINDERS, Adherence, ReminderIn, ReminderPatch
from chalicelib.domain.targets import (
    HARD_LIMITS,
    PROFILE_HIGHS,
    Targets,
    TargetsIn,
    default_targets,
    targets_outside_limits,
)
from chalicelib.domain.timeline import NoteIn
from chalicelib.domain.timeutil import iso, parse_iso

MESSAGES_SHOWN = 50  # the newest messages of the thread; the Timeline section pages through everything
NOTES_READ = 100  # `note` events read for the Notes section (routing writes `note` events too)
ADHERENCE_WINDOW = 30
KINDS = ("measure_glucose", "measure_bp", "medication", "custom")
PROFILES = tuple(PROFILE_HIGHS)
ACTIVITIES = ("call", "video", "message", "review", "care_coordination")
Source = Literal["default", "profile", "personal"]


def N_(message: str) -> str:
    """Mark a string for extraction (Babel's ``N_``); templates translate it with ``_()``."""
    return message


# -- what the partials render ---------------------------------------------------------------------


@dataclass
class FormState:
    """A form as the clinician left it: values as typed, errors per field, the service's refusal."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problem: str | None = None  # the service refused the whole request (its own words)
    notice: str | None = None  # what the last action did, announced in the section's status region

    def value(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)


@dataclass
class MessageRow:
    message_id: str
    direction: str
    channel: str | None
    at: str
    at_local: str
    text: str
    status: str


@dataclass
class MessagesView:
    pid: str
    items: list[MessageRow]  # oldest first: the newest message is last, as a chat reads
    more: bool  # older messages exist beyond those shown
    channels: list[str]
    key: str
    form: FormState


@dataclass
class ReminderRow:
    reminder_id: str
    kind: str
    times: list[str]
    days: list[str]
    every_day: bool
    label: str | None
    active: bool
    next_due_local: str | None
    due: int
    done: int
    pct: float | None
    times_value: str  # the edit form's field (as typed after an error)
    error: str | None = None


@dataclass
class RemindersView:
    pid: str
    items: list[ReminderRow]
    adherence_days: int
    overall_pct: float | None
    overall_due: int
    overall_done: int
    at_limit: bool
    key: str
    form: FormState
    kinds: tuple[str, ...] = KINDS
    weekdays: tuple[str, ...] = tuple(EVERY_DAY)
    max_reminders: int = MAX_REMINDERS


@dataclass
class TargetRow:
    field: str  # "glucose.low": the API's field name, and the form's
    label: str
    unit: str
    value: float
    source: Source
    default: float
    minimum: float | None
    maximum: float | None
    input_value: str
    error: str | None
    outside_limits: bool

    @property
    def dom_id(self) -> str:
        return "target-" + self.field.replace(".", "-").replace("_", "-")


@dataclass
class TargetsView:
    pid: str
    profile: str
    rows: list[TargetRow]
    version: int
    updated_at_local: str | None
    updated_by: str | None
    form: FormState
    profiles: tuple[str, ...] = PROFILES


@dataclass
class CodeStatus:
    """One CPT code's state this period: met, missing (``have`` of ``need``), or billed as another code instead."""

    code: str
    what: str
    state: Literal["met", "missing", "instead"]
    have: int
    need: int
    unit: Literal["days", "minutes"]
    count: int = 0  # 99458 is billed once per further full 20 minutes
    needs_interactive: bool = False
    instead_of: str | None = None


@dataclass
class CareTimeView:
    pid: str
    month: str
    minutes: int
    interactive: bool
    device_days: int
    codes: list[CodeStatus]
    at: str  # the form's moment: the same form posted twice logs once
    form: FormState
    activities: tuple[str, ...] = ACTIVITIES


@dataclass
class NoteRow:
    note_id: str
    at: str
    at_local: str
    by: str
    text: str
    shared: bool


@dataclass
class NotesView:
    pid: str
    items: list[NoteRow]  # newest first
    more: bool
    key: str
    form: FormState


TARGET_LABELS: dict[str, str] = {
    "glucose.critical_low": N_("Glucose critical low"),
    "glucose.low": N_("Glucose low"),
    "glucose.high_fasting": N_("Glucose high, fasting or before a meal"),
    "glucose.high_after_meal": N_("Glucose high, after a meal"),
    "glucose.high_bedtime": N_("Glucose high, at bedtime"),
    "glucose.critical_high": N_("Glucose critical high"),
    "blood_pressure.systolic_critical_low": N_("Systolic critical low"),
    "blood_pressure.systolic_low": N_("Systolic low"),
    "blood_pressure.systolic_high": N_("Systolic high"),
    "blood_pressure.systolic_critical_high": N_("Systolic critical high"),
    "blood_pressure.diastolic_low": N_("Diastolic low"),
    "blood_pressure.diastolic_high": N_("Diastolic high"),
    "blood_pressure.diastolic_critical_high": N_("Diastolic critical high"),
}
TARGET_FIELDS = tuple(TARGET_LABELS)


# -- the page builder's entry point ---------------------------------------------------------------


def section_reads(visit: Visit, patient: Patient) -> dict[str, Callable[[], Any]]:
    """The reads of the five partials for one render of the Patient page (the caller must be staff).

    Each is a service call with its access check, its Query and its audit record, independent of
    the others and of the page's own reads: the page runs them all side by side
    (chalicelib/readers.py), then :func:`sections` names their results for the template.
    """
    caller = staff(visit)
    c = container()
    _ = (c.conversations, c.reminders, c.patients, c.billing, c.record)  # built here, not raced for by threads
    return {
        "messages": partial(messages_view, caller, patient),
        "reminders": partial(reminders_view, caller, patient, adherence_days=ADHERENCE_WINDOW),
        "targets": partial(targets_view, caller, patient),
        "care_time": partial(care_time_view, caller, patient),
        "notes": partial(notes_view, caller, patient),
    }


def sections(read: dict[str, Any]) -> dict[str, Any]:
    """The partials' context from the results of :func:`section_reads`."""
    reminders_section, adherence = read["reminders"]
    return {
        "messages": read["messages"],
        "reminders": reminders_section,
        "adherence": adherence,
        "targets": read["targets"],
        "care_time": read["care_time"],
        "notes": read["notes"],
    }


def new_key() -> str:
    return secrets.token_urlsafe(18)


def local_time(text: str | None, timezone: str) -> str | None:
    if not text:
        return None
    return parse_iso(text).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


# -- section views --------------------------------------------------------------------------------


def messages_view(
    caller: Principal, patient: Patient, form: FormState | None = None, key: str | None = None
) -> MessagesView:
    items, cursor = container().conversations.page(caller, patient.patient_id, MESSAGES_SHOWN, None)
    rows = [
        MessageRow(
            message_id=m.message_id,
            direction=m.direction,
            channel=m.channel if m.channel not in (None, "none") else None,
            at=m.at,
            at_local=local_time(m.at, patient.timezone) or "",
            text=m.text,
            status=m.status,
        )
        for m in items
    ]
    return MessagesView(
        pid=patient.patient_id,
        items=rows,
        more=cursor is not None,
        channels=list(patient.channels),
        key=key or new_key(),
        form=form or FormState(),
    )


def reminders_view(
    caller: Principal,
    patient: Patient,
    form: FormState | None = None,
    key: str | None = None,
    row_errors: dict[str, tuple[str, str]] | None = None,
    adherence_days: int = ADHERENCE_WINDOW,
) -> tuple[RemindersView, Adherence]:
    service = container().reminders
    reminders = service.list(caller, patient.patient_id)
    adherence = service.adherence(caller, patient.patient_id, str(adherence_days))
    by_id = {row.reminder_id: row for row in adherence.reminders}
    row_errors = row_errors or {}
    rows = []
    for r in sorted(reminders, key=lambda r: (not r.active, r.kind, r.times, r.reminder_id)):
        done = by_id.get(r.reminder_id)
        typed, error = row_errors.get(r.reminder_id, (", ".join(r.times), None))
        rows.append(
            ReminderRow(
                reminder_id=r.reminder_id,
                kind=r.kind,
                times=list(r.times),
                days=list(r.days),
                every_day=set(r.days) == set(EVERY_DAY),
                label=r.label,
                active=r.active,
                next_due_local=local_time(iso(r.next_due_at), patient.timezone) if r.next_due_at else None,
                due=done.due if done else 0,
                done=done.done if done else 0,
                pct=done.pct if done else None,
                times_value=typed,
                error=error,
            )
        )
    view = RemindersView(
        pid=patient.patient_id,
        items=rows,
        adherence_days=adherence.days,
        overall_pct=adherence.overall.pct,
        overall_due=adherence.overall.due,
        overall_done=adherence.overall.done,
        at_limit=len(rows) >= MAX_REMINDERS,
        key=key or new_key(),
        form=form or FormState(),
    )
    return view, adherence


def target_source(targets: Targets, name: str) -> tuple[Source, float, float]:
    """Where a threshold's value comes from: the clinical default, the glucose profile's, or a personal one.

    The stored overrides are not part of the API's answer, so a personal value equal to the
    profile's default reads as the default: it judges readings exactly as the default does.
    """
    group, key = name.split(".")
    value = float(getattr(getattr(targets, group), key))
    profile_default = float(getattr(getattr(default_targets(targets.glucose_profile), group), key))
    standard = float(getattr(getattr(default_targets("standard"), group), key))
    if value != profile_default:
        return "personal", value, profile_default
    if profile_default != standard:
        return "profile", value, profile_default
    return "default", value, profile_default


def targets_view(caller: Principal, patient: Patient, form: FormState | None = None) -> TargetsView:
    targets = container().patients.get_targets(caller, patient.patient_id)
    form = form or FormState()
    limits = {limit.field: limit for limit in HARD_LIMITS}
    outside = set(targets_outside_limits(targets))
    rows = []
    for name in TARGET_FIELDS:
        source, value, default = target_source(targets, name)
        limit = limits.get(name)
        shown = _number(value) if source == "personal" else ""
        rows.append(
            TargetRow(
                field=name,
                label=TARGET_LABELS[name],
                unit="mg/dL" if name.startswith("glucose.") else "mmHg",
                value=value,
                source=source,
                default=default,
                minimum=limit.minimum if limit else None,
                maximum=limit.maximum if limit else None,
                input_value=form.values.get(name, shown),
                error=form.errors.get(name),
                outside_limits=name in outside,
            )
        )
    return TargetsView(
        pid=patient.patient_id,
        profile=form.values.get("glucose_profile", targets.glucose_profile),
        rows=rows,
        version=targets.version,
        updated_at_local=local_time(iso(targets.updated_at), patient.timezone) if targets.updated_at else None,
        updated_by=targets.updated_by,
        form=form,
    )


def code_status(row: RpmRow) -> list[CodeStatus]:
    """The five RPM codes of the period as a clinician reads them: met, or what is still missing.

    Mirrors domain/billing.py (the report's own rules): 16+ device days → 99454, 2-15 → 99445;
    with an interactive communication, 10-19 minutes → 99470, 20+ → 99457 plus one 99458 per
    further full 20 minutes.
    """
    days, minutes, interactive = row.device_days, row.care_minutes, row.interactive
    codes = row.management_codes
    extra = codes.count("99458")
    return [
        CodeStatus(
            "99454",
            N_("16 or more days with device readings"),
            "met" if row.device_code == "99454" else "missing",
            days,
            16,
            "days",
        ),
        CodeStatus(
            "99445",
            N_("2 to 15 days with device readings"),
            "met" if row.device_code == "99445" else ("instead" if row.device_code == "99454" else "missing"),
            days,
            2,
            "days",
            instead_of="99454" if row.device_code == "99454" else None,
        ),
        CodeStatus(
            "99470",
            N_("10 to 19 minutes of care management"),
            "met" if "99470" in codes else ("instead" if "99457" in codes else "missing"),
            minutes,
            10,
            "minutes",
            needs_interactive=not interactive,
            instead_of="99457" if "99457" in codes else None,
        ),
        CodeStatus(
            "99457",
            N_("The first 20 minutes of care management"),
            "met" if "99457" in codes else "missing",
            minutes,
            20,
            "minutes",
            needs_interactive=not interactive,
        ),
        CodeStatus(
            "99458",
            N_("Each further 20 minutes of care management"),
            "met" if extra else "missing",
            minutes,
            20 * (extra + 2),  # the minutes the next 99458 needs
            "minutes",
            count=extra,
            needs_interactive=not interactive,
        ),
    ]


def care_time_view(caller: Principal, patient: Patient, form: FormState | None = None) -> CareTimeView:
    now = container().clock()
    # The patient's row of the RPM report for the calendar month in their zone (docs/clinical.md), as care
    # time is filed: one read of the patient and one of their month, whatever the size of the panel.
    row = container().billing.patient_month(caller, patient.patient_id)
    form = form or FormState()
    return CareTimeView(
        pid=patient.patient_id,
        month=row.month,
        minutes=row.care_minutes,
        interactive=row.interactive,
        device_days=row.device_days,
        codes=code_status(row),
        at=form.values.get("at") or iso(now),
        form=form,
    )


def notes_view(caller: Principal, patient: Patient, form: FormState | None = None, key: str | None = None) -> NotesView:
    events, cursor = container().record.timeline(caller, patient.patient_id, None, None, "note", NOTES_READ, None)
    rows = []
    for event in events:
        ref = event.ref or {}
        if not ref.get("note_id"):
            continue  # a `note` the messaging engine wrote about its channel choice, not a clinician's note
        by = str(ref.get("by") or "")
        prefix = f"Note by {by}: "
        text = event.summary[len(prefix) :] if event.summary.startswith(prefix) else event.summary
        rows.append(
            NoteRow(
                note_id=str(ref["note_id"]),
                at=event.at,
                at_local=local_time(event.at, patient.timezone) or "",
                by=by,
                text=text,
                shared=ref.get("shared") is True,
            )
        )
    return NotesView(
        pid=patient.patient_id, items=rows, more=cursor is not None, key=key or new_key(), form=form or FormState()
    )


# -- answering a POST -----------------------------------------------------------------------------

SECTION_TEMPLATES = {
    "messages": "_patient_messages.html",
    "reminders": "_patient_reminders.html",
    "targets": "_patient_targets.html",
    "care_time": "_patient_care_time.html",
    "notes": "_patient_notes.html",
}
ANCHORS = {
    "messages": "messages",
    "reminders": "reminders",
    "targets": "targets",
    "care_time": "care-time",
    "notes": "notes",
}


def _patient(visit: Visit, patient_id: str) -> tuple[Principal, Patient]:
    caller = staff(visit)
    return caller, container().patients.get(caller, known_id(patient_id))


def _done(visit: Visit, patient: Patient, section: str, view: Any) -> Response:
    """After a change: htmx gets the section anew; a plain form post goes back to it (303)."""
    if visit.htmx:
        return render(visit, SECTION_TEMPLATES[section], **{section: view})
    return redirect(visit, f"/console/patients/{patient.patient_id}#{ANCHORS[section]}")


def _again(visit: Visit, patient: Patient, section: str, view: Any) -> Response:
    """The form to correct: htmx swaps the section in (200: htmx swaps no 4xx); a plain post gets it on a page (422)."""
    if visit.htmx:
        return render(visit, SECTION_TEMPLATES[section], **{section: view})
    return render(
        visit,
        "patient_action.html",
        status=422,
        patient_name=f"{patient.given_name} {patient.family_name}",
        pid=patient.patient_id,
        section_template=SECTION_TEMPLATES[section],
        **{section: view},
    )


def _form_key(visit: Visit) -> str:
    key = visit.form.get("idempotency_key", "")
    if not KEY_PATTERN.match(key):
        raise MalformedRequestError(
            "The form has no valid idempotency key: reload the page.",
            [FieldError("idempotency_key", "1 to 128 visible ASCII characters")],
        )
    return key


def field_errors(error: ValidationError | InvalidInputError) -> dict[str, str]:
    """Errors by form field (the API's field names, which the forms use; ``times.1`` is the ``times`` field)."""
    if isinstance(error, ValidationError):
        pairs = [(f["field"], f["message"]) for f in problems.validation_fields(error)]
    else:
        pairs = [(f.field, f.message) for f in error.errors]
    found: dict[str, str] = {}
    for name, message in pairs:
        name = re.sub(r"\.[0-9]+$", "", name)
        found[name] = f"{found[name]}; {message}" if name in found else message
    return found


def _checked(visit: Visit, name: str) -> bool:
    return visit.form.get(name, "") not in ("", "off", "false", "0")


# -- Messages -------------------------------------------------------------------------------------


@page(bp, "/console/patients/{patient_id}/messages", methods=("POST",))
def send_message(visit: Visit, patient_id: str) -> Response:
    """Send as ``POST /patients/{pid}/messages`` does: the conversation service, the form's key as Idempotency-Key."""
    caller, patient = _patient(visit, patient_id)
    key = _form_key(visit)
    text = visit.form.get("text", "")
    form = FormState(values={"text": text})
    try:
        request = MessageIn.model_validate({"text": text})
        container().conversations.send(caller, patient.patient_id, request, key)
    except (ValidationError, InvalidInputError) as error:
        form.errors = field_errors(error)
        return _again(visit, patient, "messages", messages_view(caller, patient, form, key))
    except ConflictError as error:
        # The key was used for another text (a resent form after an edit): say so, and offer a fresh key.
        form.problem = str(error)
        return _again(visit, patient, "messages", messages_view(caller, patient, form))
    return _done(visit, patient, "messages", messages_view(caller, patient, FormState(notice="sent")))


# -- Reminders ------------------------------------------------------------------------------------

_TIME_SPLIT = re.compile(r"[\s,;]+")


def _times(text: str) -> list[str]:
    return [t for t in _TIME_SPLIT.split(text.strip()) if t]


@page(bp, "/console/patients/{patient_id}/reminders", methods=("POST",))
def add_reminder(visit: Visit, patient_id: str) -> Response:
    """Create as ``POST /patients/{pid}/reminders`` does (the reminder service, the form's key as Idempotency-Key)."""
    caller, patient = _patient(visit, patient_id)
    key = _form_key(visit)
    f = visit.form
    days = [d for d in EVERY_DAY if _checked(visit, f"day_{d}")]
    values = {
        "kind": f.get("kind", ""),
        "times": f.get("times", ""),
        "label": f.get("label", ""),
        "active": "on" if _checked(visit, "active") else "",
        **{f"day_{d}": "on" for d in days},
    }
    form = FormState(values=values)
    body: dict[str, Any] = {
        "kind": values["kind"],
        "times": _times(values["times"]),
        "days": days,
        "active": _checked(visit, "active"),
    }
    if values["label"].strip():
        body["label"] = values["label"]
    try:
        request = ReminderIn.model_validate(body)
        container().reminders.create(caller, patient.patient_id, request, key)
    except (ValidationError, InvalidInputError) as error:
        form.errors = field_errors(error)
        if "reminder_id" in form.errors:  # the service's limit on reminders: about the whole form
            form.problem = form.errors.pop("reminder_id")
        view, _ = reminders_view(caller, patient, form, key)
        return _again(visit, patient, "reminders", view)
    except ConflictError as error:
        form.problem = str(error)
        view, _ = reminders_view(caller, patient, form)
        return _again(visit, patient, "reminders", view)
    view, _ = reminders_view(caller, patient, FormState(notice="added"))
    return _done(visit, patient, "reminders", view)


def _patch_reminder(visit: Visit, patient_id: str, rid: str, body: dict[str, Any], notice: str) -> Response:
    caller, patient = _patient(visit, patient_id)
    reminder_id = known_id(rid, "Reminder")
    try:
        request = ReminderPatch.model_validate(body)
        container().reminders.patch(caller, patient.patient_id, reminder_id, request)
    except (ValidationError, InvalidInputError) as error:
        message = "; ".join(field_errors(error).values())
        view, _ = reminders_view(caller, patient, row_errors={reminder_id: (visit.form.get("times", ""), message)})
        return _again(visit, patient, "reminders", view)
    view, _ = reminders_view(caller, patient, FormState(notice=notice))
    return _done(visit, patient, "reminders", view)


@page(bp, "/console/patients/{patient_id}/reminders/{reminder_id}", methods=("POST",))
def edit_reminder(visit: Visit, patient_id: str, reminder_id: str) -> Response:
    """Change a reminder's times, as ``PATCH /patients/{pid}/reminders/{rid}`` with ``times``."""
    return _patch_reminder(visit, patient_id, reminder_id, {"times": _times(visit.form.get("times", ""))}, "changed")


@page(bp, "/console/patients/{patient_id}/reminders/{reminder_id}/pause", methods=("POST",))
def pause_reminder(visit: Visit, patient_id: str, reminder_id: str) -> Response:
    """Pause a reminder, as ``PATCH /patients/{pid}/reminders/{rid}`` with ``{"active": false}``."""
    return _patch_reminder(visit, patient_id, reminder_id, {"active": False}, "paused")


@page(bp, "/console/patients/{patient_id}/reminders/{reminder_id}/resume", methods=("POST",))
def resume_reminder(visit: Visit, patient_id: str, reminder_id: str) -> Response:
    """Resume a paused reminder, as ``PATCH /patients/{pid}/reminders/{rid}`` with ``{"active": true}``."""
    return _patch_reminder(visit, patient_id, reminder_id, {"active": True}, "resumed")


# -- Targets --------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def targets_request(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The ``PUT /patients/{pid}/targets`` body a targets form asks for, and the fields that are not numbers.

    An empty field is omitted, so it keeps the profile's default (the API's rule); a field equal
    to the chosen profile's default is omitted too, so that a later profile change moves it.
    """
    profile = form.get("glucose_profile") or "standard"
    defaults = default_targets(profile) if profile in PROFILE_HIGHS else None
    body: dict[str, Any] = {"glucose": {}, "blood_pressure": {}}
    if profile:
        body["glucose_profile"] = profile
    reason = form.get("reason", "").strip()
    if reason:
        body["reason"] = reason
    not_numbers: dict[str, str] = {}
    for name in TARGET_FIELDS:
        raw = form.get(name, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            not_numbers[name] = "must be a number"
            continue
        if not math.isfinite(value):
            not_numbers[name] = "must be a number"
            continue
        group, key = name.split(".")
        if defaults is not None and value == float(getattr(getattr(defaults, group), key)):
            continue
        body[group][key] = int(value) if value.is_integer() else value
    return body, not_numbers


@page(bp, "/console/patients/{patient_id}/targets", methods=("POST",))
def save_targets(visit: Visit, patient_id: str) -> Response:
    """Set personal targets, as ``PUT /patients/{pid}/targets`` does (the service enforces the hard limits)."""
    caller, patient = _patient(visit, patient_id)
    values = {name: visit.form.get(name, "") for name in (*TARGET_FIELDS, "glucose_profile", "reason")}
    form = FormState(values=values)
    body, not_numbers = targets_request(visit.form)
    try:
        if not_numbers:
            raise InvalidInputError(
                "Targets must be numbers.", [FieldError(name, message) for name, message in not_numbers.items()]
            )
        request = TargetsIn.model_validate(body)
        container().patients.put_targets(caller, patient.patient_id, request)
    except (ValidationError, InvalidInputError) as error:
        form.errors = field_errors(error)
        if not any(name in form.errors for name in (*TARGET_FIELDS, "glucose_profile", "reason")):
            form.problem = str(error) if isinstance(error, InvalidInputError) else "; ".join(form.errors.values())
        elif isinstance(error, InvalidInputError):
            form.problem = str(error)
        return _again(visit, patient, "targets", targets_view(caller, patient, form))
    except ConflictError as error:
        form.problem = str(error)
        return _again(visit, patient, "targets", targets_view(caller, patient, form))
    return _done(visit, patient, "targets", targets_view(caller, patient, FormState(notice="saved")))


# -- Care time ------------------------------------------------------------------------------------


@page(bp, "/console/patients/{patient_id}/care-time", methods=("POST",))
def log_care_time(visit: Visit, patient_id: str) -> Response:
    """Log minutes, as ``POST /patients/{pid}/care-time`` does; the form's moment makes a repeat the same entry."""
    caller, patient = _patient(visit, patient_id)
    f = visit.form
    values = {
        "minutes": f.get("minutes", "").strip(),
        "activity": f.get("activity", ""),
        "interactive": "on" if _checked(visit, "interactive") else "",
        "at": f.get("at", ""),
    }
    form = FormState(values=values)
    try:
        minutes = values["minutes"]
        if not (minutes.isascii() and minutes.isdigit() and len(minutes) <= 4):
            raise InvalidInputError("Minutes must be a whole number.", [FieldError("minutes", "a whole number")])
        request = CareTimeIn.model_validate(
            {
                "minutes": int(minutes),
                "interactive": _checked(visit, "interactive"),
                "activity": values["activity"],
                "at": values["at"],
            }
        )
        container().billing.log_care_time(caller, patient.patient_id, request)
    except (ValidationError, InvalidInputError) as error:
        form.errors = field_errors(error)
        if "at" in form.errors:  # the hidden moment: not the clinician's to fix
            form.problem = form.errors.pop("at") + " — reload the page."
            form.values.pop("at")
        return _again(visit, patient, "care_time", care_time_view(caller, patient, form))
    except ConflictError as error:
        form.problem = str(error)
        form.values.pop("at")  # a fresh moment: the corrected entry is a new one
        return _again(visit, patient, "care_time", care_time_view(caller, patient, form))
    return _done(visit, patient, "care_time", care_time_view(caller, patient, FormState(notice="logged")))


# -- Notes ----------------------------------------------------------------------------------------


@page(bp, "/console/patients/{patient_id}/notes", methods=("POST",))
def add_note(visit: Visit, patient_id: str) -> Response:
    """Add a care-team note, as ``POST /patients/{pid}/notes`` does (the record service, the form's key)."""
    caller, patient = _patient(visit, patient_id)
    key = _form_key(visit)
    text = visit.form.get("text", "")
    shared = _checked(visit, "share_with_patient")
    form = FormState(values={"text": text, "share_with_patient": "on" if shared else ""})
    try:
        request = NoteIn.model_validate({"text": text, "share_with_patient": shared})
        container().record.add_note(caller, patient.patient_id, request, key)
    except (ValidationError, InvalidInputError) as error:
        form.errors = field_errors(error)
        return _again(visit, patient, "notes", notes_view(caller, patient, form, key))
    except ConflictError as error:
        form.problem = str(error)
        return _again(visit, patient, "notes", notes_view(caller, patient, form))
    return _done(visit, patient, "notes", notes_view(caller, patient, FormState(notice="added")))
