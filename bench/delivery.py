"""Delivery events on DynamoDB Local: events handled per second and AWS requests per event (issue 19).

Messages go out through the real messaging engine (SES and SNS on moto server, receipts on DynamoDB
Local); then the providers' documented events for them are fed to the app's own handlers, as the
delivery-events topic and the SMS delivery log subscription would: a delivery for every email, then
a permanent bounce for one in ten (which marks the address and re-sends on SMS), a complaint for one
in twenty, every event a second time (duplicates change nothing), and a batch of SNS SMS delivery
log records for the texts.  Single-threaded, as one Lambda invocation handles its batch.
"""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from bench.harness import AwsCalls, api_event, bench_clinic, emulators, load_app, summary, table, write_result

PATIENTS = 300
LOG_BATCH = 50


def _outbox(moto_url: str) -> list[dict[str, Any]]:
    from devstack.local_routes import outbox_entries

    with urllib.request.urlopen(f"{moto_url}/moto-api/data.json", timeout=30) as response:  # nosec B310
        return outbox_entries(json.loads(response.read()), None)


def _timed_each(handle: Any, items: list[Any]) -> tuple[list[float], list[str]]:
    samples, results = [], []
    for item in items:
        started = time.perf_counter()
        results += handle(item)
        samples.append(time.perf_counter() - started)
    return samples, results


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap
        from chalicelib.domain.messages import Intent, Recipient
        from chalicelib.jobs.delivery import handle_log_event, handle_notification, log_event
        from devstack import delivery_events as make

        c = bootstrap.container()
        issuer, _, doc = bench_clinic(app)
        now = datetime.now(UTC)
        for n in range(PATIENTS):
            pid = f"p-dl-{n}"
            body = {
                "patient_id": pid,
                "given_name": "B",
                "family_name": "B",
                "timezone": "UTC",
                "phone": f"+1555{n:07d}",
                "email": f"{pid}@example.org",
                # Half prefer email (SMS next), half SMS (email next).
                "channels": ["email", "sms"] if n % 2 == 0 else ["sms", "email"],
                # Quiet hours on, but not now: the sends below go out at once.
                "quiet_hours": {"start": f"{(now.hour + 2) % 24:02d}:00", "end": f"{(now.hour + 3) % 24:02d}:00"},
            }
            assert app(api_event("POST", "/patients", "/patients", {}, doc, body), None)["statusCode"] == 201
            token = issuer.token("patient", pid)
            for channel in ("email", "sms"):
                params = {"patient_id": pid, "channel": channel}
                path = f"/patients/{pid}/consents/{channel}"
                app(
                    api_event(
                        "PUT", path, "/patients/{patient_id}/consents/{channel}", params, token, {"granted": True}
                    ),
                    None,
                )
        for n in range(PATIENTS):
            pid = f"p-dl-{n}"
            intent = Intent(
                intent_id=f"bench-{n}",
                recipient=Recipient(kind="patient", id=pid),
                template="reminder_measure",
                created_at=now,
                patient_id=pid,
            )
            assert c.messaging.deliver(intent) == "sent"
        sent = _outbox(stack.moto_url)
        emails = [e for e in sent if e["channel"] == "email"]
        texts = [e for e in sent if e["channel"] == "sms"]
        at = now.isoformat().replace("+00:00", "Z")

        delivered = [json.dumps(make.ses_event(e["message_id"], e["to"], "delivered", at)) for e in emails]
        bounced = [json.dumps(make.ses_event(e["message_id"], e["to"], "bounce", at)) for e in emails[::10]]
        complained = [json.dumps(make.ses_event(e["message_id"], e["to"], "complaint", at)) for e in emails[5::20]]
        records = [make.sms_log_record(e["message_id"], e["to"], "delivered", at) for e in texts]
        log_batches = [
            log_event(records[i : i + LOG_BATCH], "sns/bench/DirectPublishToPhoneNumber")
            for i in range(0, len(records), LOG_BATCH)
        ]

        calls = AwsCalls()
        for service in ("dynamodb", "sqs", "sesv2", "sns"):
            calls.attach(c.client(service))
        measured: dict[str, Any] = {}

        def phase(name: str, handle: Any, items: list[Any], events: int) -> None:
            calls.reset()
            samples, results = _timed_each(handle, items)
            total = sum(samples)
            measured[name] = {
                "events": events,
                "per_second": round(events / total, 1),
                "per_event": summary(samples) if len(items) == events else None,
                "aws_requests_per_event": {k: round(v / events, 2) for k, v in sorted(calls.calls.items())},
                "results": {r: results.count(r) for r in sorted(set(results))},
            }

        notification = lambda message: handle_notification(c.delivery, message)  # noqa: E731
        phase("email delivered", notification, delivered, len(delivered))
        phase("email bounced (mark + re-send by SMS)", notification, bounced, len(bounced))
        phase("email complained (mark)", notification, complained, len(complained))
        phase(
            "duplicates of all of the above",
            notification,
            delivered + bounced + complained,
            len(delivered) + len(bounced) + len(complained),
        )
        phase("SMS delivery logs, 50 a batch", lambda b: handle_log_event(c.delivery, b), log_batches, len(records))

    result: dict[str, Any] = {"scenario": "delivery", "patients": PATIENTS, "measured": measured}
    write_result("delivery", result)
    rows: list[tuple[str, Any]] = []
    for name, m in measured.items():
        median = f", median {m['per_event']['median_ms']} ms" if m["per_event"] else ""
        rows.append((f"{name}: {m['events']} events", f"{m['per_second']} /s{median}"))
        rows.append((f"{name}: AWS requests per event", m["aws_requests_per_event"]))
        rows.append((f"{name}: results", m["results"]))
    table("delivery events (DynamoDB Local, one thread)", rows)
    return result
