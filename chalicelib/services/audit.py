"""The audit trail: who touched which patient's data, when, and in which request."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.identity import Principal
from chalicelib.domain.timeutil import iso


class AuditLog(Protocol):
    def append(self, entry: dict[str, Any]) -> None: ...

    def append_many(self, entries: list[dict[str, Any]]) -> None: ...


# One page of records, newest first, and where the next page starts (None: no more).
AuditPage = tuple[list[dict[str, Any]], Any]


class AuditRecords(Protocol):
    """The audit log read back (admins): by patient, by actor, by UTC day (YYYY-MM-DD)."""

    def of_patient(self, patient_id: str, limit: int, start_key: Any) -> AuditPage: ...

    def of_actor(self, actor: str, limit: int, start_key: Any) -> AuditPage: ...

    def of_day(self, day: str, limit: int, start_key: Any) -> AuditPage: ...


class AuditTrail:
    def __init__(self, log: AuditLog, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._clock = clock
        self._seq = itertools.count()

    def record(
        self,
        principal: Principal,
        action: str,
        resource: str,
        patient_id: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._log.append(self._entry(principal, action, resource, patient_id, detail))

    def record_many(
        self, principal: Principal, action: str, resource: str, patients: list[tuple[str, dict[str, Any] | None]]
    ) -> None:
        """One record per patient a list page showed, written in batches rather than one request each."""
        if patients:
            self._log.append_many([self._entry(principal, action, resource, pid, d) for pid, d in patients])

    def _entry(
        self, principal: Principal, action: str, resource: str, patient_id: str | None, detail: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "actor": principal.subject,
            "role": principal.role.value,
            "action": action,
            "resource": resource,
            "patient_id": patient_id,
            "at": iso(self._clock()),
            "request_id": principal.request_id or "-",
            "seq": next(self._seq),
            "detail": detail,
            # From where and through which client (F5); empty for jobs and inbound SMS.
            "client_id": principal.client_id or None,
            "source_ip": principal.source_ip or None,
            "user_agent": principal.user_agent or None,
        }


class AuditQueries:
    """``GET /audit`` for admins: by patient, by actor, or everything newest first."""

    # With no filter we walk back one UTC day per Query; a request looks at
    # most this many days so an empty stretch cannot make it unbounded.
    DAYS_PER_REQUEST = 31
    MAX_DAYS_BACK = 400

    def __init__(self, log: AuditRecords, cursors: CursorCodec, clock: Callable[[], datetime]) -> None:
        self._log = log
        self._cursors = cursors
        self._clock = clock

    def page(
        self, principal: Principal, patient_id: str | None, actor: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        from chalicelib.domain.identity import Role

        principal.require(Role.ADMIN)
        scope = f"audit:{patient_id or ''}:{actor or ''}"
        position = self._cursors.decode(scope, cursor) or {}
        if patient_id or actor:
            items: list[dict[str, Any]] = []
            start = position.get("key")
            # Filtering by actor within a patient's partition may need several pages.
            while True:
                if patient_id:
                    found, start = self._log.of_patient(patient_id, limit - len(items), start)
                else:
                    found, start = self._log.of_actor(str(actor), limit - len(items), start)
                items += [i for i in found if not actor or i.get("actor") == actor]
                if not start or len(items) >= limit or not (patient_id and actor):
                    break
            return [_public(i) for i in items], self._cursors.encode(scope, {"key": start} if start else None)
        return self._page_by_day(principal, scope, position, limit)

    def _page_by_day(
        self, principal: Principal, scope: str, position: dict[str, Any], limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        from datetime import date, timedelta

        today = self._clock().date()
        day = date.fromisoformat(position["day"]) if "day" in position else today
        start = position.get("key")
        items: list[dict[str, Any]] = []
        for _ in range(self.DAYS_PER_REQUEST):
            if (today - day).days > self.MAX_DAYS_BACK:
                return [_public(i) for i in items], None
            found, last_key = self._log.of_day(day.isoformat(), limit - len(items), start)
            items += found
            if last_key:
                start = last_key
            else:
                day, start = day - timedelta(days=1), None
            if len(items) >= limit:
                break
        next_position = {"day": day.isoformat(), "key": start}
        return [_public(i) for i in items], self._cursors.encode(scope, next_position)


def _public(item: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "actor",
        "role",
        "action",
        "resource",
        "patient_id",
        "at",
        "request_id",
        "detail",
        "client_id",
        "source_ip",
        "user_agent",
    )
    return {k: item.get(k) for k in keep}
