"""Local stage only: tokens, draining and the outbox (absent in every deployed stage)."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.api.http import Call, endpoint
from chalicelib.bootstrap import container
from chalicelib.domain.patients import ID_PATTERN

bp = Blueprint(__name__)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["patient", "clinician", "admin"]
    subject: Annotated[str, StringConstraints(pattern=ID_PATTERN)]


class InboundSmsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    sender: Annotated[str, StringConstraints(min_length=2, max_length=20)] = Field(alias="from")
    body: Annotated[str, StringConstraints(max_length=1600)]


class TickRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    now: AwareDatetime


@lru_cache(maxsize=1)
def runner() -> Any:
    from pathlib import Path

    import app as app_module
    from chalicelib.jobs.local_runner import LocalEventRunner

    c = container()
    data_dir = os.environ.get("CAREWIRE_LOCAL_DATA_DIR")
    return LocalEventRunner(
        app_module.app,
        c.client("dynamodb"),
        c.client("dynamodbstreams"),
        c.client("sqs"),
        c.settings.table_name,
        checkpoint_file=Path(data_dir) / "stream-checkpoints.json" if data_dir else None,
        region=c.settings.region,
        # One clock for the stage: ticks move it, the background loop ticks its minutes.
        clock=c.clock,
        tick_queues=(c.settings.due_work_queue,),
    )


@endpoint(bp, "/_local/token", methods=["POST"], public=True)
def local_token(call: Call) -> Any:
    from chalicelib.adapters.local_identity import CognitoLocalIssuer

    request = call.body(TokenRequest)
    c = container()
    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    return {"token": issuer.token(request.role, request.subject)}


@endpoint(bp, "/_local/drain", methods=["POST"], public=True)
def local_drain(call: Call) -> Any:
    from chalicelib.domain.timeutil import iso

    # "now" is the stage's clock, which /_local/tick may have moved forward.
    return {"processed": runner().drain(), "now": iso(container().clock())}


@endpoint(bp, "/_local/tick", methods=["POST"], public=True)
def local_tick(call: Call) -> Any:
    now: datetime = call.body(TickRequest).now
    # The runner moves the stage clock to ``now`` (never back) and runs the jobs as of ``now``.
    return {"processed": runner().tick(now)}


@endpoint(bp, "/_local/inbound-sms", methods=["POST"], public=True)
def local_inbound_sms(call: Call) -> Any:
    import uuid

    request = call.body(InboundSmsRequest)
    message = {
        "originationNumber": request.sender,
        "destinationNumber": "+15550000000",
        "messageKeyword": request.body.split(" ")[0].upper() if request.body else "",
        "messageBody": request.body,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": None,
    }
    c = container()
    return {"processed": runner().publish(c.settings.inbound_sms_topic, json.dumps(message))}


@endpoint(bp, "/_local/outbox", methods=["GET"], public=True)
def local_outbox(call: Call) -> Any:
    """What reached the emulated SNS (SMS, push) and SES, newest last."""
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    with urllib.request.urlopen(f"{endpoint_url}/moto-api/data.json", timeout=10) as response:  # noqa: S310
        data = json.loads(response.read())
    return outbox_entries(data, call.query.get("to"))


def outbox_entries(data: dict[str, Any], to: str | None) -> list[dict[str, Any]]:
    """moto keeps SMS, push and email in send order but without times; ``at`` is therefore null."""
    entries: list[dict[str, Any]] = []
    sns = data.get("sns", {})
    for sms in sns.get("SMS", []):
        entries.append(
            {"channel": "sms", "to": sms["phone_number"], "subject": None, "body": sms["message"], "at": None}
        )
    for platform_endpoint in sns.get("PlatformEndpoint", []):
        recipient = platform_endpoint.get("custom_user_data") or platform_endpoint.get("token")
        for raw in (platform_endpoint.get("messages") or {}).values():
            body = json.loads(raw).get("default", raw) if raw.startswith("{") else raw
            entries.append({"channel": "push", "to": recipient, "subject": None, "body": body, "at": None})
    for message in data.get("ses", {}).get("Message", []):
        for address in message.get("destinations", {}).get("ToAddresses", []):
            entries.append(
                {
                    "channel": "email",
                    "to": address,
                    "subject": message.get("subject"),
                    "body": message.get("body"),
                    "at": None,
                }
            )
    return [e for e in entries if to is None or e["to"] == to]


def start_background_runner() -> None:
    """Poll the stream and queues, and tick once a minute, like Lambda would."""
    import threading

    def begin() -> None:
        # Minutes of the stage's clock (the runner's), not utc_now: once /_local/tick has
        # travelled, the real clock's minutes lie in the stage's past and nothing came due by itself.
        runner().start(poll_seconds=0.5)

    # Deferred: app.py is still importing when this is called.
    threading.Timer(1.0, begin).start()
