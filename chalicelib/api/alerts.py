"""Alerts: list, read, acknowledge, resolve; and the clinician's worklist."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, Param, endpoint, id_param, page
from chalicelib.bootstrap import container
from chalicelib.domain.alerts import Alert, TransitionIn
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.identity import Role
from chalicelib.domain.worklist import Worklist

bp = Blueprint(__name__)
STAFF = (Role.CLINICIAN, Role.ADMIN)
# Opaque ids (a- and 24 hex), or the legacy base64(patient).<16 hex> form, at most 200 characters.
_ALERT_ID = re.compile(r"a-[0-9a-f]{24}|[A-Za-z0-9_-]{1,180}={0,2}\.[0-9a-f]{16}")


ALERT_ID = {"type": "string", "maxLength": 200, "pattern": f"^(?:{_ALERT_ID.pattern})$"}


def known_alert_id(value: str) -> str:
    """An alert id that cannot exist is simply not found (never a key DynamoDB refuses: F13)."""
    if len(value) > 200 or not _ALERT_ID.fullmatch(value):
        raise NotFoundError("Alert not found.")
    return value


@endpoint(
    bp,
    "/alerts",
    methods=["GET"],
    roles=STAFF,
    summary="Alerts of the caller's panel, critical first, then newest (status defaults to open)",
    response=Alert,
    paged=True,
    query=(
        Param("status", {"type": "string", "enum": ["open", "acknowledged", "resolved"], "default": "open"}),
        Param("priority", {"type": "string", "enum": ["critical", "routine"]}),
        id_param("patient_id", "Only this patient's alerts"),
    ),
)
def list_alerts(call: Call) -> Any:
    q = call.query
    items, cursor = container().alerts.page(
        call.caller, q.get("status"), q.get("priority"), call.query_id("patient_id"), call.limit(), call.cursor()
    )
    return page(items, cursor)


@endpoint(
    bp,
    "/alerts/{alert_id}",
    methods=["GET"],
    roles=STAFF,
    summary="An alert",
    response=Alert,
    path_params={"alert_id": ALERT_ID},
)
def get_alert(call: Call, alert_id: str) -> Any:
    return container().alerts.get(call.caller, known_alert_id(alert_id))


@endpoint(
    bp,
    "/alerts/{alert_id}/acknowledge",
    methods=["POST"],
    roles=STAFF,
    summary="Acknowledge (open -> acknowledged)",
    request=TransitionIn,
    response=Alert,
    body_optional=True,
    conflicts=True,
    path_params={"alert_id": ALERT_ID},
)
def acknowledge_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, known_alert_id(alert_id), "acknowledge", request)


@endpoint(
    bp,
    "/alerts/{alert_id}/resolve",
    methods=["POST"],
    roles=STAFF,
    summary="Resolve (open/acknowledged -> resolved)",
    request=TransitionIn,
    response=Alert,
    body_optional=True,
    conflicts=True,
    path_params={"alert_id": ALERT_ID},
)
def resolve_alert(call: Call, alert_id: str) -> Any:
    request = call.body(TransitionIn) if call.raw_body.strip() else TransitionIn()
    return container().alerts.transition(call.caller, known_alert_id(alert_id), "resolve", request)


@endpoint(
    bp,
    "/worklist",
    methods=["GET"],
    roles=(Role.CLINICIAN,),
    summary="The clinician's panel ordered by need",
    response=Worklist,
)
def worklist(call: Call) -> Any:
    return container().worklist.build(call.caller)
