"""The outbound queue's consumer: one intent per SQS record, partial batch failures."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.messages import Intent
from chalicelib.observability import log_unexpected, logger
from chalicelib.services.messaging import TransientDeliveryError


def deliver_batch(messaging: Any, event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    # Report every failure per record, even when all fail: SQS then retries exactly those.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def one(record: Any) -> str:
        intent = Intent.model_validate(json.loads(record.body))
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
        logger().info("delivered", extra={"intent_id": intent.intent_id, "outcome": outcome})
        return outcome

    response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
    return response
