"""Escalations never wait behind reminders: one tick at an 08:00 burst, on DynamoDB Local + moto server.

Target (safety-net issue): 100,000 patients with one reminder each, all due at
08:00, plus one critical alert whose escalation is due in that same minute.  The
alert is made by the real services: a clinician with a phone, a patient with that
clinician as care team, a critical reading (glucose 45 mg/dL) posted through the
app 15 minutes before 08:00, and the stream handler (``on_reading``, through the
local event runner), which opens the alert, pages (level 0) and puts the alert on
``DUE#URGENT`` due at 08:00.  Then ONE tick as of 08:00
(``container().scheduler.tick``, the real ``SqsWorkQueue`` on moto) while a thread
delivers the ``outbound`` queue with the deliver handler, as the deliver Lambda
would.  Measured from the tick's start:

- the escalation's intent on ``outbound`` (``SendMessageBatch`` returned) and its
  page leaving (``sns.Publish`` to the clinician accepted): target <= 60 s;
- every reminder on ``due-work`` (the ``SendMessageBatch`` that completes the
  count): target <= 60 s;
- the tick's AWS calls (the delivering thread's counted apart).

The whole scenario runs on a clock fixed at 07:45 and then 08:00 of the next day
(a ``Container`` with that clock), so "due in that same minute" is exact.
"""

from __future__ import annotations

import json
import os
import resource
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.harness import api_event, emulators, load_app, table, write_result
from bench.page import PhasedCalls, Publishes

REMINDERS = 100_000
TARGET_SECONDS = 60.0
CLINICIAN, CLINICIAN_PHONE, PATIENT = "c-esc", "+15552009999", "p-esc"


def _seed(c: Any, due_at: datetime, count: int) -> None:
    """``count`` patients with one reminder each due at ``due_at`` (BatchWriteItem from 8 threads, as bench/tick.py)."""
    from chalicelib.adapters.due_index import due_shard
    from chalicelib.adapters.dynamo import serialize
    from chalicelib.adapters.stores import patient_pk
    from chalicelib.domain.timeutil import iso

    client = c.client("dynamodb")

    def item(n: int) -> dict[str, Any]:
        pid, rid = f"p-{n:06d}", "r0"
        return {
            "pk": patient_pk(pid),
            "sk": f"REMINDER#{rid}",
            "entity": "reminder",
            "patient_id": pid,
            "reminder_id": rid,
            "kind": "medication",
            "times": [due_at.strftime("%H:%M")],
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "timezone": "UTC",
            "active": True,
            "unanswered": 0,
            "next_due_at": iso(due_at),
            "due_at": iso(due_at),
            "due_shard": due_shard(f"reminder:{pid}:{rid}"),
            "created_at": iso(due_at - timedelta(days=1)),
            "updated_at": iso(due_at - timedelta(days=1)),
        }

    def write(start: int) -> None:
        requests = [{"PutRequest": {"Item": serialize(item(n))}} for n in range(start, min(start + 25, count))]
        pending = {c.settings.table_name: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(0, count, 25)))


class _Clock:
    """The stage's clock for this scenario: set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _critical_alert(app: Any, c: Any, at: datetime) -> str:
    """Clinician with a phone, patient with a care team, a critical reading at ``at``; the stream opens the alert."""
    from chalicelib.services.alerts import alert_id_for
    from devstack.identity import CognitoLocalIssuer
    from devstack.runner import LocalEventRunner

    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    admin = issuer.token("admin", "a-bench")
    # New York: the clinician's own 08:00 digest is not due in the UTC 08:00 minute the tick reads.
    body = {"given_name": "Esc", "phone": CLINICIAN_PHONE, "channels": ["sms"], "timezone": "America/New_York"}
    params = {"clinician_id": CLINICIAN}
    response = app(
        api_event("PUT", f"/clinicians/{CLINICIAN}", "/clinicians/{clinician_id}", params, admin, body), None
    )
    assert response["statusCode"] in (200, 201), response
    patient = {
        "patient_id": PATIENT,
        "given_name": "E",
        "family_name": "B",
        "timezone": "UTC",
        "phone": "+15553009999",
        "channels": ["sms"],
        "care_team": [CLINICIAN],
    }
    response = app(api_event("POST", "/patients", "/patients", {}, admin, patient), None)
    assert response["statusCode"] == 201, response
    reading = {
        "reading_id": "r-esc-1",
        "type": "blood_glucose",
        "value": 45,
        "unit": "mg/dL",
        "measured_at": at.isoformat(),
    }
    token = issuer.token("patient", PATIENT)
    params = {"patient_id": PATIENT}
    event = api_event(
        "POST", f"/patients/{PATIENT}/readings", "/patients/{patient_id}/readings", params, token, reading
    )
    response = app(event, None)
    assert response["statusCode"] == 201, response
    runner = LocalEventRunner(
        app,
        c.client("dynamodb"),
        c.client("dynamodbstreams"),
        c.client("sqs"),
        c.settings.table_name,
        region=c.settings.region,
        tick_queues=(c.settings.due_work_queue,),
    )
    runner.drain(max_rounds=1000)  # on_reading opens the alert and pages level 0; both messages delivered
    return alert_id_for(PATIENT, f"critical_low:{reading['reading_id']}")


def _deliverer(c: Any, calls: PhasedCalls, stop: threading.Event) -> threading.Thread:
    """The deliver Lambda: takes the outbound queue's messages as they arrive and runs the deliver handler."""
    from chalicelib.jobs.outbound import deliver_batch
    from devstack.runner import sqs_record

    sqs = c.client("sqs")
    url = sqs.get_queue_url(QueueName=c.settings.outbound_queue)["QueueUrl"]

    def loop() -> None:
        with calls.phase("deliver"):
            while not stop.is_set():
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
                    "Messages", []
                )
                if not messages:
                    time.sleep(0.05)
                    continue
                event = {"Records": [sqs_record(m, url, c.settings.region) for m in messages]}
                failed = {f["itemIdentifier"] for f in deliver_batch(c.messaging, event)["batchItemFailures"]}
                for message in messages:
                    if message["MessageId"] not in failed:
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    thread = threading.Thread(target=loop, name="bench-deliverer", daemon=True)
    thread.start()
    return thread


