"""The console's server render times on DynamoDB Local: the worklist of 500 patients, a patient with 10k readings.

Targets (console issue, docs/console.md "Quality bars"): each page renders in
under 300 ms of server time; pages stay under 200 KB without images.  The
worklist page ranks the whole panel and shows its first 100 rows (console.md
"How it is built").  Also reported, without a target: DynamoDB requests per
page (a page is one render over the API's indexed queries: no Scan, no query
per row), ``GET /worklist`` answering the whole panel as JSON, and the charts'
render time and size (images: outside the page-weight budget).

Seeding goes through the app itself: 500 patients created on clinician
c-bench's panel through the API, each with readings posted through the API over
the last 14 days (some low, some high, a few patients with none) and a critical
reading for a few (open alerts); one patient with 10 000 glucose and blood
pressure readings over the last 180 days, posted in batches of 100.  Each stored
reading then goes through the stream's own handler (``ChangeHandler.handle_record``
with the reading's INSERT record, eight at a time), so day buckets, recent-reading
items, alerts and timeline entries are the stream's own; the local event runner's
one-record-at-a-time drain would take tens of minutes for 16,000 readings.  Pages are rendered by
invoking the app in-process with API Gateway-shaped events carrying the console
session cookie, as Lambda would; server time is the app's invocation time.
"""

from __future__ import annotations

import os
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import AwsCalls, api_event, bench_clinic, emulators, load_app, summary, table, timed, write_result

PANEL = int(os.environ.get("BENCH_CONSOLE_PANEL", "500"))
BIG_READINGS = int(os.environ.get("BENCH_CONSOLE_READINGS", "10000"))
RUNS = 30
TARGET_MS = 300.0
PAGE_BUDGET_BYTES = 200 * 1024


def _glucose(at: datetime, value: float, source: str = "device") -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": at.isoformat(),
        "source": source,
        **({"device_id": "meter-1"} if source == "device" else {}),
    }


def _bp(at: datetime, systolic: int, diastolic: int) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "unit": "mmHg",
        "measured_at": at.isoformat(),
        "source": "device",
        "device_id": "cuff-1",
    }


def _console_event(
    path: str, resource: str, params: dict[str, str], cookie: str, query: dict[str, str] | None = None
) -> dict[str, Any]:
    event = api_event("GET", path, resource, params, "unused", query=query)
    event["headers"] = {"Cookie": f"__Host-carewire={cookie}", "Host": "bench.local", "Accept": "text/html"}
    return event


def _seed_panel(app: Any, doc: str, issuer: Any, now: datetime) -> list[str]:
    rng = random.Random(18)
    pids = [f"p-w{n:04d}" for n in range(PANEL)]

    def create(pid: str) -> None:
        body = {
            "patient_id": pid,
            "given_name": f"Given{pid[-4:]}",
            "family_name": "Bench",
            "timezone": "America/New_York",
            "conditions": ["diabetes", "hypertension"],
            "channels": ["sms"],
            "phone": f"+1555{int(pid[-4:]):07d}",
        }
        answer = app(api_event("POST", "/patients", "/patients", {}, doc, body), None)
        assert answer["statusCode"] == 201, answer["body"]

    def readings(pid: str) -> None:
        n = int(pid[-4:])
        if n % 25 == 0:
            return  # no data
        batch = []
        for k in range(rng.randint(4, 20)):
            at = now - timedelta(days=rng.uniform(0, 13.5), minutes=k)
            value = rng.choice([62, 95, 110, 140, 190, 260]) if n % 7 == 0 else rng.uniform(85, 170)
            batch.append(_glucose(at, round(value)))
        if n % 3 == 0:
            batch += [_bp(now - timedelta(days=d, hours=2), 128 + n % 20, 78 + n % 10) for d in range(5)]
        if n % 50 == 1:
            batch.append(_glucose(now - timedelta(minutes=30), 45))  # critical: an open alert
        path = f"/patients/{pid}/readings/batch"
        event = api_event(
            "POST", path, "/patients/{patient_id}/readings/batch", {"patient_id": pid}, doc, {"readings": batch}
        )
        answer = app(event, None)
        assert answer["statusCode"] == 200, answer["body"]

    # One app invocation at a time, as Lambda runs one per environment (Chalice keeps the request on the app).
    for pid in pids:
        create(pid)
    for pid in pids:
        readings(pid)
    return pids


