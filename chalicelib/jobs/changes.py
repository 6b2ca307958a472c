"""The table's stream: what follows from a write, outside the request path.

For now: copy the actor carried on each new reading into the audit table, so
ingestion stays one write.  Records are processed with Powertools' batch
processor and failures are reported per record (partial batch response).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import deserialize, error_code


def reading_audit_entry(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": image["created_by"],
        "role": image["created_role"],
        "action": "create",
        "resource": "reading",
        "patient_id": image["patient_id"],
        "at": image["received_at"],
        "request_id": image.get("request_id") or "-",
        # Deterministic: a redelivered stream record maps to the same audit key.
        "seq": f"reading-{image['reading_id']}",
        "detail": {"reading_id": image["reading_id"]},
    }


class ChangeHandler:
    def __init__(self, audit_log: Any) -> None:
        self._audit_log = audit_log

    def handle_record(self, record: dict[str, Any]) -> None:
        if record.get("eventName") != "INSERT":
            return
        image = deserialize(record["dynamodb"].get("NewImage", {}))
        if image.get("entity") == "reading":
            try:
                self._audit_log.append(reading_audit_entry(image))
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise  # already recorded on an earlier delivery otherwise

    def handle_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

        def one(record: Any) -> None:
            self.handle_record(record.raw_event)

        response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
        return response
