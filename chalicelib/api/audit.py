"""The audit trail, for admins: who saw or changed which patient's data."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint
from pydantic import BaseModel

from chalicelib.api.http import Call, endpoint, id_param, page
from chalicelib.bootstrap import container
from chalicelib.domain.identity import Role

bp = Blueprint(__name__)


class AuditEntry(BaseModel):
    actor: str
    role: str
    action: str
    resource: str
    patient_id: str | None = None
    at: str
    request_id: str
    detail: dict[str, Any] | None = None
    # The token's app client, the caller's IP and user agent (256 characters at most), when a request acted.
    client_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None


@endpoint(
    bp,
    "/audit",
    methods=["GET"],
    roles=(Role.ADMIN,),
    summary="Audit trail (admins)",
    response=AuditEntry,
    paged=True,
    query=(id_param("patient_id", "Only entries about this patient"), id_param("actor", "Only this actor's entries")),
)
def list_audit(call: Call) -> Any:
    items, cursor = container().audit_queries.page(
        call.caller, call.query_id("patient_id"), call.query_id("actor"), call.limit(), call.cursor()
    )
    return page(items, cursor)
