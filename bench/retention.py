"""Retention on DynamoDB Local: de-identifying a discharged patient with 100,000 readings (issue 20).

The patient is enrolled, seeded and discharged through the app; then the due item the tick would hand
over (the discharged episode, six years on) goes to the retention service, and the run goes on step by
step as the minute tick would carry it, each step with the deployed budget (1,000 items).  Reported: the
steps (ticks) a run takes, the whole run's time, the median and slowest step, DynamoDB requests per
reading moved, and the Python heap's peak during a step (``tracemalloc``).
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import timedelta
from typing import Any

from bench.export import patient_with_readings
from bench.harness import AwsCalls, api_event, emulators, load_app, summary, table, write_result

READINGS = 100_000


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap
        from chalicelib.domain.timeutil import parse_iso
        from chalicelib.services.retention import BUDGET

        c = bootstrap.container()
        pid = "p-retention"
        doc, _ = patient_with_readings(app, pid, READINGS)
        episode = "ep-00000000-enrolment"
        route = "/patients/{patient_id}/episodes/{episode_id}/discharge"
        params = {"patient_id": pid, "episode_id": episode}
        discharge = api_event(
            "POST", f"/patients/{pid}/episodes/{episode}/discharge", route, params, doc, {"reason": "moved"}
        )
        answer = app(discharge, None)
        assert answer["statusCode"] == 200, answer
        (item,) = [i for i in c.table.query_all("pk = :p", {":p": f"PATIENT#{pid}"}) if i["sk"].startswith("EPISODE#")]
        now = parse_iso(item["deidentify_after"]) + timedelta(minutes=1)

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        tracemalloc.start()
        samples: list[float] = []
        started = time.perf_counter()
        began = time.perf_counter()
        c.retention.episode_due(item, now)
        samples.append(time.perf_counter() - began)
        while (state := c.table.get(f"PATIENT#{pid}", "RETENTION")) is not None:
            now = max(now + timedelta(minutes=1), parse_iso(state["due_at"]))
            began = time.perf_counter()
            c.retention.run_due(state, now)
            samples.append(time.perf_counter() - began)
        total = time.perf_counter() - started
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        requests = sum(calls.calls.values())
        left = c.table.query("pk = :p", {":p": f"PATIENT#{pid}"}, limit=1).items
        assert not left, left

    result: dict[str, Any] = {
        "scenario": "retention",
        "readings": READINGS + 1,
        "budget": BUDGET,
        "steps": len(samples),
        "total_s": round(total, 1),
        "step": summary(samples),
        "dynamodb_requests": requests,
        "dynamodb_requests_per_reading": round(requests / (READINGS + 1), 3),
        "python_heap_peak_mb": round(heap_peak / 2**20, 1),
    }
    write_result("retention", result)
    table(
        f"retention: de-identifying {READINGS + 1:,} readings, {BUDGET:,} items a step (DynamoDB Local)",
        [
            ("steps (minute ticks)", result["steps"]),
            ("whole run", f"{result['total_s']} s"),
            ("step median / p99", f"{result['step']['median_ms']} / {result['step']['p99_ms']} ms"),
            ("DynamoDB requests (per reading)", f"{requests:,} ({result['dynamodb_requests_per_reading']})"),
            ("Python heap peak during a run", f"{result['python_heap_peak_mb']} MB"),
        ],
    )
    return result
