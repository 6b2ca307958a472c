"""The whole-record export on DynamoDB Local: a patient with 100,000 readings, page after page (issue 20).

``GET /patients/{pid}/export?everything=true&limit=500`` is followed from the first page to the last
through the app's handler, as a client would.  Reported: pages, the whole export's time, the median
page, DynamoDB requests per page, the largest page's size, and peak memory: the Python heap's peak
while the pages are made (``tracemalloc``) and the process's peak RSS before and after; and the
one-document export of the same record, refused at its 5 MiB budget: its time, requests and heap peak.
"""

from __future__ import annotations

import json
import resource
import time
import tracemalloc
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.harness import AwsCalls, api_event, bench_clinic, emulators, load_app, summary, table, write_result
from bench.ingest import _reading, _seed

READINGS = 100_000
LIMIT = 500


def patient_with_readings(app: Any, pid: str, count: int) -> tuple[str, str]:
    """A patient enrolled by clinician c-bench through the app, with one reading posted through it and
    ``count`` more seeded like it straight into the table; returns (the clinician's, the patient's token)."""
    from datetime import UTC, datetime

    from chalicelib import bootstrap

    c = bootstrap.container()
    issuer, _, doc = bench_clinic(app)
    body = {"patient_id": pid, "given_name": "B", "family_name": "B", "timezone": "UTC"}
    assert app(api_event("POST", "/patients", "/patients", {}, doc, body), None)["statusCode"] == 201
    token = issuer.token("patient", pid)
    sent = _reading(datetime.now(UTC))
    path = f"/patients/{pid}/readings"
    app(api_event("POST", path, "/patients/{patient_id}/readings", {"patient_id": pid}, token, sent), None)
    stored = c.table.get(f"PATIENT#{pid}", f"READING#{sent['reading_id']}")
    assert stored is not None
    template = {k: v for k, v in stored.items() if k not in ("pk", "sk", "lsi1sk", "write_token")}
    _seed(c, template, pid, count)
    return doc, token


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap

        c = bootstrap.container()
        pid = "p-export"
        _, token = patient_with_readings(app, pid, READINGS)

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        # The one-document export of the same record: refused once its Bundle would pass 5 MiB.
        event = api_event("GET", f"/patients/{pid}/export", "/patients/{patient_id}/export", {"patient_id": pid}, token)
        tracemalloc.start()
        began = time.perf_counter()
        refusal = app(event, None)
        refused_ms = (time.perf_counter() - began) * 1000
        _, refused_heap = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert refusal["statusCode"] == 400 and "record-too-large" in refusal["body"], refusal
        refused_requests = sum(calls.calls.values())

        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        samples: list[float] = []
        sizes: list[int] = []
        requests: list[int] = []
        entries = 0
        cursor: str | None = None
        started = time.perf_counter()
        while True:
            query = {"everything": "true", "limit": str(LIMIT), **({"cursor": cursor} if cursor else {})}
            event = api_event(
                "GET",
                f"/patients/{pid}/export",
                "/patients/{patient_id}/export",
                {"patient_id": pid},
                token,
                query=query,
            )
            calls.reset()
            began = time.perf_counter()
            answer = app(event, None)
            samples.append(time.perf_counter() - began)
            assert answer["statusCode"] == 200, answer
            requests.append(sum(calls.calls.values()))
            sizes.append(len(answer["body"]))
            document = json.loads(answer["body"])
            entries += len(document["entry"])
            following = [link["url"] for link in document.get("link", []) if link["relation"] == "next"]
            if not following:
                break
            cursor = parse_qs(urlsplit(following[0]).query)["cursor"][0]
        total = time.perf_counter() - started
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    result: dict[str, Any] = {
        "scenario": "export",
        "readings": READINGS,
        "limit": LIMIT,
        "pages": len(samples),
        "entries": entries,
        "total_s": round(total, 1),
        "page": summary(samples),
        "dynamodb_requests_per_page": {"median": sorted(requests)[len(requests) // 2], "max": max(requests)},
        "largest_page_kb": round(max(sizes) / 1024, 1),
        "python_heap_peak_mb": round(heap_peak / 2**20, 1),
        "rss_peak_mb_before_after": [round(rss_before / 1024, 1), round(rss_after / 1024, 1)],
        "one_document_refused": {
            "ms": round(refused_ms),
            "dynamodb_requests": refused_requests,
            "python_heap_peak_mb": round(refused_heap / 2**20, 1),
        },
    }
    write_result("export", result)
    table(
        f"whole-record export, {READINGS:,} readings, {LIMIT} a page (DynamoDB Local)",
        [
            ("pages / entries", f"{result['pages']} / {entries:,}"),
            ("whole export", f"{result['total_s']} s"),
            ("page median / p99", f"{result['page']['median_ms']} / {result['page']['p99_ms']} ms"),
            ("DynamoDB requests per page", result["dynamodb_requests_per_page"]),
            ("largest page", f"{result['largest_page_kb']} KB"),
            ("Python heap peak while exporting", f"{result['python_heap_peak_mb']} MB"),
            ("process peak RSS before / after", f"{result['rss_peak_mb_before_after']} MB"),
            (
                "one-document export refused (400 record-too-large)",
                f"{round(refused_ms)} ms, {refused_requests} DynamoDB requests, "
                f"heap peak {result['one_document_refused']['python_heap_peak_mb']} MB",
            ),
        ],
    )
    return result
