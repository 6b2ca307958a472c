"""Console page: the panel's open and acknowledged alerts, critical first, acknowledged and resolved in place.

The list, the single alert and both actions call the alerts service exactly as
``GET /alerts``, ``GET /alerts/{id}`` and ``POST /alerts/{id}/acknowledge|resolve``
do (chalicelib/api/alerts.py), so who may see or act on an alert, and the audit
trail, are the API's.  What the console adds is presentation:

- **One list of two statuses.**  The service pages one status and priority at a
  time (one indexed Query each), so the page walks four segments in the order a
  clinician should read them: open critical, acknowledged critical, open
  routine, acknowledged routine; each newest first, as the service orders them.
  The console's cursor is ``<segment>:<the service's signed cursor>``; the
  service still checks its own part, so a forged position is a 400.
- **Stale actions are not errors.**  Two nurses on the same alert is the normal
  case: the one who comes second gets the alert as it is now and a sentence
  saying who acted first, never a 409 page.
- **Without JavaScript** the forms post normally and the view answers 303 to the
  page they came from (``back``, only ever a local ``/console`` path).
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from chalice import Response
from pydantic import ValidationError

from chalicelib import bootstrap
from chalicelib.api.alerts import known_alert_id
from chalicelib.console.web import Visit, bp, local_path, page, redirect, render, staff
from chalicelib.domain.alerts import Alert, TransitionIn
from chalicelib.domain.errors import ConflictError, FieldError, InvalidInputError, MalformedRequestError
from chalicelib.domain.identity import Principal

HOME = "/console/alerts"
PAGE_SIZE = 50
# The order the page reads in: critical before routine, and within each, open before acknowledged.
SEGMENTS: tuple[tuple[str, str], ...] = (
    ("open", "critical"),
    ("acknowledged", "critical"),
    ("open", "routine"),
    ("acknowledged", "routine"),
)
# A page stops after this many service calls even if it is not full (entries filtered out by a
# care-team change can leave a call short); the cursor carries on from where it stopped.
MAX_CALLS = 8


def live_alerts(principal: Principal, cursor: str | None, size: int = PAGE_SIZE) -> tuple[list[Alert], str | None]:
    """One page of the caller's open and acknowledged alerts, critical first; the cursor of the next, if any."""
    segment, inner = _parse_cursor(cursor)
    alerts = bootstrap.container().alerts
    found: list[Alert] = []
    calls = 0
    while segment < len(SEGMENTS) and len(found) < size and calls < MAX_CALLS:
        status, priority = SEGMENTS[segment]
        items, inner = alerts.page(principal, status, priority, None, size - len(found), inner)
        calls += 1
        found.extend(items)
        if inner is None:
            segment += 1
    return found, (f"{segment}:{inner or ''}" if segment < len(SEGMENTS) else None)


def _parse_cursor(cursor: str | None) -> tuple[int, str | None]:
    if not cursor:
        return 0, None
    head, colon, inner = cursor.partition(":")
    if not colon or not head.isascii() or not head.isdigit() or int(head) >= len(SEGMENTS):
        raise MalformedRequestError("The cursor is not valid for this request.", [FieldError("cursor", "invalid")])
    return int(head), inner or None


def patient_names(principal: Principal, patient_ids: set[str]) -> dict[str, str]:
    """Full names of the patients whose alerts the service has just shown: one batched read, never one per row."""
    return bootstrap.container().patients.names(principal, sorted(patient_ids))


def local_back(value: str | None, default: str = HOME) -> str:
    """Where a form without JavaScript returns to: a path on the console, never another site."""
    return local_path(value, default)


@page(bp, "/console/alerts")
def alerts_page(visit: Visit) -> Response:
    principal = staff(visit)
    cursor = visit.query.get("cursor")
    alerts, next_cursor = live_alerts(principal, cursor)
    here = HOME + ("?" + urllib.parse.urlencode({"cursor": cursor}) if cursor else "")
    return render(
        visit,
        "alerts.html",
        alerts=alerts,
        names=patient_names(principal, {a.patient_id for a in alerts}),
        next_cursor=next_cursor,
        back=here,
    )


@page(bp, "/console/alerts/{alert_id}")
def alert_page(visit: Visit, alert_id: str) -> Response:
    """One alert: where the ``<console_url>/alerts/<id>`` link of a page to a clinician lands."""
    alert = bootstrap.container().alerts.get(staff(visit), known_alert_id(alert_id))
    return _alert_page(visit, alert, None)


def _alert_page(visit: Visit, alert: Alert, notice: dict[str, Any] | None) -> Response:
    here = f"{HOME}/{urllib.parse.quote(alert.alert_id, safe='')}"
    names = patient_names(visit.caller, {alert.patient_id})
    return render(
        visit,
        "alert.html",
        alert=alert,
        patient_name=names.get(alert.patient_id, alert.patient_id),
        notice=notice,
        back=here,
    )


@page(bp, "/console/alerts/{alert_id}/acknowledge", methods=("POST",))
def acknowledge(visit: Visit, alert_id: str) -> Response:
    return _act(visit, alert_id, "acknowledge")


@page(bp, "/console/alerts/{alert_id}/resolve", methods=("POST",))
def resolve(visit: Visit, alert_id: str) -> Response:
    return _act(visit, alert_id, "resolve")


def _act(visit: Visit, alert_id: str, action: str) -> Response:
    """Acknowledge or resolve; answer the alert as it now is (htmx), or 303 back (a plain form).

    A stale action (someone else acted first: the service's ConflictError) answers the
    alert's current state and who acted, with 200: it is news, not a failure.
    """
    principal = staff(visit)
    alert_id = known_alert_id(alert_id)
    back = local_back(visit.form.get("back"))
    alerts = bootstrap.container().alerts
    try:
        request = _transition_in(visit.form.get("note"))
        alert = alerts.transition(principal, alert_id, action, request)
        notice: dict[str, Any] = {"kind": "done", "status": alert.status}
        stale = False
    except ConflictError:
        alert = alerts.get(principal, alert_id)
        notice = {"kind": "stale", "status": alert.status, "by": _actor(alert)}
        stale = True
    except InvalidInputError as error:
        if not visit.htmx:
            raise
        alert = alerts.get(principal, alert_id)
        notice = {"kind": "invalid", "detail": "; ".join(e.message for e in error.errors) or error.detail}
        stale = True
    if visit.htmx:
        names = patient_names(principal, {alert.patient_id}) if visit.form.get("named") == "1" else {}
        return render(
            visit, "_alert.html", alert=alert, patient_name=names.get(alert.patient_id), notice=notice, back=back
        )
    if stale:
        return _alert_page(visit, alert, notice)
    return redirect(visit, back)


def _transition_in(note: str | None) -> TransitionIn:
    try:
        return TransitionIn(note=note.strip() if note and note.strip() else None)
    except ValidationError as error:
        raise InvalidInputError("Please check the note.", [FieldError("note", "at most 2000 characters")]) from error


def _actor(alert: Alert) -> str | None:
    """Who put the alert in its current state (for "Already acknowledged by c-2")."""
    if alert.status == "resolved":
        return alert.resolved_by
    if alert.status == "acknowledged":
        return alert.acknowledged_by
    return None
