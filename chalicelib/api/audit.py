"""The audit trail, for admins: who saw or changed which patient's data."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page
from chalicelib.bootstrap import container
from chalicelib.domain.identity import Role

bp = Blueprint(__name__)


@endpoint(bp, "/audit", methods=["GET"], roles=(Role.ADMIN,))
def list_audit(call: Call) -> Any:
    items, cursor = container().audit_queries.page(
        call.caller, call.query_id("patient_id"), call.query_id("actor"), call.limit(), call.cursor()
    )
    return page(items, cursor)
