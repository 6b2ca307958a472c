"""The outbound queue's consumer: one intent per SQS record, partial batch failures."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.messages import Intent
from chalicelib.jobs.events import parse_event
from chalicelib.observability import log_unexpected, logger, opaque
from chalicelib.services.messaging import TransientDeliveryError


def deliver_batch(messaging: Any, event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # Report every failure per record, even when all fail: SQS then retries exactly those.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def one(record: Any) -> str:
        # Malformed: logged by type and location, raised without the payload (the queue's DLQ keeps it).
        intent = parse_event(Intent, record.body, "outbound intent")
        attributes = record.raw_event.get("messageAttributes", {})
        correlation = (attributes.get("correlation_id") or {}).get("stringValue")
        if correlation:
            logger().set_correlation_id(correlation)
        try:
            outcome: str = messaging.deliver(intent)
        except TransientDeliveryError:
            raise  # the queue retries it
        except Exception as error:
            log_unexpected(error, "deliver")
            raise
        # Intent ids embed patient and alert ids: logged as an opaque digest (F16).
        logger().info("delivered", extra={"intent": opaque(intent.intent_id), "outcome": outcome})
        return outcome

    response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
    return response
