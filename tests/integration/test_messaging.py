"""The messaging engine and alert pipeline against moto: retries, fallback, poison, redelivery, races.

Failures are injected with botocore event hooks on the real clients, never by
patching our own modules.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.conftest import Api, body, patient_body


def _sms_to(phone: str) -> list[str]:
    from chalicelib import bootstrap

    sms = []
    for item in _moto_data()["sns"].get("SMS", []):
        if item["phone_number"] == phone:
            sms.append(item["message"])
    assert bootstrap  # keep import for side effects of the container
    return sms


def _moto_data() -> dict[str, Any]:
    import os
    import urllib.request

    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json") as response:
        return dict(json.loads(response.read()))


def _sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{index}",
                "receiptHandle": f"r-{index}",
                "body": text,
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:outbound",
                "awsRegion": "us-east-1",
            }
            for index, text in enumerate(bodies)
        ]
    }


def _intent(pid: str, template: str = "clinician_message_patient", priority: str = "routine") -> str:
    from chalicelib.domain.messages import Intent, Recipient

    return Intent(
        intent_id=f"test:{uuid.uuid4()}",
        recipient=Recipient(kind="patient", id=pid),
        template=template,
        priority=priority,  # type: ignore[arg-type]
        created_at=datetime.now(UTC),
        patient_id=pid,
    ).model_dump_json()


@pytest.fixture
def patient(api: Api, clinic: dict[str, Any]) -> dict[str, str]:
    pid = f"p-m-{uuid.uuid4().hex[:8]}"
    phone = "+1555" + str(uuid.uuid4().int)[:7]
    sent = patient_body(
        pid,
        phone=phone,
        email=f"{pid}@example.org",
        timezone="UTC",
        language="en",
        channels=["email", "sms"],
        quiet_hours={"start": "00:00", "end": "00:00"},
    )
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    for channel in ("sms", "email"):
        api.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
    return {"pid": pid, "phone": phone, "email": f"{pid}@example.org"}


class _FailFirst:
    """A botocore before-call hook that fails the first ``times`` calls with ``code``."""

    def __init__(self, code: str, times: int, status: int = 400) -> None:
        self.code, self.times, self.status, self.calls = code, times, status, 0

    def __call__(self, **_: Any) -> None:
        self.calls += 1
        if self.calls <= self.times:
            raise ClientError(
                {
                    "Error": {"Code": self.code, "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": self.status},
                },
                "Publish",
            )


def test_sns_throttling_is_retried_by_the_queue_and_delivered_once(patient: dict[str, str]) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    c.patient_store.put_consent(
        patient["pid"],
        {"channel": "email", "granted": False, "updated_at": "2026-11-22T00:00:00.000Z", "updated_by": "t"},
    )
    throttle = _FailFirst("Throttling", times=1, status=400)
    c.client("sns").meta.events.register("before-call.sns.Publish", throttle)
    event = _sqs_event(_intent(patient["pid"]))
    try:
        first = deliver_batch(c.messaging, event)
        second = deliver_batch(c.messaging, event)
        third = deliver_batch(c.messaging, event)  # a late SQS redelivery
    finally:
        c.client("sns").meta.events.unregister("before-call.sns.Publish", throttle)

    assert first["batchItemFailures"] == [{"itemIdentifier": "m-0"}]
    assert second["batchItemFailures"] == [] and third["batchItemFailures"] == []
    assert len(_sms_to(patient["phone"])) == 1


def test_ses_permanent_failure_falls_back_to_the_next_channel(
    api: Api, patient: dict[str, str], clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    reject = _FailFirst("MessageRejected", times=99)
    c.client("sesv2").meta.events.register("before-call.sesv2.SendEmail", reject)
    try:
        result = deliver_batch(c.messaging, _sqs_event(_intent(patient["pid"])))
    finally:
        c.client("sesv2").meta.events.unregister("before-call.sesv2.SendEmail", reject)

    assert result["batchItemFailures"] == []
    assert len(_sms_to(patient["phone"])) == 1
    events = c.messaging_store.table.query(
        "pk = :p AND begins_with(sk, :e)", {":p": f"PATIENT#{patient['pid']}", ":e": "EVENT#"}
    ).items
    assert {(e["kind"], e["channel"]) for e in events} >= {("delivery_failed", "email"), ("message_out", "sms")}


def test_when_no_channel_reaches_a_patient_a_human_gets_a_call_task_and_an_alert(
    api: Api, patient: dict[str, str], clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    hooks = [
        ("sesv2", "before-call.sesv2.SendEmail", _FailFirst("MessageRejected", 99)),
        ("sns", "before-call.sns.Publish", _FailFirst("InvalidParameter", 99)),
    ]
    for service, name, hook in hooks:
        c.client(service).meta.events.register(name, hook)
    try:
        deliver_batch(c.messaging, _sqs_event(_intent(patient["pid"])))
    finally:
        for service, name, hook in hooks:
            c.client(service).meta.events.unregister(name, hook)

    tasks = c.messaging_store.table.query(
        "pk = :p AND begins_with(sk, :t)", {":p": f"PATIENT#{patient['pid']}", ":t": "TASK#"}
    ).items
    assert [t["kind"] for t in tasks] == ["call_patient"]
    alerts = body(api.call("GET", f"/alerts?patient_id={patient['pid']}", as_=clinic["c1"]))["items"]
    assert [a["kind"] for a in alerts] == ["unreachable_patient"]
    assert c.patient_store.get(patient["pid"])["open_tasks"] == 1


def test_a_poison_message_fails_alone_and_ends_in_the_dead_letter_queue(patient: dict[str, str]) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.outbound import deliver_batch

    c = bootstrap.container()
    sqs = c.client("sqs")
    dlq = sqs.create_queue(QueueName=f"poison-dlq-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue = sqs.create_queue(
        QueueName=f"poison-{uuid.uuid4().hex[:6]}",
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{not an intent")
    sqs.send_message(QueueUrl=queue, MessageBody=_intent(patient["pid"]))

    for _ in range(4):  # what Lambda's event source mapping does: receive, invoke, delete the successes
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            continue
        event = {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:x",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }
        failed = {f["itemIdentifier"] for f in deliver_batch(c.messaging, event)["batchItemFailures"]}
        for m in messages:
            if m["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not an intent"]
    assert (
        len(_sms_to(patient["phone"]))
        + len([1 for m in _moto_data()["ses"]["Message"] if patient["email"] in m["destinations"]["ToAddresses"]])
        == 1
    )


def test_redelivered_and_concurrent_stream_batches_open_one_alert_and_page_once(
    api: Api, stream_runner: Any, clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = f"p-race-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid, care_team=["c-2"]), as_=clinic["c1"])
    sqs = c.client("sqs")
    outbound = sqs.get_queue_url(QueueName="outbound")["QueueUrl"]
    stream_runner.drain()
    sqs.purge_queue(QueueUrl=outbound)
    records = _capture_stream_records(api, c, pid, [45, 48, 50])

    batch = {"Records": records}
    c.changes.handle_batch(batch)
    c.changes.handle_batch(batch)  # redelivery
    threads = [threading.Thread(target=c.changes.handle_batch, args=(batch,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    # The critical alert took all three readings; the second low also completed "recurrent lows" (routine).
    assert [(a["kind"], a["occurrences"]) for a in alerts] == [("critical_low", 3), ("recurrent_lows", 2)]
    queued = []
    while True:
        got = sqs.receive_message(QueueUrl=outbound, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            break
        queued += [json.loads(m["Body"]) for m in got]
    pages = [q for q in queued if q["template"] == "alert_page_clinician"]
    assert sorted(q["recipient"]["id"] for q in pages) == ["c-1", "c-2"]


def _capture_stream_records(api: Api, c: Any, pid: str, values: list[float]) -> list[dict[str, Any]]:
    """Post readings and return their INSERT records as Lambda would see them."""
    streams = c.client("dynamodbstreams")
    arn = c.client("dynamodb").describe_table(TableName=c.settings.table_name)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    iterators = {
        s["ShardId"]: streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        for s in shards
    }
    for index, value in enumerate(values):
        reading = {
            "type": "blood_glucose",
            "value": value,
            "unit": "mg/dL",
            "measured_at": (datetime.now(UTC) - timedelta(minutes=10 * (len(values) - index))).isoformat(),
        }
        assert api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid)).status_code == 201
    records = []
    for iterator in iterators.values():
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            if (
                record["eventName"] == "INSERT"
                and record["dynamodb"]["NewImage"].get("entity", {}).get("S") == "reading"
            ):
                record["dynamodb"].pop("ApproximateCreationDateTime", None)
                records.append(record)
    return records


def test_voice_requests_match_the_end_user_messaging_api() -> None:
    import boto3
    from botocore.stub import Stubber

    from chalicelib.adapters.channels import VoiceChannel
    from chalicelib.domain.messages import Rendered

    client = boto3.client(
        "pinpoint-sms-voice-v2",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="https://sms-voice.us-east-1.amazonaws.com",
    )
    stub = Stubber(client)
    stub.add_response(
        "send_voice_message",
        {"MessageId": "voice-1"},
        {
            "DestinationPhoneNumber": "+15551230001",
            "OriginationIdentity": "+15550009999",
            "MessageBody": "Carewire: please call your care team.",
            "MessageBodyTextType": "TEXT",
            "VoiceId": "JOANNA",
        },
    )
    with stub:
        sent = VoiceChannel(client, "+15550009999").send(
            "+15551230001", Rendered(text="Carewire: please call your care team.")
        )

    assert sent == "voice-1"
    stub.assert_no_pending_responses()


def test_a_message_waiting_for_delivery_is_listed_without_a_channel(
    api: Api, patient: dict[str, str], clinic: dict[str, Any]
) -> None:
    pid = patient["pid"]
    sent = api.call("POST", f"/patients/{pid}/messages", {"text": "Please call the clinic."}, as_=clinic["c1"])
    assert sent.status_code == 202
    listed = api.call("GET", f"/patients/{pid}/messages", as_=("patient", pid))
    assert listed.status_code == 200, listed.body
    (message,) = [m for m in body(listed)["items"] if m["message_id"] == body(sent)["message_id"]]
    assert message["direction"] == "out" and message["channel"] is None
