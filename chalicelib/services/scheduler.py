"""The minute tick: everything that becomes due, found through the sharded due index.

Each tick Queries every shard (``DUE#00``..``DUE#15``) for items whose
``due_at`` is at or before now, so a late, skipped or repeated tick catches up
in the same Query and an idle tick costs one Query per shard (plus one for the
urgent shard).  Each due item is handed to the handler registered for its
``entity``; handlers must be idempotent (they win a conditional write before
acting), so two ticks racing over the same item act once.  No Scan, ever.

Escalations never wait behind reminders: critical-alert escalations live on
their own partition (``DUE#URGENT``), which the tick reads first and handles
itself, before it fans the rest out to the work queue.  The sixteen ordinary
shards are then read in parallel and each page goes to the queue as soon as
it is read, so 100,000 reminders at 08:00 start moving in the first second.
A handler that fails does not hold up the other items of its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from chalicelib.observability import count, logger
from chalicelib.resources import DUE_SHARDS, URGENT_DUE_SHARD

# Shards read at once by a tick (DynamoDB serves them in parallel; each page is queued as soon as read).
PARALLEL_SHARDS = 8

DueHandler = Callable[[dict[str, Any], datetime], None]


class DueIndex(Protocol):
    def due_pages(self, shard: int | str, now: datetime) -> Iterator[list[dict[str, Any]]]: ...


class WorkQueue(Protocol):
    def send(self, items: list[dict[str, Any]], now: datetime) -> None: ...


class Scheduler:
    def __init__(self, index: DueIndex, work_queue: WorkQueue | None = None) -> None:
        self._index = index
        self._work_queue = work_queue
        self.handlers: dict[str, DueHandler] = {}

    def register(self, entity: str, handler: DueHandler) -> None:
        self.handlers[entity] = handler

    def due(self, shard: int | str, now: datetime) -> list[dict[str, Any]]:
        return [item for page in self._due_pages(shard, now) for item in page]

    def _due_pages(self, shard: int | str, now: datetime) -> Iterator[list[dict[str, Any]]]:
        return self._index.due_pages(shard, now)

    def tick(self, now: datetime) -> int:
        """Escalations first, here; then everything else due, handed to the work queue (or handled here)."""
        urgent = self.due(URGENT_DUE_SHARD, now)
        self.run(urgent, now)
        with ThreadPoolExecutor(max_workers=PARALLEL_SHARDS) as pool:
            found = sum(pool.map(lambda shard: self._dispatch(shard, now), range(DUE_SHARDS)))
        count("DueItemsFound", found + len(urgent))
        return found + len(urgent)

    def _dispatch(self, shard: int, now: datetime) -> int:
        found = 0
        for items in self._due_pages(shard, now):
            found += len(items)
            if self._work_queue is not None:
                self._work_queue.send(items, now)
            else:
                self.run(items, now)
        return found

    def run(self, items: list[dict[str, Any]], now: datetime) -> int:
        """Act on due items as of ``now``; every handler is idempotent (it wins a conditional write first).

        A failing handler does not stop the items after it (another patient's
        escalation must not wait for it); the first failure is raised at the end,
        so the queue retries the batch and the handlers that succeeded do nothing twice.
        """
        handled = 0
        failure: Exception | None = None
        for item in items:
            handler = self.handlers.get(item.get("entity", ""))
            if handler is None:
                logger().warning("no handler for due item", extra={"entity": item.get("entity")})
                continue
            try:
                handler(item, now)
            except Exception as error:  # noqa: BLE001 - raised again below, after the rest of the batch
                # Alarmed in infra/ ("EscalationFailures"): a page that cannot go out is an incident.
                if item.get("entity") == "alert":
                    count("EscalationFailures")
                failure = failure or error
                continue
            handled += 1
        count("DueItemsHandled", handled)
        if failure is not None:
            raise failure
        return handled
