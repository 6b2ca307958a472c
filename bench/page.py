"""From a critical reading to the first page, through the local event runner (DynamoDB Local + moto server).

Target (safety-net issue): a current critical reading opens an alert and pages the
care team; the page must be on its way within seconds.  200 critical readings
(glucose 45 mg/dL, measured now), each from a different patient whose care-team
clinician has a phone, are posted through the app (API Gateway-shaped events), then
:class:`~devstack.runner.LocalEventRunner` drains the real DynamoDB
Local stream and the SQS queues with the app's own handlers.  Per reading: the time
from the request (and from the reading's ``PutItem``) to the clinician's SMS being
published (``after-call.sns.Publish`` on the container's SNS client, matched by the
alert's opaque id in the page's link and by the clinician's phone number).

Sequential: one reading, then a drain, 200 times (the target: p99 < 5 s).  Burst
(no target, for scale): another 200 patients post back to back, then one drain; the
local runner is one thread, where Lambda would run the consumers in parallel.

Every botocore call of the container's clients is counted by service and operation,
and by where it was made: the API request, the stream handler on the reading's own
record, the stream handler on the records its writes produce, the deliver handler,
and the runner's polling (the event-source mapping's work in AWS).
"""

from __future__ import annotations

import os
import re
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from bench.harness import api_event, emulators, load_app, table, write_result

READINGS = 200
CLINICIANS = 20
TARGET_P99_SECONDS = 5.0
ALERT_ID = re.compile(r"\ba-[0-9a-f]{24}\b")


