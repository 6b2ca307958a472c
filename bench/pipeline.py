"""The stream handler (alerts) and the deliver handler, on DynamoDB Local + moto server.

Targets:
- alerts issue: stream handler throughput for 1,000 abnormal readings across 100 patients, and
  DynamoDB requests per abnormal reading (target <= 3 on the alert path, plus one queue message
  per recipient);
- messaging issue: messages delivered per second by the deliver handler for 1,000 intents, and
  AWS calls per delivered message.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import AwsCalls, api_event, emulators, load_app, table, write_result

PATIENTS = 100
READINGS = 1000
INTENTS = 1000


def _setup(app: Any, c: Any) -> tuple[Any, list[str]]:
    from devstack.identity import CognitoLocalIssuer

    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    admin, doc = issuer.token("admin", "a-bench"), issuer.token("clinician", "c-bench")
    for cid in ("c-bench", "c-bench-2"):
        app(
            api_event(
                "PUT",
                f"/clinicians/{cid}",
                "/clinicians/{clinician_id}",
                {"clinician_id": cid},
                admin,
                {"given_name": "Bench", "phone": "+15550001000", "channels": ["sms"]},
            ),
            None,
        )
    pids = []
    for n in range(PATIENTS):
        pid = f"p-bench-{n:03d}"
        app(
            api_event(
                "POST",
                "/patients",
                "/patients",
                {},
                doc,
                {
                    "patient_id": pid,
                    "given_name": "B",
                    "family_name": "B",
                    "timezone": "UTC",
                    "phone": f"+1555100{n:04d}",
                    "channels": ["sms"],
                    "care_team": ["c-bench-2"],
                    "quiet_hours": {"start": "00:00", "end": "00:00"},
                },
            ),
            None,
        )
        c.patient_store.put_consent(
            pid,
            {
                "channel": "sms",
                "granted": True,
                "source": "app",
                "updated_at": "2026-11-22T00:00:00.000Z",
                "updated_by": pid,
            },
        )
        pids.append(pid)
    return issuer, pids


def _stream_iterators(c: Any) -> tuple[Any, dict[str, str]]:
    streams = c.client("dynamodbstreams")
    arn = c.client("dynamodb").describe_table(TableName=c.settings.table_name)["Table"]["LatestStreamArn"]
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    return streams, {
        s["ShardId"]: streams.get_shard_iterator(StreamArn=arn, ShardId=s["ShardId"], ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        for s in shards
    }


def _collect(streams: Any, iterators: dict[str, str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for iterator in iterators.values():
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            if not response.get("Records"):
                break
            records += response["Records"]
            iterator = response.get("NextShardIterator")
    return records


def run() -> dict[str, Any]:
    random.seed(7)
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap
        from chalicelib.jobs.outbound import deliver_batch

        c = bootstrap.container()
        issuer, pids = _setup(app, c)
        tokens = {pid: issuer.token("patient", pid) for pid in pids}
        now = datetime.now(UTC)
        streams, iterators = _stream_iterators(c)
        values = [48, 45, 52, 250, 260, 300, 420, 65, 60, 190]  # lows, highs, critical lows and highs
        for i in range(READINGS):
            pid = pids[i % PATIENTS]
            body = {
                "reading_id": str(uuid.uuid4()),
                "type": "blood_glucose",
                "value": random.choice(values),
                "unit": "mg/dL",
                "measured_at": (now - timedelta(minutes=READINGS - i)).isoformat(),
            }
            response = app(
                api_event(
                    "POST",
                    f"/patients/{pid}/readings",
                    "/patients/{patient_id}/readings",
                    {"patient_id": pid},
                    tokens[pid],
                    body,
                ),
                None,
            )
            assert response["statusCode"] == 201, response
        records = [
            r
            for r in _collect(streams, iterators)
            if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["entity"]["S"] == "reading"
        ]
        assert len(records) == READINGS, len(records)

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        calls.attach(c.client("sqs"))
        alert_calls = AwsCalls()
        original = c.alerts.on_reading

        def counted(reading: dict[str, Any], record: Any = None) -> None:
            # Instrumentation only: count the DynamoDB requests made by the alert rules.
            alert_calls.attach(c.client("dynamodb"))
            try:
                original(reading, record)
            finally:
                c.client("dynamodb").meta.events.unregister("before-call.dynamodb", alert_calls._count)

        c.alerts.on_reading = counted
        started = time.perf_counter()
        for start in range(0, len(records), 100):  # Lambda's batch size for the stream
            result = c.changes.handle_batch({"Records": records[start : start + 100]})
            assert result["batchItemFailures"] == [], result
        stream_seconds = time.perf_counter() - started
        stream_calls = dict(calls.calls)
        stream_capacity = {"wcu": round(calls.wcu / READINGS, 2), "rcu": round(calls.rcu / READINGS, 2)}
        ddb_per_reading = sum(v for k, v in stream_calls.items() if k != "SendMessageBatch") / READINGS
        c.alerts.on_reading = original

        # The common case: in-range readings from a device (no alert; daily bucket and device day kept).
        streams, iterators = _stream_iterators(c)
        for i in range(READINGS):
            pid = pids[i % PATIENTS]
            body = {
                "reading_id": str(uuid.uuid4()),
                "type": "blood_glucose",
                "value": 110,
                "unit": "mg/dL",
                "measured_at": (now - timedelta(seconds=READINGS - i)).isoformat(),
                "source": "device",
                "device_id": "meter-1",
            }
            path_params = {"patient_id": pid}
            event = api_event(
                "POST", f"/patients/{pid}/readings", "/patients/{patient_id}/readings", path_params, tokens[pid], body
            )
            assert app(event, None)["statusCode"] == 201
        normal = [
            r
            for r in _collect(streams, iterators)
            if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["entity"]["S"] == "reading"
        ]
        calls.reset()
        for start in range(0, len(normal), 100):
            assert c.changes.handle_batch({"Records": normal[start : start + 100]})["batchItemFailures"] == []
        normal_calls = dict(calls.calls)
        normal_capacity = {"wcu": round(calls.wcu / len(normal), 2), "rcu": round(calls.rcu / len(normal), 2)}

        # Drain what the alerts queued, then time 1,000 fresh routine intents through the deliver handler.
        sqs = c.client("sqs")
        outbound = sqs.get_queue_url(QueueName=c.settings.outbound_queue)["QueueUrl"]
        sqs.purge_queue(QueueUrl=outbound)
        from chalicelib.domain.messages import Intent, Recipient

        intents = [
            Intent(
                intent_id=f"bench:{uuid.uuid4()}",
                recipient=Recipient(kind="patient", id=pids[i % PATIENTS]),
                template="clinician_message_patient",
                created_at=now,
                patient_id=pids[i % PATIENTS],
            )
            for i in range(INTENTS)
        ]
        events = [
            {
                "Records": [
                    {
                        "messageId": f"{start}-{n}",
                        "receiptHandle": "r",
                        "body": intent.model_dump_json(),
                        "attributes": {},
                        "messageAttributes": {},
                        "md5OfBody": "",
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:outbound",
                        "awsRegion": "us-east-1",
                    }
                    for n, intent in enumerate(intents[start : start + 10])
                ]
            }
            for start in range(0, INTENTS, 10)
        ]
        calls.attach(c.client("sns"))
        calls.attach(c.client("sesv2"))
        calls.reset()
        started = time.perf_counter()
        for event in events:
            assert deliver_batch(c.messaging, event)["batchItemFailures"] == []
        deliver_seconds = time.perf_counter() - started
        deliver_calls = dict(calls.calls)
        deliver_capacity = {"wcu": round(calls.wcu / INTENTS, 2), "rcu": round(calls.rcu / INTENTS, 2)}

    alert_path = dict(alert_calls.calls)
    alert_per_reading = sum(alert_path.values()) / READINGS
    result = {
        "scenario": "pipeline",
        "stream_readings_per_second": round(READINGS / stream_seconds, 1),
        "stream_calls": stream_calls,
        "dynamodb_requests_per_abnormal_reading": round(ddb_per_reading, 2),
        "alert_path_requests_per_reading": round(alert_per_reading, 2),
        "alert_path_calls": alert_path,
        "deliver_messages_per_second": round(INTENTS / deliver_seconds, 1),
        "deliver_calls": deliver_calls,
        "aws_calls_per_message": round(sum(deliver_calls.values()) / INTENTS, 2),
        "stream_capacity_per_abnormal_reading": stream_capacity,
        "normal_stream_calls_per_reading": {k: round(v / READINGS, 2) for k, v in normal_calls.items()},
        "stream_capacity_per_normal_reading": normal_capacity,
        "deliver_capacity_per_message": deliver_capacity,
    }
    result["checks"] = {
        "alert rules <= 3 DynamoDB requests per abnormal reading": "PASS" if alert_per_reading <= 3 else "FAIL",
        "all stream records processed without failure": "PASS",
    }
    write_result("pipeline", result)
    table(
        "alerts pipeline and delivery (DynamoDB Local + moto server, handlers in-process)",
        [
            (
                f"stream handler, {READINGS} abnormal readings / {PATIENTS} patients",
                f"{result['stream_readings_per_second']} readings/s",
            ),
            ("stream AWS calls (all readings)", json.dumps(stream_calls)),
            (
                "DynamoDB requests / abnormal reading (all stream work)",
                result["dynamodb_requests_per_abnormal_reading"],
            ),
            ("  of which the alert rules", f"{result['alert_path_requests_per_reading']} {json.dumps(alert_path)}"),
            (f"deliver handler, {INTENTS} intents", f"{result['deliver_messages_per_second']} messages/s"),
            ("deliver AWS calls (all intents)", json.dumps(deliver_calls)),
            ("AWS calls / delivered message", result["aws_calls_per_message"]),
            ("stream WCU/RCU per abnormal reading", json.dumps(stream_capacity)),
            ("stream calls per normal device reading", json.dumps(result["normal_stream_calls_per_reading"])),
            ("stream WCU/RCU per normal device reading", json.dumps(normal_capacity)),
            ("deliver WCU/RCU per message", json.dumps(deliver_capacity)),
            *result["checks"].items(),
        ],
    )
    return result


if __name__ == "__main__":
    run()
