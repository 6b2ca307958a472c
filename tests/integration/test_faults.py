"""Fault injection against moto: DynamoDB throttling on ingest, a poison stream record, a crash mid-delivery.

Faults are injected with botocore event hooks on the container's real clients
(the same seam AWS errors come through); none of our modules is patched.
Channel throttling, permanent failures and poison queue messages are in
test_messaging.py.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Api, body, patient_body
from tests.integration.test_messaging import _capture_stream_records, _intent, _sms_to, _sqs_event


class Fail:
    """A before-call hook raising ``code`` for calls ``matching`` (all by default), ``times`` times."""

    def __init__(self, code: str, times: int = 10**6, matching: Any = None, status: int = 400) -> None:
        self.code, self.times, self.matching, self.status, self.raised = code, times, matching, status, 0

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        # before-parameter-build hooks see the API parameters; before-call hooks the wire request.
        if self.raised < self.times and (self.matching is None or self.matching(params)):
            self.raised += 1
            error = {"Code": self.code, "Message": "injected"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": self.status}}, model.name)


def _hooked(client: Any, event: str, hook: Fail) -> Any:
    client.meta.events.register(event, hook)
    return lambda: client.meta.events.unregister(event, hook)


def _reading() -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 131,
        "unit": "mg/dL",
        "measured_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }


def test_dynamodb_throttling_on_ingest_is_a_503_with_retry_after_and_nothing_half_written(
    api: Api, clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap

    pid = f"p-f-{uuid.uuid4().hex[:6]}"
    assert api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"]).status_code == 201
    me = ("patient", pid)
    sent = _reading()
    client = bootstrap.container().client("dynamodb")
    throttle = Fail("ProvisionedThroughputExceededException")
    undo = _hooked(client, "before-call.dynamodb.PutItem", throttle)
    try:
        response = api.call("POST", f"/patients/{pid}/readings", sent, as_=me)
    finally:
        undo()
    assert throttle.raised >= 1
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert "131" not in response.body.decode()  # no PHI in the error

    history = body(api.call("GET", f"/patients/{pid}/readings?type=blood_glucose", as_=me))["items"]
    assert sent["reading_id"] not in {r["reading_id"] for r in history}  # nothing half-written
    retried = api.call("POST", f"/patients/{pid}/readings", sent, as_=me)
    assert retried.status_code == 201  # the client's retry stores it, once
    again = api.call("POST", f"/patients/{pid}/readings", sent, as_=me)
    assert again.status_code == 200


def test_throttled_batch_transaction_is_a_503_and_stores_nothing(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    pid = f"p-f-{uuid.uuid4().hex[:6]}"
    assert api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"]).status_code == 201
    me = ("patient", pid)
    readings = [_reading(), _reading()]
    undo = _hooked(
        bootstrap.container().client("dynamodb"),
        "before-call.dynamodb.TransactWriteItems",
        Fail("ThrottlingException"),
    )
    try:
        response = api.call("POST", f"/patients/{pid}/readings/batch", {"readings": readings}, as_=me)
    finally:
        undo()
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert body(api.call("GET", f"/patients/{pid}/readings", as_=me))["items"] == []
    stored = body(api.call("POST", f"/patients/{pid}/readings/batch", {"readings": readings}, as_=me))
    assert [r["status"] for r in stored["results"]] == [201, 201]


def test_a_poison_stream_record_fails_alone_and_the_rest_are_processed(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = f"p-f-{uuid.uuid4().hex[:6]}"
    assert api.call("POST", "/patients", patient_body(pid, care_team=["c-1"]), as_=clinic["c1"]).status_code == 201
    good = _capture_stream_records(api, c, pid, [120, 125])
    assert len(good) == 2
    poison = {
        **good[0],
        "eventID": "poison",
        "dynamodb": {
            **good[0]["dynamodb"],
            "SequenceNumber": "999999999999",
            # A reading image without its classification: the handler cannot process it.
            "NewImage": {k: v for k, v in good[0]["dynamodb"]["NewImage"].items() if k != "classification"},
        },
    }
    result = c.changes.handle_batch({"Records": [good[0], poison, good[1]]})
    assert result["batchItemFailures"] == [{"itemIdentifier": "999999999999"}]
    timeline = body(api.call("GET", f"/patients/{pid}/timeline?kinds=reading", as_=clinic["c1"]))["items"]
    assert len(timeline) == 2  # both good records were processed around the poison one


def test_a_crash_between_sent_and_recorded_never_sends_twice(patient_for_faults: dict[str, str]) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    pid, phone = patient_for_faults["pid"], patient_for_faults["phone"]
    intent = _intent(pid)
    event = _sqs_event(intent)

    # The SMS goes out, then recording "sent" fails (the process dies before it can settle the claim):
    # the settle is the Update of the DELIVERY item in the transaction that records the send.
    def settles(params: dict[str, Any]) -> bool:
        return any(op.get("Update", {}).get("Key", {}).get("sk") == {"S": "DELIVERY"} for op in params["TransactItems"])

    crash = Fail("InternalServerError", times=1, status=500, matching=settles)
    undo = _hooked(c.client("dynamodb"), "before-parameter-build.dynamodb.TransactWriteItems", crash)
    try:
        first = deliver_batch(c.messaging, event)
    finally:
        undo()
    assert crash.raised == 1 and first["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    assert len(_sms_to(phone)) == 1

    second = deliver_batch(c.messaging, event)  # SQS redelivers at once: the claim is still leased
    assert second["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    # ... and after the lease: the outcome is unknown, so a routine message is not sent again.
    intent_id = json.loads(intent)["intent_id"]
    c.client("dynamodb").update_item(
        TableName=c.settings.table_name,
        Key={"pk": {"S": f"MSG#{intent_id}"}, "sk": {"S": "DELIVERY"}},
        UpdateExpression="SET lease_until = :past",
        ExpressionAttributeValues={":past": {"S": "2000-01-01T00:00:00.000Z"}},
    )
    third = deliver_batch(c.messaging, event)
    assert third["batchItemFailures"] == []
    assert len(_sms_to(phone)) == 1


class Cancel:
    """A before-parameter-build hook cancelling the first ``times`` claim transactions with ``reasons``."""

    def __init__(self, reasons: list[str], times: int = 1) -> None:
        self.reasons, self.times, self.raised = reasons, times, 0

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        claims = any(op.get("Put", {}).get("Item", {}).get("sk") == {"S": "DELIVERY"} for op in params["TransactItems"])
        if claims and self.raised < self.times:
            self.raised += 1
            response = {
                "Error": {"Code": "TransactionCanceledException", "Message": "injected"},
                "CancellationReasons": [{"Code": code} for code in self.reasons],
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(response, model.name)  # type: ignore[arg-type]


def test_a_claim_that_meets_another_patients_transaction_is_tried_again_and_sent_once(
    patient_for_faults: dict[str, str],
) -> None:
    """Two messages to one patient at the same moment: DynamoDB cancels one claim for a conflict on the day."""
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    conflict = Cancel(["None", "TransactionConflict"], times=2)
    undo = _hooked(c.client("dynamodb"), "before-parameter-build.dynamodb.TransactWriteItems", conflict)
    try:
        result = deliver_batch(c.messaging, _sqs_event(_intent(patient_for_faults["pid"])))
    finally:
        undo()
    assert conflict.raised == 2 and result["batchItemFailures"] == []
    assert len(_sms_to(patient_for_faults["phone"])) == 1


def test_a_claim_whose_slot_write_fails_is_left_for_the_queue_and_sent_once(patient_for_faults: dict[str, str]) -> None:
    """The claim lands but the day's slot cannot be written: the claim must not be left to lapse as 'uncertain'."""
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    event = _sqs_event(_intent(patient_for_faults["pid"]))
    refused = Cancel(["None", "ConditionalCheckFailed"])  # the transaction refused: claim and slot apart
    slot_fails = Fail("InternalServerError", times=1, status=500, matching=lambda p: "SENDS#" in p["Key"]["sk"]["S"])
    client = c.client("dynamodb")
    undo_cancel = _hooked(client, "before-parameter-build.dynamodb.TransactWriteItems", refused)
    undo_slot = _hooked(client, "before-parameter-build.dynamodb.UpdateItem", slot_fails)
    try:
        first = deliver_batch(c.messaging, event)
    finally:
        undo_slot()
        undo_cancel()
    assert refused.raised == 1 and slot_fails.raised == 1
    assert first["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    assert _sms_to(patient_for_faults["phone"]) == []

    second = deliver_batch(c.messaging, event)  # SQS hands it out again: claimable, sent once
    assert second["batchItemFailures"] == []
    assert len(_sms_to(patient_for_faults["phone"])) == 1


@pytest.mark.parametrize(("code", "status"), [("InternalError", 500), ("ServiceUnavailable", 503)])
def test_a_channel_5xx_is_retried_by_the_queue_and_delivered_once(
    patient_for_faults: dict[str, str], code: str, status: int
) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    event = _sqs_event(_intent(patient_for_faults["pid"]))
    outage = Fail(code, times=2, status=status)
    undo = _hooked(c.client("sns"), "before-call.sns.Publish", outage)
    try:
        attempts = [deliver_batch(c.messaging, event) for _ in range(4)]  # SQS redelivers until it works
    finally:
        undo()
    assert outage.raised == 2
    assert [a["batchItemFailures"] for a in attempts] == [[{"itemIdentifier": "m-0"}]] * 2 + [[], []]
    assert len(_sms_to(patient_for_faults["phone"])) == 1


def _patient(api: Api, clinic: dict[str, Any]) -> dict[str, str]:
    pid = f"p-f-{uuid.uuid4().hex[:8]}"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    sent = patient_body(
        pid,
        phone=phone,
        timezone="UTC",
        language="en",
        channels=["sms"],
        quiet_hours={"start": "00:00", "end": "00:00"},
    )
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    api.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid))
    return {"pid": pid, "phone": phone}


@pytest.fixture
def patient_for_faults(api: Api, clinic: dict[str, Any]) -> dict[str, str]:
    return _patient(api, clinic)
