"""Alerts: list, read, acknowledge, resolve; and the clinician's worklist."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page
from chalicelib.bootstrap import container
from chalicelib.domain.alerts import TransitionIn
from chalicelib.domain.identity import Role

bp = Blueprint(__name__)
STAFF = (Role.CLINICIAN, Role.ADMIN)


@endpoint(bp, "/alerts", methods=["GET"], roles=STAFF)
def list_alerts(call: Call) -> Any:
    q = call.query
    items, cursor = container().alerts.page(
        call.caller, q.get("status"), q.get("priority"), q.get("patient_id"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(bp, "/alerts/{alert_id}", methods=["GET"], roles=STAFF)
def get_alert(call: Call, alert_id: str) -> Any:
    return container().alerts.get(call.caller, alert_id)


@endpoint(bp, "/alerts/{alert_id}/acknowledge", methods=["POST"], roles=STAFF)
def acknowledge_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, alert_id, "acknowledge", request)


@endpoint(bp, "/alerts/{alert_id}/resolve", methods=["POST"], roles=STAFF)
def resolve_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, alert_id, "resolve", request)


@endpoint(bp, "/worklist", methods=["GET"], roles=(Role.CLINICIAN,))
def worklist(call: Call) -> Any:
    return container().worklist.build(call.caller)
