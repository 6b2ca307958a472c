"""The one SQS send loop: entries SQS reports as failed are sent again, and only those; a lasting failure raises.

Failures are injected with botocore hooks on moto's real SendMessageBatch
answers (``after-call`` rewrites the parsed response as SQS would report a
partial failure), so the loop under test is the one every producer uses.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from chalicelib.adapters.queues import SqsQueue


@pytest.fixture
def sqs(environment: dict[str, str]) -> Any:
    return boto3.client("sqs", region_name=environment.get("AWS_DEFAULT_REGION", "us-east-1"))


def _queue(sqs: Any) -> tuple[SqsQueue, str]:
    name = f"q-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return SqsQueue(sqs, name), url


class Reported:
    """Reports the entries with these ids as failed, ``times`` times; records every batch sent."""

    def __init__(self, failing: set[str], times: int) -> None:
        self.failing, self.times = failing, times
        self.batches: list[list[str]] = []

    def sent(self, params: dict[str, Any], **_: Any) -> None:
        self.batches.append([e["Id"] for e in params["Entries"]])

    def answered(self, parsed: dict[str, Any], **_: Any) -> None:
        if self.times <= 0:
            return
        self.times -= 1
        ok = [e for e in parsed.get("Successful", []) if e["Id"] not in self.failing]
        bad = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError"} for e in parsed.get("Successful", [])]
        parsed["Successful"] = ok
        parsed["Failed"] = [f for f in bad if f["Id"] in self.failing]


def _hooked(sqs: Any, reported: Reported) -> None:
    sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", reported.sent)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", reported.answered)


def _received(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        bodies += [m["Body"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(batch)]
        )
    return bodies


def test_twelve_messages_go_ten_to_a_call_and_a_reported_failure_is_sent_again_alone(sqs: Any) -> None:
    queue, url = _queue(sqs)
    reported = Reported({"3"}, times=1)
    _hooked(sqs, reported)

    queue.send([{"MessageBody": f"m{n}"} for n in range(12)], "test messages")

    assert reported.batches == [[str(n) for n in range(10)], ["3"], ["0", "1"]]
    assert sorted(set(_received(sqs, url))) == sorted(f"m{n}" for n in range(12))


def test_an_entry_that_keeps_failing_raises_naming_how_many_and_what(sqs: Any) -> None:
    queue, _ = _queue(sqs)
    reported = Reported({"0", "1"}, times=10)
    _hooked(sqs, reported)

    with pytest.raises(RuntimeError, match="2 intents could not be queued"):
        queue.send([{"MessageBody": "a"}, {"MessageBody": "b"}, {"MessageBody": "c"}], "intents")

    assert reported.batches == [["0", "1", "2"], ["0", "1"], ["0", "1"], ["0", "1"]]
