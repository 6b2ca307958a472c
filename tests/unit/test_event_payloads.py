"""Event payloads that do not parse leave no PHI in the logs (security review F14)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

PHONE = "+15557654321"
BODY = "my sugar was 41 and I took extra insulin " * 50  # over 1,600 characters: the body is refused


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record) + " " + repr(record.__dict__))


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Everything logged so far: Carewire's Powertools logger (as Lambda prints it) and every other logger."""
    from chalicelib.observability import logger

    powertools = logger()
    collect = _Collect()
    collect.setFormatter(powertools.registered_formatter)
    powertools.addHandler(collect)
    caplog.set_level(logging.DEBUG)
    try:
        yield lambda: "\n".join(collect.lines + [r.getMessage() + " " + repr(r.__dict__) for r in caplog.records])
    finally:
        powertools.removeHandler(collect)


class _NeverCalled:
    def handle(self, *args: Any) -> str:
        raise AssertionError("a malformed SMS reached the service")


def _sqs(body: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r",
                "body": body,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
                "awsRegion": "us-east-1",
            }
        ]
    }


@pytest.mark.parametrize(
    "message",
    [
        {"originationNumber": PHONE, "messageBody": BODY, "inboundMessageId": "in-1"},  # body too long
        {"originationNumber": int(PHONE[1:]), "messageBody": BODY[:100], "inboundMessageId": "in-2"},  # a number
        {"originationNumber": PHONE, "messageBody": {"text": BODY[:100]}, "inboundMessageId": "in-3"},
    ],
)
def test_f14_a_malformed_inbound_sms_is_dropped_and_neither_its_phone_nor_its_body_reaches_the_logs(
    logs: Callable[[], str], message: dict[str, Any]
) -> None:
    from chalicelib.jobs.inbound import handle_inbound

    outcome = handle_inbound(_NeverCalled(), json.dumps(message), datetime.now(UTC))

    assert outcome == "malformed"
    text = logs()
    assert "malformed event" in text and "inbound sms" in text
    assert PHONE[1:] not in text and "sugar" not in text


def test_f14_an_inbound_sms_that_is_not_json_logs_the_position_not_the_text(logs: Callable[[], str]) -> None:
    from chalicelib.jobs.inbound import handle_inbound

    outcome = handle_inbound(
        _NeverCalled(), f'{{"originationNumber": "{PHONE}", "messageBody": "sugar', datetime.now(UTC)
    )

    assert outcome == "malformed"
    text = logs()
    assert "JSONDecodeError" in text and PHONE[1:] not in text and "sugar" not in text


def test_f14_a_malformed_intent_or_due_work_fails_its_record_without_quoting_it(logs: Callable[[], str]) -> None:
    from chalicelib.jobs.due import run_batch
    from chalicelib.jobs.outbound import deliver_batch

    intent = {"intent_id": "x", "recipient": {"kind": "patient", "id": PHONE}, "template": 7, "created_at": BODY}
    delivered = deliver_batch(object(), _sqs(json.dumps(intent)))
    ran = run_batch(object(), _sqs(json.dumps({"items": [{"phone": PHONE}], "now": BODY})))

    assert delivered == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    assert ran == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
    text = logs()
    assert "outbound intent" in text and "due work" in text
    assert PHONE[1:] not in text and "sugar" not in text


class _Delivers:
    def deliver(self, intent: Any) -> str:
        return "sent"


def test_f16_a_delivered_intent_is_logged_by_an_opaque_digest_not_its_patient_id(logs: Callable[[], str]) -> None:
    from chalicelib.jobs.outbound import deliver_batch
    from chalicelib.observability import opaque

    intent_id = "safety:MRN-0048213:critical_low:r-1"
    intent = {"intent_id": intent_id, "recipient": {"kind": "patient", "id": "MRN-0048213"}, "template": "t"}

    delivered = deliver_batch(_Delivers(), _sqs(json.dumps({**intent, "created_at": "2026-11-22T07:41:00Z"})))

    assert delivered == {"batchItemFailures": []}
    text = logs()
    assert opaque(intent_id) in text
    assert "MRN-0048213" not in text


def test_f16_only_opaque_alert_ids_are_logged_as_they_are() -> None:
    import base64

    from chalicelib.services.alerts import alert_id_for, loggable_alert_id

    opaque_id = alert_id_for("MRN-0048213", "critical_low:r-1")
    legacy = base64.urlsafe_b64encode(b"MRN-0048213").decode().rstrip("=") + ".0123456789abcdef"

    assert loggable_alert_id(opaque_id) == opaque_id
    assert loggable_alert_id(legacy).startswith("h-")
    assert "TVJO" not in loggable_alert_id(legacy)
