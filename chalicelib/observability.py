"""Structured logs and metrics (Powertools), built on first use.

Log lines carry ids, counts and outcomes, never names, phone numbers, emails,
free text or measured values.  Exceptions are logged by type and stack frames
only: an exception *message* can echo submitted data.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

SERVICE = "carewire"
NAMESPACE = "Carewire"


@lru_cache(maxsize=1)
def logger() -> Any:
    from aws_lambda_powertools import Logger

    return Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))


@lru_cache(maxsize=1)
def metrics() -> Any:
    from aws_lambda_powertools import Metrics

    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", NAMESPACE), service=SERVICE)


def count(name: str, value: float = 1) -> None:
    from aws_lambda_powertools.metrics import MetricUnit

    metrics().add_metric(name=name, unit=MetricUnit.Count, value=value)


def flush_metrics() -> None:
    m = metrics()
    # Powertools warns when flushing an empty set; only flush what was added.
    if m.metric_set:
        m.flush_metrics()


@contextmanager
def job_metrics() -> Iterator[None]:
    """Flush what a non-HTTP invocation counted (the HTTP middleware does it for requests)."""
    try:
        yield
    finally:
        flush_metrics()


def describe_error(error: BaseException) -> dict[str, Any]:
    """What may be logged of an error: its type and, for validation, each error's type and location.

    Never the message: pydantic's quotes the input, ``json``'s a fragment of it.
    """
    from pydantic import ValidationError

    described: dict[str, Any] = {"error_type": type(error).__name__}
    if isinstance(error, ValidationError):
        described["errors"] = [
            {"type": e["type"], "loc": ".".join(str(part) for part in e["loc"])[:200]}
            for e in error.errors(include_url=False, include_input=False, include_context=False)
        ][:20]
    elif isinstance(error, json.JSONDecodeError):
        described["position"] = error.pos
    return described


def log_unexpected(error: BaseException, where: str) -> None:
    frames = traceback.format_tb(error.__traceback__)
    logger().error(
        "unexpected error",
        extra={"where": where, **describe_error(error), "stack": "".join(frames)[-4000:]},
    )
    count("UnexpectedErrors")


def log_invalid(error: BaseException, where: str) -> None:
    """An event payload that does not parse: error types and locations, never its content (F14)."""
    logger().error("malformed event", extra={"where": where, **describe_error(error)})
    count("MalformedEvents")


def opaque(value: str) -> str:
    """A log-safe stand-in for an id that may embed a patient id (F16): stable, not reversible."""
    import hashlib

    return "h-" + hashlib.sha256(value.encode()).hexdigest()[:16]
