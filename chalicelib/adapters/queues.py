"""SQS: one queue sent to in batches of ten with the one retry loop every producer shares, and its producers.

``SqsOutbound`` puts message intents on the outbound queue (``OutboundQueue``); ``SqsWorkQueue``
fans the tick's due items out to the work queue (the scheduler's ``WorkQueue``).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

from chalicelib.domain.messages import Intent
from chalicelib.domain.timeutil import iso

BATCH = 10  # SendMessageBatch's limit
ATTEMPTS = 4


class SqsQueue:
    """A queue by name; its URL is looked up on first send, once per container."""

    def __init__(self, sqs: Any, queue_name: str) -> None:
        self._sqs = sqs
        self._queue_name = queue_name
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = str(self._sqs.get_queue_url(QueueName=self._queue_name)["QueueUrl"])
        return self._url

    def send(self, entries: list[dict[str, Any]], what: str) -> None:
        """Send every entry (``MessageBody`` and optional ``MessageAttributes``), ten to a call.

        Entries SQS reports as failed are sent again, up to four attempts with a
        short backoff; any still failing raise, so the caller's own retry (a stream
        batch, a tick) tries again rather than losing them.  ``what`` names them in
        the error.
        """
        for start in range(0, len(entries), BATCH):
            pending = [{**entry, "Id": str(n)} for n, entry in enumerate(entries[start : start + BATCH])]
            for attempt in range(ATTEMPTS):
                response = self._sqs.send_message_batch(QueueUrl=self.url, Entries=pending)
                failed = {f["Id"] for f in response.get("Failed", [])}
                pending = [e for e in pending if e["Id"] in failed]
                if not pending:
                    break
                time.sleep(0.05 * 2**attempt)
            if pending:
                raise RuntimeError(f"{len(pending)} {what} could not be queued")


class SqsWorkQueue:
    """The tick's fan-out: due items, ten to a message and ten messages to a call."""

    ITEMS_PER_MESSAGE = 10

    def __init__(self, sqs: Any, queue_name: str) -> None:
        self._queue = SqsQueue(sqs, queue_name)

    def send(self, items: list[dict[str, Any]], now: datetime) -> None:
        size = self.ITEMS_PER_MESSAGE
        bodies = [
            json.dumps({"now": iso(now), "items": items[start : start + size]}, default=str)
            for start in range(0, len(items), size)
        ]
        self._queue.send([{"MessageBody": body} for body in bodies], "due-work messages")


class SqsOutbound:
    """Producers put intents on the outbound queue; the deliver handler takes them off."""

    def __init__(self, sqs: Any, queue_name: str) -> None:
        self._queue = SqsQueue(sqs, queue_name)

    @property
    def url(self) -> str:
        return self._queue.url

    def enqueue(self, intents: list[Intent]) -> None:
        entries = [
            {
                "MessageBody": intent.model_dump_json(),
                "MessageAttributes": {
                    "correlation_id": {"DataType": "String", "StringValue": intent.correlation_id or "-"},
                    "priority": {"DataType": "String", "StringValue": intent.priority},
                },
            }
            for intent in intents
        ]
        self._queue.send(entries, "intents")