def _seed_big(app: Any, doc: str, now: datetime) -> str:
    pid = "p-big"
    body = {"patient_id": pid, "given_name": "Bea", "family_name": "Big", "timezone": "Europe/Lisbon"}
    assert app(api_event("POST", "/patients", "/patients", {}, doc, body), None)["statusCode"] == 201
    rng = random.Random(10_000)
    readings: list[dict[str, Any]] = []
    for n in range(BIG_READINGS):
        at = now - timedelta(minutes=25.9 * n + 1)  # 10k over ~180 days
        if n % 5 == 0:
            readings.append(_bp(at, rng.randint(110, 165), rng.randint(65, 100)))
        else:
            readings.append(_glucose(at, rng.randint(60, 260)))
    path = f"/patients/{pid}/readings/batch"

    def post(start: int) -> None:
        chunk = {"readings": readings[start : start + 100]}
        event = api_event("POST", path, "/patients/{patient_id}/readings/batch", {"patient_id": pid}, doc, chunk)
        answer = app(event, None)
        assert answer["statusCode"] == 200, answer["body"]

    for start in range(0, BIG_READINGS, 100):
        post(start)
    return pid


def _through_the_stream(c: Any, patient_ids: list[str]) -> None:
    """Every stored reading of these patients handled as the stream delivers it (an INSERT record)."""
    from chalicelib.adapters.dynamo import serialize

    def one(pid: str) -> None:
        for item in c.reading_store.every(pid):
            c.changes.handle_record({"eventName": "INSERT", "dynamodb": {"NewImage": serialize(item)}})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, patient_ids))


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap

        c = bootstrap.container()
        issuer, _, doc = bench_clinic(app)
        now = datetime.now(UTC)
        panel = _seed_panel(app, doc, issuer, now)
        big = _seed_big(app, doc, now)
        _through_the_stream(c, [*panel, big])
        from chalicelib.services.console_sessions import Tokens

        signed = issuer.sign_in("clinician", "c-bench")
        cookie, _ = c.console_sessions.start("c-bench", Tokens(signed["AccessToken"], signed.get("RefreshToken")))
        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        pages = {
            f"worklist ({PANEL} patients: the first 100 by need)": _console_event("/console", "/console", {}, cookie),
            f"patient page ({BIG_READINGS:,} readings)": _console_event(
                f"/console/patients/{big}", "/console/patients/{patient_id}", {"patient_id": big}, cookie
            ),
            f"GET /worklist, the API's whole panel ({PANEL} rows, JSON)": api_event(
                "GET", "/worklist", "/worklist", {}, doc
            ),
            "glucose chart, 90 days (image)": _console_event(
                f"/console/patients/{big}/charts/glucose.svg",
                "/console/patients/{patient_id}/charts/glucose.svg",
                {"patient_id": big},
                cookie,
                {"days": "90"},
            ),
        }
        result: dict[str, Any] = {"scenario": "console", "panel": PANEL, "readings_big_patient": BIG_READINGS}
        rows: list[tuple[str, Any]] = []
        for name, event in pages.items():
            answer = app(event, None)  # warm: the container's clients, the templates, the JWKS
            assert answer["statusCode"] == 200, (name, answer["statusCode"], str(answer["body"])[:300])
            weight = len(answer["body"].encode())
            calls.reset()
            app(event, None)
            requests = sum(calls.calls.values())
            by_op = dict(sorted(calls.calls.items()))
            stats = summary(timed(lambda event=event: app(event, None), RUNS))
            image = "image" in name or "API" in name  # no target: an image, and the API's whole-panel JSON
            passed = image or (stats["median_ms"] < TARGET_MS and weight < PAGE_BUDGET_BYTES)
            result[name] = {**stats, "bytes": weight, "dynamodb_requests": requests, "by_operation": by_op}
            verdict = "" if image else (" PASS" if passed else " FAIL")
            rows.append(
                (
                    name,
                    f"median {stats['median_ms']} ms, p99 {stats['p99_ms']} ms, {weight / 1024:.1f} KB, "
                    f"{requests} DynamoDB requests {by_op}{verdict}",
                )
            )
        write_result("console", result)
        table(f"console server render (target < {TARGET_MS:.0f} ms, < 200 KB without images)", rows)
        return result
