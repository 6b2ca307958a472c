"""The alert API: read one alert, list a clinician's (or every) alert, acknowledge and resolve.

Who may see an alert is decided on the patient's *current* care team (docs/api.md
"Trust rules", F1): anyone else gets the same 404 as for an alert that does
not exist.  Every read is audited per patient.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain import alerts as rules
from chalicelib.domain.alerts import Alert, TransitionIn
from chalicelib.domain.errors import ConflictError, FieldError, MalformedRequestError, NotFoundError
from chalicelib.domain.identity import Principal, Role, can_see_patient
from chalicelib.domain.timeutil import iso
from chalicelib.services.alert_paging import AlertParts, as_alert
from chalicelib.services.ports import Record


class AlertQueries(AlertParts):
    def _patient_of(self, alert_id: str) -> str:
        if rules.is_opaque_alert_id(alert_id):
            pid = self._alerts.patient_of(alert_id)
        else:
            pid = rules.legacy_patient_of_alert(alert_id)
        if pid is None:
            raise NotFoundError("Alert not found.")
        return pid

    def _visible(self, principal: Principal, alert_id: str) -> tuple[Record, list[str]]:
        """The alert and its patient's *current* care team; 404 for anyone not on that team (F1).

        Never the ``care_team`` stored on the alert: that is who it was opened for,
        and a clinician removed from the team since must not read or act on it.
        """
        pid = self._patient_of(alert_id)
        record = None if principal.is_patient else self._patients.get(pid)
        team = list((record or {}).get("care_team", []))
        if record is None or not can_see_patient(principal, pid, team):
            raise NotFoundError("Alert not found.")
        item = self._alerts.get(pid, alert_id)
        if item is None:
            raise NotFoundError("Alert not found.")
        return item, team

    def get(self, principal: Principal, alert_id: str) -> Alert:
        item, _ = self._visible(principal, alert_id)
        self._audit.record(principal, "read", "alert", item["patient_id"])
        return as_alert(item)

    def page(
        self,
        principal: Principal,
        status: str | None,
        priority: str | None,
        patient_id: str | None,
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Alert], str | None]:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        status = status or "open"
        if status not in rules.TARGET_STATUS.values() and status != "open":
            raise MalformedRequestError("Unknown status.", [FieldError("status", "open, acknowledged or resolved")])
        if priority not in (None, "critical", "routine"):
            raise MalformedRequestError("Unknown priority.", [FieldError("priority", "critical or routine")])
        scope = f"alerts:{principal.subject}:{status}:{priority}:{patient_id}"
        start = self._cursors.decode(scope, cursor)
        if patient_id:
            record = self._patients.get(patient_id)
            if record is None or not can_see_patient(principal, patient_id, record.get("care_team", [])):
                raise NotFoundError("Patient not found.")
            items = [
                i
                for i in self._alerts.of_patient(patient_id, (status,))
                if i["status"] == status and (priority is None or i["priority"] == priority)
            ]
            items.sort(key=lambda i: i["opened_at"], reverse=True)  # newest first ...
            items.sort(key=lambda i: rules.PRIORITY_RANK[i["priority"]])  # ... critical before routine (stable)
            offset = int(start or 0)
            chosen = items[offset : offset + limit]
            self._audit.record(principal, "list", "alert", patient_id)
            more = offset + limit < len(items)
            return [as_alert(i) for i in chosen], self._cursors.encode(scope, offset + limit if more else None)
        page = self._alerts.list_page(None if principal.is_admin else principal.subject, status, limit, start, priority)
        full = self._alerts.many([(e["patient_id"], e["alert_id"]) for e in page.items])
        by_id = {i["alert_id"]: i for i in full}
        ordered = [by_id[e["alert_id"]] for e in page.items if e["alert_id"] in by_id]
        if not principal.is_admin:
            # The entries follow care-team changes; checking the current team as well keeps an
            # entry a change has not reached yet (or a resolved alert's) from showing.
            teams = self._patients.many(sorted({i["patient_id"] for i in ordered}))
            ordered = [
                i
                for i in ordered
                if can_see_patient(principal, i["patient_id"], (teams.get(i["patient_id"]) or {}).get("care_team", []))
            ]
        # One record per patient shown, in batches: a page of 50 alerts is not 50 writes.
        self._audit.record_many(
            principal, "list", "alert", [(p, None) for p in sorted({i["patient_id"] for i in ordered})]
        )
        return [as_alert(i) for i in ordered], self._cursors.encode(scope, page.last_key)

    def live_entries(self, clinician_id: str) -> list[Record]:
        """The clinician's open and acknowledged list entries (``priority``, ``patient_id``, ``unanswered``...).

        For the worklist's counts, without reaching into the store behind this service.
        """
        return [e for status in ("open", "acknowledged") for e in self._alerts.clinician_entries(clinician_id, status)]

    def transition(self, principal: Principal, alert_id: str, action: str, request: TransitionIn) -> Alert:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        item, team = self._visible(principal, alert_id)
        status = rules.TARGET_STATUS[action]
        if item["status"] == status and item.get(f"{status}_by") == principal.subject:
            return as_alert(item)  # the same person repeating the same action: done already, the same answer
        if item["status"] not in rules.TRANSITIONS[action]:
            raise ConflictError(f"An alert that is {item['status']} cannot be {rules.TARGET_STATUS[action]}.")
        now = iso(self._clock())
        changes: dict[str, Any] = {"status": status, f"{status}_by": principal.subject, f"{status}_at": now}
        note = {"by": principal.subject, "at": now, "text": request.note} if request.note else None
        after = self._alerts.transition(item, changes, note, team)
        kind = "alert_acknowledged" if action == "acknowledge" else "alert_resolved"
        self._events.put_event(
            item["patient_id"],
            kind,
            self._clock(),
            f"{kind}-{alert_id}",
            f"alert {status} by {principal.subject}",
            None,
            {"alert_id": alert_id},
        )
        self._audit.record(principal, action, "alert", item["patient_id"], {"alert_id": alert_id})
        return as_alert(after)
