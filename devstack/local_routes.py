"""The local stage's own routes, ``/_local/*``: tokens, draining, ticks, fake inbound SMS and the outbox.

Developer tooling, never in the Lambda package (``tests/infra/test_package.py``):
``devstack.serve`` adds them to the app with :func:`register`, which also
installs the stage's container on a :class:`~devstack.clock.TravelClock` and
builds the stage's event runner.  ``app.py`` knows nothing of them; every
deployed stage answers 404 for ``/_local/*``.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from chalice import Blueprint, Chalice, Response
from chalice.app import Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from chalicelib import bootstrap
from chalicelib.api import problems
from chalicelib.domain.patients import ID_PATTERN
from chalicelib.settings import Settings
from devstack.clock import TravelClock
from devstack.runner import LocalEventRunner

bp = Blueprint(__name__)
_runner: LocalEventRunner | None = None
ModelT = TypeVar("ModelT", bound=BaseModel)
View = Callable[[Request], Any]


def register(app: Chalice, data_dir: Path | None = None) -> LocalEventRunner:
    """Make ``app`` the local stage; returns its event runner, not yet started (``LocalEventRunner.start``).

    One clock for the stage: the container installed here runs on a TravelClock,
    which ``/_local/tick`` (through the runner) moves forward.  ``data_dir`` keeps
    the runner's stream checkpoints across restarts; None reads each stream from
    its start.  Refuses inside AWS Lambda (F19): the routes mint tokens, travel
    the clock and fake inbound SMS.
    """
    global _runner
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise RuntimeError("CAREWIRE_STAGE=local inside AWS Lambda: the local-only routes are never deployed.")
    stage = bootstrap.Container(Settings.from_env(), TravelClock())
    bootstrap.use(stage)
    app.register_blueprint(bp)
    _runner = LocalEventRunner(
        app,
        stage.client("dynamodb"),
        stage.client("dynamodbstreams"),
        stage.client("sqs"),
        stage.settings.table_name,
        checkpoint_file=data_dir / "stream-checkpoints.json" if data_dir else None,
        region=stage.settings.region,
        clock=stage.clock,
        tick_queues=(stage.settings.due_work_queue,),
    )
    return _runner


def runner() -> LocalEventRunner:
    if _runner is None:
        raise RuntimeError("the local routes answer only on an app given to devstack.local_routes.register")
    return _runner


def local_route(path: str, methods: list[str]) -> Callable[[View], View]:
    """A route of the local stage: public, and outside the API's contract (``chalicelib.api.http.endpoint``).

    The view gets the request and returns JSON-ready data; a body its model
    refuses is a 422 problem, any other error Chalice's 500 (the middleware
    answers it as a problem, and the server log keeps the traceback).
    """

    def register(view: View) -> View:
        def handle() -> Response:
            try:
                return Response(view(bp.current_request), status_code=200)
            except ValidationError as error:
                return problems.from_validation(error)

        handle.__name__ = view.__name__
        bp.route(path, methods=methods)(handle)
        return view

    return register


def parse(request: Request, model: type[ModelT]) -> ModelT:
    return model.model_validate_json(request.raw_body or b"{}")


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


@local_route("/_local/token", methods=["POST"])
def local_token(http: Request) -> Any:
    from devstack.identity import CognitoLocalIssuer

    request = parse(http, TokenRequest)
    c = bootstrap.container()
    issuer = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)
    return {"token": issuer.token(request.role, request.subject)}


@bp.route("/_local/console-login", methods=["GET"])
def local_console_login() -> Response:
    """A console session for ``role`` / ``subject`` without the sign-in form (tests), then off to ``/console/``."""
    from chalicelib.console.web import SECURITY_HEADERS, session_cookie
    from chalicelib.services.console_sessions import Tokens
    from devstack.identity import CognitoLocalIssuer

    query = dict(bp.current_request.query_params or {})
    try:
        request = TokenRequest.model_validate(
            {"role": query.get("role", "clinician"), "subject": query.get("subject", "")}
        )
    except ValidationError as error:
        return problems.from_validation(error)
    c = bootstrap.container()
    result = CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings).sign_in(request.role, request.subject)
    cookie, _ = c.console_sessions.start(request.subject, Tokens(result["AccessToken"], result.get("RefreshToken")))
    headers = {**SECURITY_HEADERS, "Location": "/console/", "Set-Cookie": session_cookie(cookie)}
    return Response("", status_code=303, headers=headers)


@local_route("/_local/drain", methods=["POST"])
def local_drain(http: Request) -> Any:
    from chalicelib.domain.timeutil import iso

    # "now" is the stage's clock, which /_local/tick may have moved forward.
    return {"processed": runner().drain(), "now": iso(bootstrap.container().clock())}


@local_route("/_local/tick", methods=["POST"])
def local_tick(http: Request) -> Any:
    now: datetime = parse(http, TickRequest).now
    # The runner moves the stage clock to ``now`` (never back) and runs the jobs as of ``now``.
    return {"processed": runner().tick(now)}


@local_route("/_local/inbound-sms", methods=["POST"])
def local_inbound_sms(http: Request) -> Any:
    import uuid

    request = parse(http, InboundSmsRequest)
    message = {
        "originationNumber": request.sender,
        "destinationNumber": "+15550000000",
        "messageKeyword": request.body.split(" ")[0].upper() if request.body else "",
        "messageBody": request.body,
        "inboundMessageId": str(uuid.uuid4()),
        "previousPublishedMessageId": None,
    }
    c = bootstrap.container()
    return {"processed": runner().publish(c.settings.inbound_sms_topic, json.dumps(message))}


@local_route("/_local/outbox", methods=["GET"])
def local_outbox(http: Request) -> Any:
    """What reached the emulated SNS (SMS, push) and SES, newest last."""
    return [
        {k: v for k, v in e.items() if k != "endpoint"}
        for e in outbox_entries(_emulated(), (http.query_params or {}).get("to"))
    ]


class DeliveryEventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Literal["email", "sms", "push"]
    to: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    outcome: Literal["delivered", "bounce", "complaint", "failed"]


@bp.route("/_local/delivery-event", methods=["POST"])
def local_delivery_event() -> Response:
    """The provider's event for the latest message to ``to`` on ``channel``, through the app's own handler."""
    from chalicelib.domain.timeutil import iso
    from chalicelib.jobs.delivery import handle_log_event, log_event
    from devstack import delivery_events as make

    try:
        request = parse(bp.current_request, DeliveryEventRequest)
    except ValidationError as error:
        return problems.from_validation(error)
    unsupported = {("sms", "complaint"), ("push", "delivered"), ("push", "complaint")}
    if (request.channel, request.outcome) in unsupported:
        detail = f"{request.channel} has no '{request.outcome}' event (push reports failures only; a text no complaint)"
        errors = [{"field": "outcome", "message": detail}]
        return problems.problem(422, "invalid-content", "Invalid request", detail, errors)
    sent = [e for e in outbox_entries(_emulated(), request.to) if e["channel"] == request.channel]
    if not sent:
        detail = f"No {request.channel} message was sent to that recipient."
        return problems.problem(404, "not-found", "Not found", detail)
    latest = sent[-1]
    c = bootstrap.container()
    at = iso(c.clock())
    if request.channel == "sms":
        record = make.sms_log_record(latest["message_id"], request.to, request.outcome, at)
        results = handle_log_event(c.delivery, log_event([record], "sns/local/DirectPublishToPhoneNumber"))
        processed = len(results) + runner().drain()
    else:
        if request.channel == "email":
            notification = make.ses_event(latest["message_id"], request.to, request.outcome, at)
        elif latest.get("endpoint"):
            notification = make.push_failure(latest["message_id"], latest["endpoint"], at)
        else:
            return problems.problem(404, "not-found", "Not found", "The emulator kept no endpoint for that device.")
        processed = runner().publish(c.settings.delivery_events_topic, json.dumps(notification))
    return Response({"message_id": latest["message_id"], "processed": processed}, status_code=200)


def _emulated() -> dict[str, Any]:
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    with urllib.request.urlopen(f"{endpoint_url}/moto-api/data.json", timeout=10) as response:  # nosec B310
        data: dict[str, Any] = json.loads(response.read())
    return data


def outbox_entries(data: dict[str, Any], to: str | None) -> list[dict[str, Any]]:
    """moto keeps SMS, push and email in send order but without times; ``at`` is therefore null."""
    entries: list[dict[str, Any]] = []
    sns = data.get("sns", {})
    for sms in sns.get("SMS", []):
        entries.append(
            {
                "channel": "sms",
                "to": sms["phone_number"],
                "subject": None,
                "body": sms["message"],
                "at": None,
                "message_id": sms.get("message_id"),
            }
        )
    for platform_endpoint in sns.get("PlatformEndpoint", []):
        recipient = platform_endpoint.get("custom_user_data") or platform_endpoint.get("token")
        for message_id, raw in (platform_endpoint.get("messages") or {}).items():
            body = json.loads(raw).get("default", raw) if raw.startswith("{") else raw
            entries.append(
                {
                    "channel": "push",
                    "to": recipient,
                    "subject": None,
                    "body": body,
                    "at": None,
                    "message_id": message_id,
                    "endpoint": platform_endpoint.get("arn"),
                }
            )
    for message in data.get("ses", {}).get("Message", []):
        for address in message.get("destinations", {}).get("ToAddresses", []):
            entries.append(
                {
                    "channel": "email",
                    "to": address,
                    "subject": message.get("subject"),
                    "body": message.get("body"),
                    "at": None,
                    "message_id": message.get("id"),
                }
            )
    return [e for e in entries if to is None or e["to"] == to]
