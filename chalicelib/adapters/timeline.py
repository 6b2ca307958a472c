"""DynamoDB side of the patient's timeline: one event per (time, event id), read newest first.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
timeline event              PATIENT#<pid> / EVENT#<at>#<event_id>       lsi1: EVENT#<kind>#<at>#<id>
==========================  =========================================  =========================

A position on the timeline is ``<at>#<event_id>``: the sort key without its prefix.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Page
from chalicelib.adapters.keys import patient_pk
from chalicelib.domain.timeutil import iso


def event_item(
    patient_id: str,
    kind: str,
    at: datetime,
    event_id: str,
    summary: str,
    channel: str | None = None,
    ref: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored event, for a Put of its own or inside another write's transaction."""
    return {
        "pk": patient_pk(patient_id),
        "sk": f"EVENT#{iso(at)}#{event_id}",
        # One kind's events in time order: a kinds= filter reads only what it shows.
        "lsi1sk": f"EVENT#{kind}#{iso(at)}#{event_id}",
        "entity": "event",
        "kind": kind,
        "at": iso(at),
        "channel": channel,
        "summary": summary,
        "ref": ref or {},
    }


class DynamoTimeline:
    """The ``Timeline`` port: an event written once per ``event_id`` (a repeat overwrites it), and its pages."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    event_item = staticmethod(event_item)

    def put_event(
        self,
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> None:
        self.table.put(event_item(patient_id, kind, at, event_id, summary, channel, ref))

    def timeline_page(self, patient_id: str, kind: str | None, lower: str, upper: str, limit: int) -> Page:
        """Newest first, positions ``<at>#<event_id>`` from ``lower`` to ``upper`` inclusive: one Query."""
        if kind is None:
            return self.table.query(
                "pk = :pk AND sk BETWEEN :lo AND :hi",
                {":pk": patient_pk(patient_id), ":lo": f"EVENT#{lower}", ":hi": f"EVENT#{upper}"},
                limit=limit,
                forward=False,
            )
        return self.table.query(
            "pk = :pk AND lsi1sk BETWEEN :lo AND :hi",
            {":pk": patient_pk(patient_id), ":lo": f"EVENT#{kind}#{lower}", ":hi": f"EVENT#{kind}#{upper}"},
            index="lsi1",
            limit=limit,
            forward=False,
        )
