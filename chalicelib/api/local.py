"""Local stage only: tokens, draining and the outbox (absent in every deployed stage)."""

from __future__ import annotations

import json
import os
import urllib.request
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from chalice import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from chalicelib.api.http import Call, endpoint
from chalicelib.bootstrap import container
from chalicelib.domain.patients import ID_PATTERN

bp = Blueprint(__name__)


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["patient", "clinician", "admin"]
    subject: Annotated[str, StringConstraints(pattern=ID_PATTERN)]


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
    )


@endpoint(bp, "/_local/token", methods=["POST"], public=True)
def local_token(call: Call) -> Any:
    from chalicelib.adapters.local_identity import CognitoLocalIssuer

    request = call.body(TokenRequest)
    c = container()
    issuer = CognitoLocalIssuer(c.client("cognito-idp"), c.settings.user_pool_id, c.settings.app_client_ids[0])
    return {"token": issuer.token(request.role, request.subject)}


@endpoint(bp, "/_local/drain", methods=["POST"], public=True)
def local_drain(call: Call) -> Any:
    return {"processed": runner().drain()}


@endpoint(bp, "/_local/tick", methods=["POST"], public=True)
def local_tick(call: Call) -> Any:
    now: datetime = call.body(TickRequest).now
    return {"processed": runner().tick(now)}


@endpoint(bp, "/_local/outbox", methods=["GET"], public=True)
def local_outbox(call: Call) -> Any:
    """What reached the emulated SNS (SMS, push) and SES, newest last."""
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    with urllib.request.urlopen(f"{endpoint_url}/moto-api/data.json", timeout=10) as response:  # noqa: S310
        data = json.loads(response.read())
    return outbox_entries(data, call.query.get("to"))


def outbox_entries(data: dict[str, Any], to: str | None) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for backend in data.get("sns", {}).get("SNSBackend", []):
        for number, message, *_ in backend.get("sms_messages", {}).values():
            entries.append({"channel": "sms", "to": number, "subject": None, "body": message, "at": None})
    for backend in data.get("sesv2", {}).get("SESV2Backend", []) + data.get("ses", {}).get("SESBackend", []):
        for message in backend.get("sent_messages", []):
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

    from chalicelib.bootstrap import utc_now

    def begin() -> None:
        runner().start(poll_seconds=0.5, clock=utc_now)

    # Deferred: app.py is still importing when this is called.
    threading.Timer(1.0, begin).start()