class PhasedCalls:
    """Every botocore call of the attached clients, by phase and ``service:Operation`` (thread-safe).

    The phase is per thread (``phase()``); threads without one count under ``default``.
    """

    def __init__(self, default: str = "other") -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.seconds: Counter[tuple[str, str]] = Counter()  # time inside the calls, summed (threads overlap)
        self.default = default
        self._lock = threading.Lock()
        self._local = threading.local()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(f"before-call.{service}", self._count)
        client.meta.events.register(f"after-call.{service}", self._timed)

    def _key(self, model: Any) -> tuple[str, str]:
        return (getattr(self._local, "phase", None) or self.default, f"{model.service_model.service_name}:{model.name}")

    def _count(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()
        with self._lock:
            self.calls[self._key(model)] += 1

    def _timed(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if "bench_started" in context:
            with self._lock:
                self.seconds[self._key(model)] += time.perf_counter() - context["bench_started"]

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        before = getattr(self._local, "phase", None)
        self._local.phase = name
        try:
            yield
        finally:
            self._local.phase = before

    def by_phase(self, per: float = 1.0) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for (phase, op), n in sorted(self.calls.items()):
            out.setdefault(phase, {})[op] = round(n / per, 2)
        return out

    def total(self, per: float = 1.0, phases: set[str] | None = None, service: str | None = None) -> float:
        n = sum(
            v
            for (phase, op), v in self.calls.items()
            if (phases is None or phase in phases) and (service is None or op.startswith(f"{service}:"))
        )
        return round(n / per, 2)

    def seconds_by_phase(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for (phase, op), t in sorted(self.seconds.items()):
            out.setdefault(phase, {})[op] = round(t, 2)
        return out

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.seconds.clear()


class Publishes:
    """Every SNS Publish the container makes: (perf_counter when SNS accepted it, phone, message)."""

    def __init__(self, sns: Any) -> None:
        self.sent: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()
        sns.meta.events.register("before-parameter-build.sns.Publish", self._remember)
        sns.meta.events.register("after-call.sns.Publish", self._published)

    @staticmethod
    def _remember(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_publish"] = (params.get("PhoneNumber") or params.get("TargetArn") or "", params.get("Message"))

    def _published(self, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        if http_response.status_code < 300 and "bench_publish" in context:
            phone, message = context["bench_publish"]
            with self._lock:
                self.sent.append((time.perf_counter(), phone, message or ""))

    def first(self, phone: str, alert_id: str, since: int = 0) -> float | None:
        """When the first page naming ``alert_id`` reached ``phone`` (SNS accepted it)."""
        with self._lock:
            sent = list(self.sent[since:])
        return next((t for t, to, text in sent if to == phone and alert_id in ALERT_ID.findall(text)), None)


def wrap_runner(runner: Any, calls: PhasedCalls, outbound: str) -> None:
    """Instrumentation only: the runner's handlers count their AWS calls under their own phase."""

    def is_reading(record: dict[str, Any]) -> bool:
        image = record.get("dynamodb", {}).get("NewImage", {})
        return record.get("eventName") == "INSERT" and image.get("entity", {}).get("S") == "reading"

    def stream(fn: Callable[..., Any]) -> Callable[..., Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            phase = "stream: reading" if any(is_reading(r) for r in event["Records"]) else "stream: follow-on"
            with calls.phase(phase):
                return fn(event, context)

        return handler

    def queue(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def handler(event: dict[str, Any], context: Any) -> Any:
            with calls.phase("deliver" if name == outbound else f"queue {name}"):
                return fn(event, context)

        return handler

    runner.stream_handlers = [stream(h) for h in runner.stream_handlers]
    runner.queue_handlers = [(name, queue(name, h)) for name, h in runner.queue_handlers]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def _setup(app: Any, c: Any, patients: int) -> tuple[Any, list[tuple[str, str]]]:
    """Clinicians with phones; patients each with one of them as care team. Returns (issuer, [(pid, phone)])."""
    from devstack.identity import CognitoLocalIssuer

    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    admin = issuer.token("admin", "a-bench")
    phones = {}
    for k in range(CLINICIANS):
        cid, phone = f"c-page-{k:02d}", f"+1555200{k:04d}"
        body = {"given_name": "Page", "phone": phone, "channels": ["sms"], "timezone": "UTC"}
        event = api_event("PUT", f"/clinicians/{cid}", "/clinicians/{clinician_id}", {"clinician_id": cid}, admin, body)
        assert app(event, None)["statusCode"] in (200, 201)
        phones[cid] = phone
    out = []
    for n in range(patients):
        pid, cid = f"p-page-{n:03d}", f"c-page-{n % CLINICIANS:02d}"
        body = {
            "patient_id": pid,
            "given_name": "P",
            "family_name": "B",
            "timezone": "UTC",
            "phone": f"+1555300{n:04d}",
            "channels": ["sms"],
            "care_team": [cid],
        }
        response = app(api_event("POST", "/patients", "/patients", {}, admin, body), None)
        assert response["statusCode"] == 201, response
        out.append((pid, phones[cid]))
    return issuer, out


def _reading_event(pid: str, token: str, reading_id: str) -> dict[str, Any]:
    body = {
        "reading_id": reading_id,
        "type": "blood_glucose",
        "value": 45,
        "unit": "mg/dL",
        "measured_at": datetime.now(UTC).isoformat(),
    }
    params = {"patient_id": pid}
    return api_event("POST", f"/patients/{pid}/readings", "/patients/{patient_id}/readings", params, token, body)


def run() -> dict[str, Any]:
    with emulators() as stack:
        app = load_app(stack)
        from chalicelib import bootstrap
        from chalicelib.services.alerts import alert_id_for
        from devstack.runner import LocalEventRunner

        c = bootstrap.container()
        issuer, people = _setup(app, c, 2 * READINGS)
        tokens = {pid: issuer.token("patient", pid) for pid, _ in people}
        runner = LocalEventRunner(
            app,
            c.client("dynamodb"),
            c.client("dynamodbstreams"),
            c.client("sqs"),
            c.settings.table_name,
            region=c.settings.region,
            clock=c.clock,
            tick_queues=(c.settings.due_work_queue,),
        )
        runner.drain(max_rounds=10_000)  # the setup's own stream records (digests scheduled, ...)
        for service in ("dynamodb", "dynamodbstreams", "sqs", "sns", "sesv2"):
            c.client(service)  # every client the path may use exists before counting starts
        clients = dict(c.__dict__["_clients"])
        calls = PhasedCalls(default="runner polling")
        for client in clients.values():
            calls.attach(client)
        wrap_runner(runner, calls, c.settings.outbound_queue)
        publishes = Publishes(c.client("sns"))
        # When the reading's PutItem returned (the reading is stored).
        put_done: dict[str, float] = {}

        def mark_reading(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            item = params.get("Item") or {}
            if item.get("entity", {}).get("S") == "reading":
                context["bench_reading"] = item["reading_id"]["S"]

        def stored(context: dict[str, Any], **_: Any) -> None:
            if "bench_reading" in context:
                put_done[context["bench_reading"]] = time.perf_counter()

        ddb_events = c.client("dynamodb").meta.events
        ddb_events.register("before-parameter-build.dynamodb.PutItem", mark_reading)
        ddb_events.register("after-call.dynamodb.PutItem", stored)

        # -- sequential: one reading, then drain -------------------------------------------
        sequential = people[:READINGS]
        samples: list[dict[str, Any]] = []
        load_before = os.getloadavg()[0]
        started_all = time.perf_counter()
        for pid, phone in sequential:
            reading_id = f"r-{uuid.uuid4().hex[:16]}"
            event = _reading_event(pid, tokens[pid], reading_id)
            mark = len(publishes.sent)
            t0 = time.perf_counter()
            with calls.phase("api"):
                response = app(event, None)
            assert response["statusCode"] == 201, response
            runner.drain(max_rounds=1000)
            drained = time.perf_counter()
            paged = publishes.first(phone, alert_id_for(pid, f"critical_low:{reading_id}"), mark)
            samples.append(
                {"request": t0, "put": put_done.get(reading_id), "page": paged, "drained": drained, "pid": pid}
            )
        sequential_seconds = time.perf_counter() - started_all
        load_after = os.getloadavg()[0]
        seq_calls = PhasedCalls()
        seq_calls.calls = Counter(calls.calls)
        seq_calls.seconds = Counter(calls.seconds)
        calls.reset()

        # -- burst: 200 readings back to back, then one drain --------------------------------
        burst = people[READINGS:]
        posted: list[tuple[str, str, str, float]] = []
        mark = len(publishes.sent)
        for pid, phone in burst:
            reading_id = f"r-{uuid.uuid4().hex[:16]}"
            event = _reading_event(pid, tokens[pid], reading_id)
            t0 = time.perf_counter()
            with calls.phase("api"):
                response = app(event, None)
            assert response["statusCode"] == 201, response
            posted.append((pid, phone, reading_id, t0))
        burst_started = time.perf_counter()
        runner.drain(max_rounds=10_000)
        burst_drain_seconds = time.perf_counter() - burst_started
        burst_pages = [
            (publishes.first(phone, alert_id_for(pid, f"critical_low:{rid}"), mark), t0)
            for pid, phone, rid, t0 in posted
        ]

    missing = [s["pid"] for s in samples if s["page"] is None]
    latency = [s["page"] - s["request"] for s in samples if s["page"] is not None]
    from_put = [s["page"] - s["put"] for s in samples if s["page"] is not None and s["put"] is not None]
    round_trip = [s["drained"] - s["request"] for s in samples]
    burst_latency = [p - t0 for p, t0 in burst_pages if p is not None]
    n = len(sequential)
    per_reading = seq_calls.by_phase(per=n)
    stream_ddb = seq_calls.total(per=n, phases={"stream: reading"}, service="dynamodb")
    app_phases = {"api", "stream: reading", "stream: follow-on", "deliver"}

    def ms(x: float) -> float:
        return round(x * 1000, 1)

    p99 = percentile(latency, 0.99) if latency else float("inf")
    result: dict[str, Any] = {
        "scenario": "page",
        "readings": n,
        "paged": len(latency),
        "missing_pages": missing[:10],
        "request_to_page_ms": {
            "p50": ms(statistics.median(latency)) if latency else None,
            "p99": ms(p99),
            "max": ms(max(latency)) if latency else None,
            "min": ms(min(latency)) if latency else None,
        },
        "put_to_page_ms": {
            "p50": ms(statistics.median(from_put)) if from_put else None,
            "p99": ms(percentile(from_put, 0.99)) if from_put else None,
            "max": ms(max(from_put)) if from_put else None,
        },
        "request_to_drained_ms": {"p50": ms(statistics.median(round_trip)), "max": ms(max(round_trip))},
        # Drift over the run: the table, the stream and moto's stores grow as readings are posted.
        "request_to_page_p50_first_20_ms": ms(statistics.median(latency[:20])) if latency else None,
        "request_to_page_p50_last_20_ms": ms(statistics.median(latency[-20:])) if latency else None,
        # Milliseconds inside each kind of call per critical reading (where the time goes).
        "call_ms_per_critical_reading": {
            phase: {op: round(t * 1000 / n, 1) for op, t in ops.items()}
            for phase, ops in seq_calls.seconds_by_phase().items()
        },
        "sequential_seconds": round(sequential_seconds, 1),
        # The machine's 1-minute load average before and after the sequential run (2 cores).
        "load_average": [round(load_before, 1), round(load_after, 1)],
        "aws_requests_per_critical_reading": seq_calls.total(per=n),
        "aws_requests_per_critical_reading_app": seq_calls.total(per=n, phases=app_phases),
        "aws_requests_per_critical_reading_runner_polling": seq_calls.total(per=n, phases={"runner polling"}),
        "calls_per_critical_reading": per_reading,
        "dynamodb_requests_per_critical_reading_stream_step": stream_ddb,
        "dynamodb_requests_per_critical_reading_stream_all": seq_calls.total(
            per=n, phases={"stream: reading", "stream: follow-on"}, service="dynamodb"
        ),
        "burst": {
            "readings": len(burst),
            "paged": len(burst_latency),
            "drain_seconds": round(burst_drain_seconds, 1),
            "request_to_page_ms": {
                "p50": ms(statistics.median(burst_latency)) if burst_latency else None,
                "p99": ms(percentile(burst_latency, 0.99)) if burst_latency else None,
                "max": ms(max(burst_latency)) if burst_latency else None,
            },
        },
    }
    result["checks"] = {
        f"every critical reading paged its clinician ({len(latency)}/{n})": "PASS" if not missing else "FAIL",
        f"request -> page p99 < {TARGET_P99_SECONDS:.0f} s ({ms(p99)} ms)": "PASS"
        if p99 < TARGET_P99_SECONDS and not missing
        else "FAIL",
    }
    write_result("page", result)
    rt = result["request_to_page_ms"]
    pt = result["put_to_page_ms"]
    bt = result["burst"]["request_to_page_ms"]
    rows: list[tuple[str, Any]] = [
        (f"{n} critical readings, each posted then drained", f"{result['sequential_seconds']} s in all"),
        ("request -> clinician SMS published", f"p50 {rt['p50']} ms, p99 {rt['p99']} ms, max {rt['max']} ms"),
        ("reading PutItem -> clinician SMS published", f"p50 {pt['p50']} ms, p99 {pt['p99']} ms, max {pt['max']} ms"),
        ("request -> runner idle again", f"p50 {result['request_to_drained_ms']['p50']} ms"),
        ("machine load average before / after (2 cores)", f"{load_before:.1f} / {load_after:.1f}"),
        (
            "request -> page p50, first 20 / last 20",
            f"{result['request_to_page_p50_first_20_ms']} / {result['request_to_page_p50_last_20_ms']} ms",
        ),
        ("AWS requests / critical reading, all", result["aws_requests_per_critical_reading"]),
        ("  of which the app (API + stream + delivery)", result["aws_requests_per_critical_reading_app"]),
        ("  of which the runner's polling", result["aws_requests_per_critical_reading_runner_polling"]),
    ]
    rows += [(f"  {phase}", ops) for phase, ops in per_reading.items()]
    rows += [
        ("DynamoDB requests / critical reading, stream step", stream_ddb),
        (
            f"burst: {len(burst)} posted back to back, one drain",
            f"{result['burst']['paged']} paged; p50 {bt['p50']} ms, p99 {bt['p99']} ms, max {bt['max']} ms "
            f"(one-thread runner; no target)",
        ),
        *result["checks"].items(),
    ]
    table("critical reading -> first page (local event runner, DynamoDB Local + moto server)", rows)
    return result


if __name__ == "__main__":
    run()
