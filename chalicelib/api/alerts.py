"""Alerts: list, read, acknowledge, resolve; and the clinician's worklist."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page
from chalicelib.bootstrap import container
from chalicelib.domain.alerts import TransitionIn
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.identity import Role

bp = Blueprint(__name__)
STAFF = (Role.CLINICIAN, Role.ADMIN)
# Opaque ids (a- and 24 hex), or the legacy base64(patient).<16 hex> form, at most 200 characters.
_ALERT_ID = re.compile(r"a-[0-9a-f]{24}|[A-Za-z0-9_-]{1,180}={0,2}\.[0-9a-f]{16}")


def known_alert_id(value: str) -> str:
    """An alert id that cannot exist is simply not found (never a key DynamoDB refuses: F13)."""
    if len(value) > 200 or not _ALERT_ID.fullmatch(value):
        raise NotFoundError("Alert not found.")
    return value


@endpoint(bp, "/alerts", methods=["GET"], roles=STAFF)
def list_alerts(call: Call) -> Any:
    q = call.query
    items, cursor = container().alerts.page(
        call.caller, q.get("status"), q.get("priority"), call.query_id("patient_id"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(bp, "/alerts/{alert_id}", methods=["GET"], roles=STAFF)
def get_alert(call: Call, alert_id: str) -> Any:
    return container().alerts.get(call.caller, known_alert_id(alert_id))


@endpoint(bp, "/alerts/{alert_id}/acknowledge", methods=["POST"], roles=STAFF)
def acknowledge_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, known_alert_id(alert_id), "acknowledge", request)


@endpoint(bp, "/alerts/{alert_id}/resolve", methods=["POST"], roles=STAFF)
def resolve_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, known_alert_id(alert_id), "resolve", request)


@endpoint(bp, "/worklist", methods=["GET"], roles=(Role.CLINICIAN,))
def worklist(call: Call) -> Any:
    return container().worklist.build(call.caller)
