"""The minute tick at scale, on DynamoDB Local + moto server.

Target (reminders issue): 100,000 patients with 2 reminders each; one tick at a
minute where 10,000 are due: wall time, DynamoDB requests (no Scan; Query pages
grow with the due count), queue messages; an idle tick costs <= 16 Queries; peak
RSS of the tick process <= 200 MB.  Then a sample of the fanned-out work is
handled by the consumer to show the per-reminder cost.
"""

from __future__ import annotations

import resource
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import AwsCalls, emulators, load_app, table, write_result

PATIENTS = 100_000
DUE = 10_000
SAMPLE = 1_000


def _seed(c: Any, due_at: datetime) -> None:
    from chalicelib.adapters.due_index import due_shard
    from chalicelib.adapters.dynamo import serialize
    from chalicelib.adapters.stores import patient_pk
    from chalicelib.domain.timeutil import iso

    client = c.client("dynamodb")
    other = due_at + timedelta(hours=6)

    def item(n: int, slot: int) -> dict[str, Any]:
        pid, rid = f"p-{n:06d}", f"r{slot}"
        due = due_at if (slot == 0 and n < DUE) else other + timedelta(minutes=(n % 600))
        times = [due.strftime("%H:%M")]
        return {
            "pk": patient_pk(pid),
            "sk": f"REMINDER#{rid}",
            "entity": "reminder",
            "patient_id": pid,
            "reminder_id": rid,
            "kind": "medication",
            "times": times,
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "timezone": "UTC",
            "active": True,
            "unanswered": 0,
            "next_due_at": iso(due),
            "due_at": iso(due),
            "due_shard": due_shard(f"reminder:{pid}:{rid}"),
            "created_at": iso(due_at),
            "updated_at": iso(due_at),
        }

    def write(start: int) -> None:
        requests = [
            {"PutRequest": {"Item": serialize(item(n // 2, n % 2))}}
            for n in range(start, min(start + 25, 2 * PATIENTS))
        ]
        pending = {c.settings.table_name: requests}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(0, 2 * PATIENTS, 25)))


def run() -> dict[str, Any]:
    with emulators() as stack:
        load_app(stack)
        from chalicelib import bootstrap

        c = bootstrap.container()
        due_at = (datetime.now(UTC) + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
        started = time.perf_counter()
        _seed(c, due_at)
        seed_seconds = time.perf_counter() - started

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        calls.attach(c.client("sqs"))
        c.scheduler.tick(due_at - timedelta(minutes=1))  # idle: nothing due
        idle = dict(calls.calls)
        calls.reset()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        found = c.scheduler.tick(due_at)
        tick_seconds = time.perf_counter() - started
        busy = dict(calls.calls)
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        # Handle a sample of the fanned-out work, as the due-work consumer does.
        sqs = c.client("sqs")
        url = sqs.get_queue_url(QueueName=c.settings.due_work_queue)["QueueUrl"]
        import json

        work: list[dict[str, Any]] = []
        while len(work) < SAMPLE:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            for message in got:
                work += json.loads(message["Body"])["items"]
        calls.reset()
        started = time.perf_counter()
        handled = c.scheduler.run(work[:SAMPLE], due_at)
        run_seconds = time.perf_counter() - started
        per_item = {k: round(v / max(handled, 1), 2) for k, v in calls.calls.items()}

    result = {
        "scenario": "tick",
        "reminders": 2 * PATIENTS,
        "due": found,
        "seed_seconds": round(seed_seconds, 1),
        "idle_tick_calls": idle,
        "tick_seconds": round(tick_seconds, 2),
        "tick_calls": busy,
        "peak_rss_mb": round(max(rss_before, rss_after) / 1024, 1),
        "consumer_reminders_per_second": round(handled / run_seconds, 1),
        "consumer_calls_per_reminder": per_item,
    }
    result["checks"] = {
        "10,000 due found": "PASS" if found == DUE else "FAIL",
        "no Scan": "PASS" if "Scan" not in busy and "Scan" not in idle else "FAIL",
        "idle tick <= 16 Queries": "PASS" if idle.get("Query", 0) <= 16 and set(idle) <= {"Query"} else "FAIL",
        "peak RSS <= 200 MB": "PASS" if result["peak_rss_mb"] <= 200 else "FAIL",
    }
    write_result("tick", result)
    table(
        "reminder tick (100,000 patients x 2 reminders, DynamoDB Local + moto server)",
        [
            ("seeding 200,000 reminders", f"{result['seed_seconds']} s"),
            ("idle tick AWS calls", idle),
            (f"tick with {found} due: wall time", f"{result['tick_seconds']} s"),
            ("tick AWS calls", busy),
            ("peak RSS of the process", f"{result['peak_rss_mb']} MB"),
            (f"consumer, {handled} reminders", f"{result['consumer_reminders_per_second']} reminders/s"),
            ("consumer AWS calls per reminder", per_item),
            *result["checks"].items(),
        ],
    )
    return result


if __name__ == "__main__":
    run()