def _consumers(c: Any, calls: PhasedCalls, stop: threading.Event, due_url: str) -> threading.Thread:
    """Stands in for the due-work consumers, which take messages off as they arrive: empties the queue every 0.2 s.

    Without it the figure would be moto's, not ours: moto 5.2.5 computes a queue's
    attributes (counting every message in it) on each SendMessage, so each send costs
    O(queue depth) and 10,000 messages cost O(n^2) -- 0.37 s per SendMessageBatch at
    a depth of 1,000 messages, measured.  SQS has no such cost.  The items sent are
    counted from the successful SendMessageBatch entries, not from the queue.
    """
    sqs = c.client("sqs")

    def loop() -> None:
        with calls.phase("consumer stand-in"):
            while not stop.wait(0.2):
                sqs.purge_queue(QueueUrl=due_url)

    thread = threading.Thread(target=loop, name="bench-consumers", daemon=True)
    thread.start()
    return thread


def run() -> dict[str, Any]:
    # The consumer stand-in empties due-work every 0.2 s; moto allows one PurgeQueue a minute unless told otherwise
    # (its server is started by the stack below with this process's environment).
    relax = "MOTO_SQS_ENFORCE_STRICT_QUEUE_PURGE_BEHAVIOUR"
    before = os.environ.get(relax)
    os.environ[relax] = "false"
    try:
        return _run()
    finally:
        if before is None:
            os.environ.pop(relax, None)
        else:
            os.environ[relax] = before


