"""Carewire's table of contents: the Chalice app, its middleware and its parts.

Routes live in chalicelib/api (one Blueprint per resource), non-HTTP handlers
in chalicelib/jobs.  Imports here are kept light: boto3, Powertools and the
JWT stack load on first use, not at cold start.  The local stage's own routes
and event runner are developer tooling: devstack/ adds them (``devstack.serve``),
and the Lambda package holds none of it.
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

from chalice import Chalice, Rate, Response

from chalicelib.api import (
    alerts,
    appointments,
    audit,
    clinic,
    clinicians,
    episodes,
    messages,
    patients,
    problems,
    readings,
    record,
    reminders,
    service,
)
from chalicelib.console.routes import bp as console

# configure_logs=False: Powertools owns the "carewire" logger; Chalice would add a second handler.
app = Chalice(app_name="carewire", configure_logs=False)
app.api.binary_types = ["image/png"]

for blueprint in (
    service.bp,
    patients.bp,
    clinicians.bp,
    clinic.bp,
    readings.bp,
    alerts.bp,
    messages.bp,
    reminders.bp,
    episodes.bp,
    appointments.bp,
    record.bp,
    audit.bp,
    console,
):
    app.register_blueprint(blueprint)


@app.middleware("http")
def observe_requests(event: Any, get_response: Any) -> Response:
    from chalicelib.observability import count, flush_metrics, logger

    started = time.perf_counter()
    context = event.context if isinstance(getattr(event, "context", None), dict) else {}
    request_id = context.setdefault("requestId", str(uuid.uuid4()))
    log = logger()
    log.set_correlation_id(request_id)
    response = get_response(event)
    if response.status_code >= 400 and isinstance(response.body, dict) and "Code" in response.body:
        # Chalice's own routing errors (405, 415): same problem+json shape as ours.
        response = problems.from_chalice_error(response)
    response.headers["X-Request-Id"] = request_id
    # Route template, not the path: ids are fine in logs, but one shape per route aggregates.
    log.info(
        "request",
        extra={
            "method": event.method,
            "route": context.get("resourcePath"),
            "status": response.status_code,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )
    count(f"Http{response.status_code // 100}xx")
    flush_metrics()
    return response


# The table stream.  The ARN is resolved at deploy time (infra/); the placeholder
# only lets the app import where no stream exists (tests, devstack's event runner).
TABLE_STREAM_ARN = os.environ.get(
    "CAREWIRE_TABLE_STREAM_ARN", "arn:aws:dynamodb:us-east-1:000000000000:table/carewire/stream/local"
)


@app.on_dynamodb_record(stream_arn=TABLE_STREAM_ARN, batch_size=100, starting_position="TRIM_HORIZON")
def on_table_change(event: Any) -> dict[str, Any]:
    from chalicelib.bootstrap import container
    from chalicelib.observability import job_metrics

    with job_metrics():
        result: dict[str, Any] = container().changes.handle_batch(event.to_dict())
    return result


@app.on_sqs_message(queue=os.environ.get("CAREWIRE_OUTBOUND_QUEUE", "outbound"), batch_size=10)
def deliver_messages(event: Any) -> dict[str, Any]:
    from chalicelib.bootstrap import container
    from chalicelib.jobs.outbound import deliver_batch
    from chalicelib.observability import job_metrics

    with job_metrics():
        return deliver_batch(container().messaging, event.to_dict())


@app.on_sqs_message(queue=os.environ.get("CAREWIRE_DUE_WORK_QUEUE", "due-work"), batch_size=10)
def run_due_work(event: Any) -> dict[str, Any]:
    from chalicelib.bootstrap import container
    from chalicelib.jobs.due import run_batch
    from chalicelib.observability import job_metrics

    with job_metrics():
        return run_batch(container().scheduler, event.to_dict())


@app.on_sns_message(topic=os.environ.get("CAREWIRE_INBOUND_SMS_TOPIC", "inbound-sms"))
def receive_sms(event: Any) -> None:
    from chalicelib.bootstrap import container
    from chalicelib.jobs.inbound import handle_inbound
    from chalicelib.observability import job_metrics

    c = container()
    with job_metrics():
        handle_inbound(c.inbound, event.message, c.clock())


@app.on_sns_message(topic=os.environ.get("CAREWIRE_DELIVERY_EVENTS_TOPIC", "delivery-events"))
def delivery_events(event: Any) -> None:
    """What became of a sent message: SES events (the configuration set's destination) and push failures."""
    from chalicelib.bootstrap import container
    from chalicelib.jobs.delivery import handle_notification
    from chalicelib.observability import job_metrics

    with job_metrics():
        handle_notification(container().delivery, event.message)


@app.lambda_function(name="sms_delivery_logs")
def sms_delivery_logs(event: dict[str, Any], context: Any) -> None:
    """SNS's SMS delivery status logs, through a CloudWatch Logs subscription filter (docs/design.md)."""
    from chalicelib.bootstrap import container
    from chalicelib.jobs.delivery import handle_log_event
    from chalicelib.observability import job_metrics

    with job_metrics():
        handle_log_event(container().delivery, event)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def tick(event: Any) -> None:
    from chalicelib.bootstrap import container
    from chalicelib.domain.timeutil import parse_iso
    from chalicelib.observability import job_metrics

    # The event's own time, not the clock: a late or replayed tick acts as of its minute.
    with job_metrics():
        container().scheduler.tick(parse_iso(event.time))
