"""The due-work queue's consumer: the items one tick found, handled as of that tick's minute."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from chalicelib.jobs.events import parse_event
from chalicelib.observability import log_unexpected


class DueWork(BaseModel):
    """One due-work message: the due items a tick read, and the tick's minute."""

    model_config = ConfigDict(extra="ignore", hide_input_in_errors=True)
    items: list[dict[str, Any]]
    now: AwareDatetime


def run_batch(scheduler: Any, event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def one(record: Any) -> int:
        work = parse_event(DueWork, record.body, "due work")  # malformed: logged by type, to the DLQ
        try:
            handled: int = scheduler.run(work.items, work.now)
        except Exception as error:
            log_unexpected(error, "due work")
            raise  # SQS retries the message; handlers are idempotent
        return handled

    response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
    return response
