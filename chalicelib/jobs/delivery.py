"""Providers' delivery events to the delivery service: the delivery-events topic and SNS's SMS delivery logs.

- The ``delivery-events`` topic carries SES event records (the configuration set's event destination)
  and push platforms' ``DeliveryFailure`` events, one JSON notification per SNS message.
- SNS logs each text's carrier outcome to CloudWatch Logs; a subscription filter hands the log events
  to ``sms_delivery_logs`` as ``{"awslogs": {"data": <base64 of gzip of JSON>}}``, each log event's
  ``message`` one delivery status record.

An event of no known shape is counted and dropped (logged by where, never by content: the records
name email addresses and phone numbers): no retry can make it parse.  A storage error raises, and
the event source retries the batch.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterable
from typing import Any

from chalicelib.domain.delivery import Outcome, UnknownEvent, from_sms_log, outcomes_of
from chalicelib.observability import count, logger


def handle_notification(service: Any, message: str) -> list[str]:
    """One notification of the delivery-events topic; what became of each outcome it holds."""
    try:
        outcomes = outcomes_of(json.loads(message))
    except (UnknownEvent, ValueError, TypeError, AttributeError):
        return [_dropped("delivery-events notification")]
    return _record(service, outcomes)


def handle_log_event(service: Any, event: dict[str, Any]) -> list[str]:
    """One CloudWatch Logs subscription delivery of SNS's SMS delivery status records."""
    try:
        data = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
        entries = data.get("logEvents") or []
    except (KeyError, TypeError, ValueError, OSError):
        return [_dropped("sms delivery log batch")]
    if data.get("messageType") == "CONTROL_MESSAGE":
        return []  # CloudWatch Logs checking the destination is reachable
    results: list[str] = []
    for entry in entries:
        try:
            outcome = from_sms_log(json.loads(entry["message"]))
        except (UnknownEvent, KeyError, TypeError, ValueError, AttributeError):
            results.append(_dropped("sms delivery log record"))
            continue
        results += _record(service, [outcome])
    return results


def log_event(records: Iterable[dict[str, Any]], group: str) -> dict[str, Any]:
    """The event CloudWatch Logs hands a subscription's function for ``records`` (the local stage builds it)."""
    data = {
        "messageType": "DATA_MESSAGE",
        "logGroup": group,
        "logStream": "local",
        "subscriptionFilters": ["sms-delivery"],
        "logEvents": [{"id": str(i), "timestamp": 0, "message": json.dumps(r)} for i, r in enumerate(records)],
    }
    return {"awslogs": {"data": base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()}}


def _record(service: Any, outcomes: list[Outcome]) -> list[str]:
    return [str(service.record(outcome)) for outcome in outcomes]


def _dropped(where: str) -> str:
    count("DeliveryEventsMalformed")
    logger().warning("delivery event of no known shape dropped", extra={"where": where})
    return "malformed"
