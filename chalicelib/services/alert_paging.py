"""The alert service's collaborators, and the one way a page leaves: to whom, with which template, once.

``AlertParts`` holds the ports the lifecycle, escalation and query parts of
``AlertService`` share (each part is a module of its own); ``_page`` turns a
set of recipients into message intents whose ids make a replay page nobody
twice, and records honestly when there was nobody to page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.domain import alerts as rules
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.templates import TEMPLATES
from chalicelib.domain.timeutil import parse_iso
from chalicelib.observability import count, logger, opaque
from chalicelib.services.ports import (
    AlertReadings,
    AlertStore,
    Clinicians,
    ListAudit,
    Outbox,
    Patients,
    Record,
    Timeline,
)


def loggable_alert_id(alert_id: str) -> str:
    """The alert id itself when opaque; a legacy id (base64 of the patient id) only as a digest (F16)."""
    return alert_id if rules.is_opaque_alert_id(alert_id) else opaque(alert_id)


class AlertParts:
    """The collaborators every part of the alert service uses (constructed once, by ``AlertService``)."""

    def __init__(
        self,
        alerts: AlertStore,
        readings: AlertReadings,
        patients: Patients,
        clinicians: Clinicians,
        events: Timeline,
        messaging: Outbox,
        audit: ListAudit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        link_base: str = "",
    ) -> None:
        self._link_base = link_base.rstrip("/")
        self._alerts = alerts
        self._readings = readings
        self._patients = patients
        self._clinicians = clinicians
        self._events = events
        self._messaging = messaging
        self._audit = audit
        self._cursors = cursors
        self._clock = clock

    # -- who is paged, and how ----------------------------------------------------------

    def _page_recipients(self, record: Record, level: int = 0) -> dict[str, list[str]]:
        """Who a page goes to, by role, from the patient's *current* care team (rules 5 and 6)."""
        team = list(dict.fromkeys(record.get("care_team", [])))
        profiles = self._clinicians.many(team) if team else {}
        unwakeable = any(not rules.realtime(profiles.get(cid)) for cid in team)
        # The on-call list is read only when someone will be paged through it.
        needs_on_call = level >= rules.ON_CALL_FROM_LEVEL or unwakeable or not team
        on_call = list((self._clinicians.on_call() or {}).get("clinician_ids", [])) if needs_on_call else []
        return rules.page_recipients(team, profiles, on_call, level)

    def _page(
        self, alert: Record, recipients: dict[str, list[str]], at: datetime, level: int, origin: str = ""
    ) -> None:
        pid = alert["patient_id"]
        template = rules.page_template(level)
        params = {
            "alert_id": alert["alert_id"],
            "priority": alert.get("priority", "critical"),
            "link": f"{self._link_base}/alerts/{alert['alert_id']}",
            "level": level,
            "minutes": int((at - parse_iso(alert["opened_at"])).total_seconds() // 60),
        }
        tag = f"{alert['alert_id']}:{level}:{origin}"
        ids = [cid for role in recipients.values() for cid in role]
        if not ids:
            count("CriticalAlertsNobodyToPage")
            logger().error("critical alert with nobody to page", extra={"alert": loggable_alert_id(alert["alert_id"])})
            return
        self._messaging.enqueue(
            *[
                Intent(
                    intent_id=f"page:{tag}:{cid}",
                    recipient=Recipient(kind="clinician", id=cid),
                    template=template if template in TEMPLATES else "alert_escalation_clinician",
                    params=params,
                    priority="safety",
                    created_at=at,
                    patient_id=pid,
                )
                for cid in dict.fromkeys(ids)
            ]
        )


def as_alert(item: dict[str, Any]) -> rules.Alert:
    """The API's view of a stored alert record (storage attributes dropped)."""
    return rules.Alert.model_validate({k: v for k, v in item.items() if k in rules.Alert.model_fields})
