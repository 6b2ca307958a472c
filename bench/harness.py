"""Shared bench machinery: emulators, the app in-process, AWS request counters.

Benchmarks run the app in this process against DynamoDB Local and moto server
(never moto's DynamoDB, whose Query reads the whole table), and invoke it with
API Gateway-shaped events exactly as Lambda would.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

from devstack.stack import Stack, free_port

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def emulators() -> Iterator[Stack]:
    stack = Stack(
        api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None, serve_api=False
    ).start()
    try:
        yield stack
    finally:
        stack.stop()


def load_app(stack: Stack) -> Any:
    env = {k: v for k, v in stack.env.items() if k.startswith(("AWS_", "CAREWIRE_"))}
    env.update({"CAREWIRE_STAGE": "dev", "POWERTOOLS_METRICS_DISABLED": "true"})
    os.environ.update(env)
    import app as app_module
    from chalicelib import bootstrap
    from chalicelib.observability import logger

    bootstrap.use(None)
    # Log lines are produced and formatted as in Lambda, then dropped instead of
    # written to the terminal (Lambda writes them to a pipe).
    for handler in logger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    return app_module.app


class AwsCalls:
    """Counts AWS requests per operation and sums DynamoDB consumed capacity, via botocore events."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.wcu = 0.0
        self.rcu = 0.0

    def attach(self, client: Any) -> None:
        events = client.meta.events
        service = client.meta.service_model.service_name
        events.register(f"before-call.{service}", self._count)
        if service == "dynamodb":
            for op in (
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "TransactWriteItems",
                "BatchWriteItem",
                "GetItem",
                "Query",
            ):
                events.register(f"before-parameter-build.dynamodb.{op}", self._ask_capacity)
            events.register("after-call.dynamodb", self._capacity)

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    @staticmethod
    def _ask_capacity(params: dict[str, Any], **_: Any) -> None:
        params.setdefault("ReturnConsumedCapacity", "TOTAL")

    def _capacity(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            units = float(entry.get("CapacityUnits", 0))
            if model.name in ("GetItem", "Query", "BatchGetItem"):
                self.rcu += units
            else:
                self.wcu += units

    def reset(self) -> None:
        self.calls.clear()
        self.wcu = self.rcu = 0.0


def api_event(
    method: str,
    path: str,
    resource: str,
    params: dict[str, str],
    token: str,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": method, "requestId": "bench", "path": path},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    with open(os.devnull, "w") as sink, redirect_stdout(sink):  # Lambda's stdout (logs) goes to a pipe, not a tty
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3),
        "per_second": round(len(ordered) / sum(ordered), 1),
    }


def write_result(name: str, result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2))


def table(title: str, rows: list[tuple[str, Any]]) -> None:
    width = max(len(k) for k, _ in rows)
    out = sys.__stdout__  # the terminal, even while a scenario's own output is silenced (see quiet)
    print(f"\n== {title}", file=out, flush=True)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}", file=out, flush=True)


def bench_clinic(app: Any) -> tuple[Any, str, str]:
    """Cognito's issuer, an admin token and the token of clinician c-bench (registered here)."""
    from chalicelib import bootstrap
    from devstack.identity import CognitoLocalIssuer

    c = bootstrap.container()
    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    admin, doc = issuer.token("admin", "a-bench"), issuer.token("clinician", "c-bench")
    path_params = {"clinician_id": "c-bench"}
    body = {"given_name": "Bench", "email": "c@clinic.example"}
    app(api_event("PUT", "/clinicians/c-bench", "/clinicians/{clinician_id}", path_params, admin, body), None)
    return issuer, admin, doc


@contextmanager
def quiet() -> Iterator[None]:
    """The handlers' metric lines (EMF) go where Lambda sends them, a pipe, not into the bench tables."""
    with open(os.devnull, "w") as sink, redirect_stdout(sink):
        yield
