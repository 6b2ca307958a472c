"""The minute tick: everything that becomes due, found through the sharded due index.

Each tick Queries every shard (``DUE#00``..``DUE#15``) for items whose
``due_at`` is at or before now, so a late, skipped or repeated tick catches up
in the same Query and an idle tick costs one Query per shard.  Each due item is
handed to the handler registered for its ``entity``; handlers must be
idempotent (they win a conditional write before acting), so two ticks racing
over the same item act once.  No Scan, ever.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.domain.timeutil import iso
from chalicelib.observability import count, logger
from chalicelib.resources import DUE_SHARDS

DueHandler = Callable[[dict[str, Any], datetime], None]


class Scheduler:
    def __init__(self, table: DynamoTable, work_queue: Any | None = None) -> None:
        self._table = table
        self._work_queue = work_queue
        self.handlers: dict[str, DueHandler] = {}

    def register(self, entity: str, handler: DueHandler) -> None:
        self.handlers[entity] = handler

    def due(self, shard: int, now: datetime) -> list[dict[str, Any]]:
        return self._table.query_all(
            "due_shard = :s AND due_at <= :now", {":s": f"DUE#{shard:02d}", ":now": iso(now)}, index="due"
        )

    def tick(self, now: datetime) -> int:
        """Find everything due and hand it to the work queue (or, without one, handle it here)."""
        items = [item for shard in range(DUE_SHARDS) for item in self.due(shard, now)]
        if self._work_queue is not None:
            if items:
                self._work_queue.send(items, now)
        else:
            self.run(items, now)
        count("DueItemsFound", len(items))
        return len(items)

    def run(self, items: list[dict[str, Any]], now: datetime) -> int:
        """Act on due items as of ``now``; every handler is idempotent (it wins a conditional write first)."""
        handled = 0
        for item in items:
            handler = self.handlers.get(item.get("entity", ""))
            if handler is None:
                logger().warning("no handler for due item", extra={"entity": item.get("entity")})
                continue
            try:
                handler(item, now)
            except Exception:
                # Alarmed in infra/ ("EscalationFailures"): a page that cannot go out is an incident.
                if item.get("entity") == "alert":
                    count("EscalationFailures")
                raise
            handled += 1
        count("DueItemsHandled", handled)
        return handled