def _cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process (``None``) or of an emulator's process, from /proc."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap
        from chalicelib.domain.timeutil import iso
        from chalicelib.resources import URGENT_DUE_SHARD
        from chalicelib.settings import Settings

        minute = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        clock = _Clock(minute - timedelta(minutes=15))
        bootstrap.use(bootstrap.Container(Settings.from_env(), clock))
        c = bootstrap.container()

        alert_id = _critical_alert(app, c, clock.now)
        urgent = c.scheduler.due(URGENT_DUE_SHARD, minute)
        assert [i["alert_id"] for i in urgent] == [alert_id], urgent
        assert urgent[0]["due_at"] == iso(minute), urgent[0]["due_at"]

        started = time.perf_counter()
        _seed(c, minute, REMINDERS)
        seed_seconds = time.perf_counter() - started

        # -- instruments -------------------------------------------------------------------
        clock.now = minute
        for service in ("dynamodb", "dynamodbstreams", "sqs", "sns", "sesv2"):
            c.client(service)
        sqs = c.client("sqs")
        due_url = sqs.get_queue_url(QueueName=c.settings.due_work_queue)["QueueUrl"]
        outbound_url = sqs.get_queue_url(QueueName=c.settings.outbound_queue)["QueueUrl"]
        calls = PhasedCalls(default="tick")
        for client in dict(c.__dict__["_clients"]).values():
            calls.attach(client)
        publishes = Publishes(c.client("sns"))
        lock = threading.Lock()
        sent = {"items": 0, "messages": 0}
        marks: dict[str, float] = {}
        escalation_intent = f"page:{alert_id}:1:"

        def look(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            entries = {e["Id"]: json.loads(e["MessageBody"]) for e in params.get("Entries", [])}
            if params.get("QueueUrl") == due_url:
                context["bench_due_items"] = {i: len(body.get("items", [])) for i, body in entries.items()}
            elif params.get("QueueUrl") == outbound_url:
                ids = [str(body.get("intent_id", "")) for body in entries.values()]
                context["bench_escalation"] = any(i.startswith(escalation_intent) for i in ids)

        def sent_batch(parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            now = time.perf_counter()
            ok = [e["Id"] for e in parsed.get("Successful", [])]
            with lock:
                if "bench_due_items" in context:
                    sent["items"] += sum(context["bench_due_items"][i] for i in ok)
                    sent["messages"] += len(ok)
                    marks.setdefault("first_due_work", now)
                    if sent["items"] >= REMINDERS:
                        marks.setdefault("all_due_work", now)
                if context.get("bench_escalation") and ok:
                    marks.setdefault("escalation_intent", now)

        sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", look)
        sqs.meta.events.register("after-call.sqs.SendMessageBatch", sent_batch)
        mark = len(publishes.sent)
        stop = threading.Event()
        with calls.phase("deliver"):
            deliverer = _deliverer(c, calls, stop)
        consumers = _consumers(c, calls, stop, due_url)

        # -- the tick ----------------------------------------------------------------------
        # Who used the machine's 2 cores while the tick ran: this process, DynamoDB Local, moto.
        pids = {"this process (tick + deliverer)": None, "DynamoDB Local": stack.processes[0].pid}
        pids["moto server"] = stack.processes[1].pid
        cpu_before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        found = c.scheduler.tick(minute)
        tick_seconds = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        cpu = {name: round(_cpu_seconds(pid) - cpu_before[name], 1) for name, pid in pids.items()}
        page_at = publishes.first(CLINICIAN_PHONE, alert_id, mark)
        deadline = time.perf_counter() + TARGET_SECONDS
        while page_at is None and time.perf_counter() < deadline:
            time.sleep(0.05)
            page_at = publishes.first(CLINICIAN_PHONE, alert_id, mark)
        stop.set()
        deliverer.join(timeout=30)
        consumers.join(timeout=30)
        with calls.phase("bench"):  # checks, not the tick's work
            alert = c.alerts._alerts.get(PATIENT, alert_id) or {}

    def since(t: float | None) -> float | None:
        return None if t is None else round(t - started, 3)

    page_seconds = since(page_at)
    all_enqueued = since(marks.get("all_due_work"))
    tick_calls = calls.by_phase().get("tick", {})
    deliver_calls = calls.by_phase().get("deliver", {})
    result: dict[str, Any] = {
        "scenario": "escalation",
        "reminders": REMINDERS,
        "seed_seconds": round(seed_seconds, 1),
        "due_found": found,
        "tick_seconds": round(tick_seconds, 2),
        "escalation_intent_on_outbound_s": since(marks.get("escalation_intent")),
        "escalation_page_published_s": page_seconds,
        "alert_escalation_level": int(alert.get("escalation_level", 0)),
        "first_due_work_message_s": since(marks.get("first_due_work")),
        "all_reminders_enqueued_s": all_enqueued,
        "due_work_items_sent": sent["items"],
        "due_work_messages_sent": sent["messages"],
        "tick_calls": tick_calls,
        "tick_calls_total": sum(tick_calls.values()),
        "cpu_seconds_during_tick": cpu,
        # The machine's 1-minute load average before and after the tick (2 cores; other work inflates times).
        "load_average": [round(load_before, 1), round(load_after, 1)],
        # Seconds spent inside each kind of call, summed over the tick's threads (they overlap).
        "tick_call_seconds": calls.seconds_by_phase().get("tick", {}),
        "deliverer_calls": deliver_calls,
    }
    page_ok = page_seconds is not None and page_seconds <= TARGET_SECONDS
    enqueue_ok = all_enqueued is not None and all_enqueued <= TARGET_SECONDS
    result["checks"] = {
        f"{REMINDERS + 1:,} due found ({found:,})": "PASS" if found == REMINDERS + 1 else "FAIL",
        f"escalation page published <= {TARGET_SECONDS:.0f} s after the tick starts ({page_seconds} s)": "PASS"
        if page_ok
        else "FAIL",
        f"all {REMINDERS:,} reminders on due-work <= {TARGET_SECONDS:.0f} s ({all_enqueued} s)": "PASS"
        if enqueue_ok
        else "FAIL",
        "no Scan": "PASS" if "dynamodb:Scan" not in tick_calls else "FAIL",
    }
    write_result("escalation", result)
    table(
        f"escalation vs an 08:00 burst ({REMINDERS:,} reminders + 1 escalation due, one tick, DynamoDB Local + moto)",
        [
            (f"seeding {REMINDERS:,} reminders", f"{result['seed_seconds']} s"),
            ("tick wall time", f"{result['tick_seconds']} s ({found:,} due)"),
            ("escalation intent on outbound", f"{result['escalation_intent_on_outbound_s']} s after the tick starts"),
            ("escalation page (SMS) published", f"{page_seconds} s after the tick starts"),
            ("first due-work message", f"{result['first_due_work_message_s']} s"),
            (f"all {REMINDERS:,} reminders on due-work", f"{all_enqueued} s ({sent['messages']:,} messages)"),
            ("tick AWS calls", json.dumps(tick_calls)),
            ("  seconds inside them, summed over threads", json.dumps(result["tick_call_seconds"])),
            ("deliverer AWS calls (whole tick)", json.dumps(deliver_calls)),
            ("CPU seconds during the tick", json.dumps(cpu)),
            ("machine load average before / after (2 cores)", f"{load_before:.1f} / {load_after:.1f}"),
            *result["checks"].items(),
        ],
    )
    return result


if __name__ == "__main__":
    run()
