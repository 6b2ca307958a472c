"""One SQS queue, sent to in batches of ten with the one retry loop every producer shares."""

from __future__ import annotations

import time
from typing import Any

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
