"""The 360° view on DynamoDB Local: timeline first page and 90-day trend at 100 vs 100,000 events.

Two patients with the same last 90 days (one glucose reading a day, so the
trend window holds the same 90 buckets) and different histories: 100 events in
all, or 100,000 (older readings at 40 a day, and every other event kind).

Targets (360° view issue):
- timeline first page (50) at 100,000 events within 1.5x of the page at 100;
- 90-day trend at 100,000 events within 1.5x of the trend at 100;
- DynamoDB requests per call do not depend on the history (reported per call).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import AwsCalls, api_event, bench_clinic, emulators, load_app, summary, table, timed, write_result

RUNS = 300
SMALL, BIG = 100, 100_000
WINDOW = 90
KINDS = ("reading", "message_out", "message_in", "reminder_sent", "reminder_done", "alert_opened", "note")


def _write(c: Any, items: list[dict[str, Any]]) -> None:
    from chalicelib.adapters.dynamo import serialize

    client = c.client("dynamodb")

    def batch(start: int) -> None:
        pending = {c.settings.table_name: [{"PutRequest": {"Item": serialize(i)}} for i in items[start : start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(batch, range(0, len(items), 25)))


def _seed(c: Any, pid: str, events: int, now: datetime) -> None:
    """``events`` timeline events ending now, and the daily buckets of the readings among them."""
    from chalicelib.adapters.stores import patient_pk
    from chalicelib.adapters.timeline import event_item

    recent = WINDOW  # one reading a day in the trend window
    older = events - recent
    items: list[dict[str, Any]] = []
    buckets: dict[str, dict[str, Any]] = {}
    for n in range(recent):
        at = now - timedelta(days=n, hours=1)
        items.append(event_item(pid, "reading", at, f"reading-r{n}", "Glucose 120 mg/dL", "app"))
        buckets.setdefault(at.date().isoformat(), {})[f"r_r{n}"] = 100 + n % 90
    start = now - timedelta(days=WINDOW + 1)
    for n in range(older):
        at = start - timedelta(minutes=36 * n)  # 40 a day
        kind = KINDS[n % len(KINDS)]
        items.append(event_item(pid, kind, at, f"{kind}-o{n}", f"{kind} seeded", "sms"))
        if kind == "reading":
            buckets.setdefault(at.date().isoformat(), {})[f"r_o{n}"] = 80 + n % 150
    for day, values in buckets.items():
        items.append({"pk": patient_pk(pid), "sk": f"DAY#blood_glucose#{day}", "entity": "day", "date": day, **values})
    _write(c, items)


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap

        c = bootstrap.container()
        _, _, doc = bench_clinic(app)
        now = datetime.now(UTC)
        for pid, events in (("p-small", SMALL), ("p-big", BIG)):
            body = {"patient_id": pid, "given_name": "B", "family_name": "B", "timezone": "UTC"}
            app(api_event("POST", "/patients", "/patients", {}, doc, body), None)
            _seed(c, pid, events, now)

        def timeline(pid: str, query: dict[str, str]) -> dict[str, Any]:
            path = f"/patients/{pid}/timeline"
            return api_event("GET", path, "/patients/{patient_id}/timeline", {"patient_id": pid}, doc, query=query)

        def trend(pid: str) -> dict[str, Any]:
            return api_event(
                "GET",
                f"/patients/{pid}/trends",
                "/patients/{patient_id}/trends",
                {"patient_id": pid},
                doc,
                query={"type": "blood_glucose", "days": str(WINDOW)},
            )

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        cases = {
            "timeline": {pid: timeline(pid, {"limit": "50"}) for pid in ("p-small", "p-big")},
            "timeline kinds=reading,note": {
                pid: timeline(pid, {"limit": "50", "kinds": "reading,note"}) for pid in ("p-small", "p-big")
            },
            "trend 90 d": {pid: trend(pid) for pid in ("p-small", "p-big")},
        }
        measured: dict[str, Any] = {}
        for name, events in cases.items():
            requests = {}
            for pid, event in events.items():
                response = app(event, None)
                assert response["statusCode"] == 200, response
                calls.reset()
                app(event, None)
                requests[pid] = dict(calls.calls)
            small_runs: list[float] = []
            big_runs: list[float] = []
            for _ in range(RUNS):  # interleaved, so emulator warm-up and drift hit both alike
                small_runs += timed(lambda e=events["p-small"]: app(e, None), 1)
                big_runs += timed(lambda e=events["p-big"]: app(e, None), 1)
            small, big = summary(small_runs), summary(big_runs)
            measured[name] = {
                "small": small,
                "big": big,
                "ratio": round(big["median_ms"] / small["median_ms"], 2),
                "requests_small": requests["p-small"],
                "requests_big": requests["p-big"],
            }

    result: dict[str, Any] = {"scenario": "record", "events": {"small": SMALL, "big": BIG}, "measured": measured}
    checks = {
        "timeline page at 100k <= 1.5x at 100": measured["timeline"]["ratio"] <= 1.5,
        "90-day trend at 100k <= 1.5x at 100": measured["trend 90 d"]["ratio"] <= 1.5,
        "requests per call independent of history": all(
            m["requests_small"] == m["requests_big"] for m in measured.values()
        ),
    }
    result["checks"] = {k: "PASS" if v else "FAIL" for k, v in checks.items()}
    write_result("record", result)
    rows: list[tuple[str, Any]] = []
    for name, m in measured.items():
        rows.append((f"{name}: {SMALL} / {BIG:,} events", f"{m['small']['median_ms']} / {m['big']['median_ms']} ms"))
        rows.append((f"{name}: ratio", m["ratio"]))
        rows.append((f"{name}: DynamoDB requests per call", m["requests_big"]))
    rows += [(k, v) for k, v in result["checks"].items()]
    table("360° view: timeline and trends (DynamoDB Local, app in-process)", rows)
    return result
