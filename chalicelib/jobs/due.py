"""The due-work queue's consumer: the items one tick found, handled as of that tick's minute."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.timeutil import parse_iso
from chalicelib.observability import log_unexpected


def run_batch(scheduler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def one(record: Any) -> int:
        work = json.loads(record.body)
        try:
            handled: int = scheduler.run(work["items"], parse_iso(work["now"]))
        except Exception as error:
            log_unexpected(error, "due work")
            raise  # SQS retries the message; handlers are idempotent
        return handled

    response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
    return response
