"""The local stage's event sources: what Lambda would provide, against the emulators.

Reads the real DynamoDB stream (DynamoDB Local), the real SQS queues (moto)
and a clock, and calls the very handler functions the Chalice app registered,
with Lambda-shaped events.  ``drain()`` processes until nothing is pending;
``tick(now)`` runs the scheduled jobs as of ``now`` and then drains.  A stream
batch that reports partial failures is retried from the first failure, up to
a limit, like Lambda's event source mapping with bisect-on-error off.

One clock: given the stage's clock, the runner moves it to each tick's ``now``
before the jobs run, and its background loop ticks each minute *of that clock*,
so the scheduled jobs, deliveries and quiet-hours checks agree on "now" after
the clock has travelled.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib.observability import count, log_unexpected, logger

MAX_ATTEMPTS = 3


class LocalEventRunner:
    def __init__(
        self,
        app: Any,
        dynamodb: Any,
        streams: Any,
        sqs: Any,
        table_name: str,
        checkpoint_file: Path | None = None,
        region: str = "us-east-1",
        clock: Callable[[], datetime] | None = None,
        tick_queues: Iterable[str] = (),
    ) -> None:
        from chalice.app import (
            CloudWatchEventConfig,
            DynamoDBEventConfig,
            ScheduledEventConfig,
            SNSEventConfig,
            SQSEventConfig,
        )

        self._dynamodb = dynamodb
        self._streams = streams
        self._sqs = sqs
        self._table = table_name
        self._region = region
        self._checkpoint_file = checkpoint_file
        self._positions: dict[str, str] = self._load_positions()
        self._attempts: dict[str, int] = {}
        # The stage's clock (a devstack.clock.TravelClock in the local stage); None: ticks move no clock.
        self._clock = clock
        # Queues whose messages carry their tick's "now" (due-work): see _retry_within_tick.
        self._tick_queues = set(tick_queues)
        self._message_attempts: dict[str, int] = {}
        self._lock = threading.RLock()
        handlers = app.handler_map
        self.stream_handlers = [handlers[s.name] for s in app.event_sources if isinstance(s, DynamoDBEventConfig)]
        self.queue_handlers = [(s.queue, handlers[s.name]) for s in app.event_sources if isinstance(s, SQSEventConfig)]
        self.topic_handlers = [(s.topic, handlers[s.name]) for s in app.event_sources if isinstance(s, SNSEventConfig)]
        self.scheduled_handlers = [
            handlers[s.name] for s in app.event_sources if isinstance(s, (ScheduledEventConfig, CloudWatchEventConfig))
        ]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- checkpoints ---------------------------------------------------------------

    def _load_positions(self) -> dict[str, str]:
        if self._checkpoint_file and self._checkpoint_file.exists():
            return dict(json.loads(self._checkpoint_file.read_text()))
        return {}

    def _save_positions(self) -> None:
        if self._checkpoint_file:
            self._checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
            self._checkpoint_file.write_text(json.dumps(self._positions))

    # -- public --------------------------------------------------------------------

    def drain(self, max_rounds: int = 100) -> int:
        """Process stream records and queue messages until a round finds none."""
        processed = 0
        with self._lock:
            for _ in range(max_rounds):
                done = self._stream_round() + self._queue_round()
                processed += done
                if done == 0:
                    break
        return processed

    def tick(self, now: datetime) -> int:
        # The event time is UTC ("...Z"), as EventBridge sends it.  ``now`` may carry any
        # offset (a New York tester types -05:00): formatting its wall time with a "Z" ran
        # the jobs hours away from the instant the stage clock was moved to.
        now = now.astimezone(UTC)
        with self._lock:
            # Moved under the lock, so no handler of a drain in progress sees the clock jump mid-way.
            advance = getattr(self._clock, "advance_to", None)
            if advance is not None:
                advance(now)
            event = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "000000000000",
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self._region,
                "resources": [],
                "detail": {},
            }
            for handler in self.scheduled_handlers:
                handler(event, None)
            return self.drain()

    def publish(self, topic: str, message: str) -> int:
        """Deliver an SNS message to the app's subscribers of ``topic`` (as SNS -> Lambda would), then drain."""
        with self._lock:
            event = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "EventSubscriptionArn": f"arn:aws:sns:{self._region}:000000000000:{topic}:local",
                        "Sns": {
                            "Type": "Notification",
                            "MessageId": str(uuid.uuid4()),
                            "TopicArn": f"arn:aws:sns:{self._region}:000000000000:{topic}",
                            "Subject": None,
                            "Message": message,
                            "Timestamp": datetime.now().astimezone().isoformat(),
                            "MessageAttributes": {},
                        },
                    }
                ]
            }
            for name, handler in self.topic_handlers:
                if name == topic:
                    handler(event, None)
            return 1 + self.drain()

    def start(self, poll_seconds: float = 0.5, clock: Callable[[], datetime] | None = None) -> None:
        """Poll in a background thread; run the scheduled jobs once a minute of ``clock`` (default: the stage's)."""
        # The stage's clock, not the wall clock: after /_local/tick travelled, real-time minutes
        # lie in the stage's past, and the stage never reached a due time by itself.
        clock = clock or self._clock

        def loop() -> None:
            last_minute = None
            while not self._stop.wait(poll_seconds):
                try:
                    now = clock() if clock else None
                    minute = now.replace(second=0, microsecond=0) if now else None
                    if minute is not None and minute != last_minute and self.scheduled_handlers:
                        last_minute = minute
                        self.tick(minute)
                    else:
                        self.drain()
                except Exception as error:  # noqa: BLE001 - keep polling; the next round retries
                    log_unexpected(error, "local runner round")

        self._thread = threading.Thread(target=loop, name="carewire-local-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    # -- stream --------------------------------------------------------------------

    def _stream_arn(self) -> str | None:
        table = self._dynamodb.describe_table(TableName=self._table)["Table"]
        arn = table.get("LatestStreamArn")
        return str(arn) if arn else None

    def _stream_round(self) -> int:
        if not self.stream_handlers:
            return 0
        arn = self._stream_arn()
        if not arn:
            return 0
        processed = 0
        description = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            processed += self._read_shard(arn, shard["ShardId"])
        return processed

    def _read_shard(self, arn: str, shard_id: str) -> int:
        key = f"{arn}|{shard_id}"
        after = self._positions.get(key)
        kwargs: dict[str, Any] = {"StreamArn": arn, "ShardId": shard_id}
        if after:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        iterator = self._streams.get_shard_iterator(**kwargs).get("ShardIterator")
        processed = 0
        while iterator:
            response = self._streams.get_records(ShardIterator=iterator, Limit=100)
            records = response.get("Records", [])
            if not records:
                break
            for record in records:
                record.setdefault("eventSourceARN", arn)
                record.setdefault("awsRegion", self._region)
            done = self._deliver_stream_batch(records)
            if done < len(records):
                last_ok = records[done - 1]["dynamodb"]["SequenceNumber"] if done else after
                if last_ok:
                    self._positions[key] = last_ok
                    self._save_positions()
                # Count the failed attempt as work, so drain() retries it (and skips it after MAX_ATTEMPTS).
                return processed + done + 1
            after = records[-1]["dynamodb"]["SequenceNumber"]
            self._positions[key] = after
            self._save_positions()
            processed += len(records)
            iterator = response.get("NextShardIterator")
        return processed

    def _deliver_stream_batch(self, records: list[dict[str, Any]]) -> int:
        """How many leading records succeeded (all of them, or up to the first failure)."""
        failed_ids: set[str] = set()
        for handler in self.stream_handlers:
            result = handler({"Records": records}, None) or {}
            failed_ids |= {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        if not failed_ids:
            return len(records)
        for index, record in enumerate(records):
            if record["dynamodb"]["SequenceNumber"] in failed_ids:
                seq = record["dynamodb"]["SequenceNumber"]
                self._attempts[seq] = self._attempts.get(seq, 0) + 1
                if self._attempts[seq] >= MAX_ATTEMPTS:
                    # Lambda would send it to the on-failure destination; we log and move on.
                    logger().error("stream record failed repeatedly; skipped", extra={"sequence": seq})
                    count("StreamRecordsSkipped")
                    continue
                return index
        return len(records)

    # -- queues --------------------------------------------------------------------

    def _queue_round(self) -> int:
        processed = 0
        for queue_name, handler in self.queue_handlers:
            url = self._sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
            response = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            )
            messages = response.get("Messages", [])
            if not messages:
                continue
            event = {"Records": [sqs_record(m, url, self._region) for m in messages]}
            result = handler(event, None) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            for message in messages:
                if message["MessageId"] not in failed:
                    self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    self._message_attempts.pop(message["MessageId"], None)
                    processed += 1
                elif queue_name in self._tick_queues:
                    processed += self._retry_within_tick(url, message)
        return processed

    def _retry_within_tick(self, url: str, message: dict[str, Any]) -> int:
        """A due-work message that failed: retried now, as of its own tick, or dropped after MAX_ATTEMPTS.

        It carries its tick's "now" and the items as that tick read them.  Left to
        moto, it would come back after the visibility timeout in *real* seconds, by
        which time the stage clock may have travelled days: replayed as of the old
        minute, it fired the occurrence due then (a reminder, an appointment's
        first reminder) and made the current tick's handling of the same items
        lose their conditional writes.  Dropping it loses nothing a replay would
        recover: an item whose handler did not win its conditional write stays on
        the due index, and the next tick (each minute of the stage clock) finds it
        with a fresh now.
        """
        message_id = message["MessageId"]
        attempts = self._message_attempts[message_id] = self._message_attempts.get(message_id, 0) + 1
        if attempts >= MAX_ATTEMPTS:
            del self._message_attempts[message_id]
            logger().error("due work failed repeatedly; dropped (its items stay due)", extra={"message_id": message_id})
            count("DueWorkDropped")
            self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return 0
        self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        return 1  # counted as work, so drain() runs another round and retries it


def sqs_record(message: dict[str, Any], url: str, region: str) -> dict[str, Any]:
    queue_name = url.rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {
            k: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
            for k, v in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:000000000000:{queue_name}",
        "awsRegion": region,
    }
