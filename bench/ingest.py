"""Ingest and history on DynamoDB Local: requests, capacity and latency per reading.

Targets (readings issue):
- a normal reading costs exactly one DynamoDB request on the request path and <= 2 WCU;
- the whole in-process handler (token check, validation, classification, write) takes
  <= 1.5x a raw boto3 PutItem of the same item (median of >= 1,000);
- a history page at 100,000 readings is within 1.5x of one at 100 readings.
"""

from __future__ import annotations

import copy
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.harness import AwsCalls, api_event, bench_clinic, emulators, load_app, summary, table, timed, write_result

RUNS = 1000
WARMUP = 1000
HISTORY_RUNS = 300
BIG = 100_000
SMALL = 100


def _reading(measured_at: datetime) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 112,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": measured_at.isoformat(),
        "source": "device",
        "device_id": "meter-9",
    }


def _post(pid: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
    return api_event(
        "POST", f"/patients/{pid}/readings", "/patients/{patient_id}/readings", {"patient_id": pid}, token, body
    )


def _seed(c: Any, template: dict[str, Any], pid: str, count: int) -> None:
    from chalicelib.adapters.dynamo import serialize
    from chalicelib.adapters.readings import reading_sk, time_key
    from chalicelib.adapters.stores import patient_pk
    from chalicelib.domain.timeutil import iso

    start = datetime.now(UTC) - timedelta(days=364)
    step = timedelta(days=364) / count

    def items(offset: int, n: int) -> list[dict[str, Any]]:
        out = []
        for i in range(offset, offset + n):
            rid = f"seed-{i:07d}"
            at = iso(start + step * i)
            item = {**template, "patient_id": pid, "reading_id": rid, "measured_at": at}
            item.update(pk=patient_pk(pid), sk=reading_sk(rid), lsi1sk=time_key(item["type"], at, rid))
            out.append({"PutRequest": {"Item": serialize(item)}})
        return out

    client = c.client("dynamodb")

    def write(offset: int) -> None:
        pending = {c.settings.table_name: items(offset, min(25, count - offset))}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, range(0, count, 25)))


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap

        c = bootstrap.container()
        issuer, _, doc = bench_clinic(app)
        for pid in ("p-bench", "p-small", "p-big"):
            app(
                api_event(
                    "POST",
                    "/patients",
                    "/patients",
                    {},
                    doc,
                    {"patient_id": pid, "given_name": "B", "family_name": "B", "timezone": "UTC"},
                ),
                None,
            )
        token = issuer.token("patient", "p-bench")
        now = datetime.now(UTC)
        first = app(_post("p-bench", token, _reading(now - timedelta(minutes=1))), None)
        assert first["statusCode"] == 201, first

        calls = AwsCalls()
        calls.attach(c.client("dynamodb"))
        app(_post("p-bench", token, _reading(now - timedelta(minutes=1))), None)
        one_reading_requests = dict(calls.calls)
        one_reading_wcu = calls.wcu
        c.client("dynamodb").meta.events.unregister("before-call.dynamodb", calls._count)

        from chalicelib.adapters.dynamo import serialize

        stored = c.reading_store.table.query(
            "pk = :p AND begins_with(sk, :r)", {":p": "PATIENT#p-bench", ":r": "READING#"}, limit=1
        ).items[0]

        def raw_item() -> dict[str, Any]:
            item = copy.deepcopy(stored)
            rid = str(uuid.uuid4())
            item.update(
                reading_id=rid, sk=f"READING#{rid}", lsi1sk=f"READING#blood_glucose#{item['measured_at']}#{rid}"
            )
            return serialize(item)

        client = c.client("dynamodb")
        warm = [raw_item() for _ in range(WARMUP)]
        timed(lambda: client.put_item(TableName=c.settings.table_name, Item=warm.pop()), WARMUP)  # JIT-warm the JVM
        # Alternate handler and raw calls so drift in the emulator hits both alike.
        events = [_post("p-bench", token, _reading(now - timedelta(seconds=i % 200))) for i in range(RUNS)]
        raw_items = [raw_item() for _ in range(RUNS)]
        handler: list[float] = []
        raw: list[float] = []
        for event, item in zip(events, raw_items, strict=True):
            handler += timed(lambda e=event: app(e, None), 1)
            raw += timed(lambda i=item: client.put_item(TableName=c.settings.table_name, Item=i), 1)

        _seed(c, stored, "p-small", SMALL)
        _seed(c, stored, "p-big", BIG)
        doc_calls = AwsCalls()
        doc_calls.attach(client)

        def history(pid: str) -> dict[str, Any]:
            return api_event(
                "GET",
                f"/patients/{pid}/readings",
                "/patients/{patient_id}/readings",
                {"patient_id": pid},
                doc,
                query={"limit": "50"},
            )

        small_event, big_event = history("p-small"), history("p-big")
        app(small_event, None)
        app(big_event, None)
        doc_calls.reset()
        response = app(big_event, None)
        history_requests = dict(doc_calls.calls)
        assert response["statusCode"] == 200
        small = timed(lambda: app(small_event, None), HISTORY_RUNS)
        big = timed(lambda: app(big_event, None), HISTORY_RUNS)

    h, r, s, b = summary(handler), summary(raw), summary(small), summary(big)
    result = {
        "scenario": "ingest",
        "requests_per_normal_reading": one_reading_requests,
        "wcu_per_normal_reading": one_reading_wcu,
        "handler": h,
        "raw_put_item": r,
        "handler_vs_raw": round(h["median_ms"] / r["median_ms"], 2),
        "history_100": s,
        "history_100k": b,
        "history_ratio": round(b["median_ms"] / s["median_ms"], 2),
        "history_requests": history_requests,
    }
    checks = {
        "one DynamoDB request per reading": sum(one_reading_requests.values()) == 1,
        "<= 2 WCU per reading": 0 < one_reading_wcu <= 2,
        "handler <= 1.5x raw PutItem": result["handler_vs_raw"] <= 1.5,
        "history 100k <= 1.5x history 100": result["history_ratio"] <= 1.5,
    }
    result["checks"] = {k: "PASS" if v else "FAIL" for k, v in checks.items()}
    write_result("ingest", result)
    table(
        "ingest (DynamoDB Local + moto server, app in-process)",
        [
            ("DynamoDB requests / normal reading", one_reading_requests),
            ("WCU / normal reading", one_reading_wcu),
            (f"handler median / p99 (n={RUNS})", f"{h['median_ms']} / {h['p99_ms']} ms, {h['per_second']} requests/s"),
            (
                f"raw PutItem median / p99 (n={RUNS})",
                f"{r['median_ms']} / {r['p99_ms']} ms, {r['per_second']} requests/s",
            ),
            ("handler / raw", result["handler_vs_raw"]),
            (f"history page, {SMALL} readings", f"{s['median_ms']} ms"),
            (f"history page, {BIG} readings", f"{b['median_ms']} ms"),
            ("history 100k / 100", result["history_ratio"]),
            ("requests / history page", history_requests),
            *[(k, v) for k, v in result["checks"].items()],
        ],
    )
    return result


if __name__ == "__main__":
    run()
