"""Integration tier: the app in-process (chalice.test.Client) against the emulators as real servers.

DynamoDB Local (DynamoDB and its stream) and moto server (SNS, SES, SQS,
Cognito) run as child processes on free ports, started by the same
``devstack.Stack`` that ``make run`` uses (without serving the API), so boto3
reaches them through the standard endpoint settings and the JWKS is fetched
over HTTP, exactly as the deployed app reaches AWS.  Tokens are minted by
moto's Cognito.  Keeping the emulators out of the pytest process keeps its
memory flat (moto's DynamoDB in-process grew it to 5.5 GB over a run) and
DynamoDB Local's Query reads one partition, not the whole table, so the tier
does not slow down as the session's data grows.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import Stack, free_port


@pytest.fixture(scope="session")
def emulators() -> Iterator[Stack]:
    stack = Stack(
        api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None, serve_api=False
    ).start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def moto_url(emulators: Stack) -> str:
    return emulators.moto_url


@pytest.fixture(scope="session")
def environment(emulators: Stack) -> dict[str, str]:
    keep = ("AWS_", "CAREWIRE_")
    env = {k: v for k, v in emulators.env.items() if k.startswith(keep)}
    env.update(
        {
            # A deployed stage's app, as packaged: no local-only routes (devstack adds those), the real clock.
            "CAREWIRE_STAGE": "dev",
            "CAREWIRE_CURSOR_SECRET": secrets.token_hex(32),
            "POWERTOOLS_METRICS_DISABLED": "true",
            # Judge every reading against the freshest targets (the cache is measured in bench/).
            "CAREWIRE_PATIENT_CACHE_SECONDS": "0",
        }
    )
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def app(environment: dict[str, str]) -> Any:
    from chalicelib import bootstrap

    bootstrap.use(None)
    import app as app_module

    return app_module.app


@pytest.fixture(scope="session")
def stream_runner(app: Any) -> Any:
    """One consumer of the table stream and the queues for the session, as Lambda's event sources are.

    It keeps its position, so each test processes only what it wrote; a test
    about redelivery makes a second consumer that starts from the beginning.
    """
    from chalicelib import bootstrap
    from devstack.runner import LocalEventRunner

    c = bootstrap.container()
    return LocalEventRunner(
        app, c.client("dynamodb"), c.client("dynamodbstreams"), c.client("sqs"), c.settings.table_name
    )


@pytest.fixture(scope="session")
def issuer(app: Any) -> Any:
    from chalicelib import bootstrap
    from devstack.identity import CognitoLocalIssuer

    c = bootstrap.container()
    return CognitoLocalIssuer.for_settings(c.client("cognito-idp"), c.settings)


class Api:
    """chalice.test.Client with tokens and JSON handled."""

    def __init__(self, client: Any, issuer: Any) -> None:
        self.client = client
        self.issuer = issuer
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, role: str, subject: str) -> str:
        key = (role, subject)
        if key not in self._tokens:
            self._tokens[key] = self.issuer.token(role, subject)
        return self._tokens[key]

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        as_: tuple[str, str] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Any:
        sent = dict(headers or {})
        if as_ is not None:
            token = self.token(*as_)
        if token is not None:
            sent.setdefault("Authorization", f"Bearer {token}")
        if body is not None or raw is not None:
            sent.setdefault("Content-Type", "application/json")
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return self.client.http.request(method, path, headers=sent, body=payload)


def body(response: Any) -> Any:
    return json.loads(response.body)


@pytest.fixture(scope="session")
def api(app: Any, issuer: Any) -> Iterator[Api]:
    from chalice.test import Client

    with Client(app) as client:
        yield Api(client, issuer)


@pytest.fixture(scope="session")
def clinic(api: Api) -> dict[str, Any]:
    """Two clinicians, an admin, and a patient on c-1's panel."""
    admin = ("admin", "a-1")
    for cid in ("c-1", "c-2", "c-9"):
        response = api.call(
            "PUT",
            f"/clinicians/{cid}",
            {"given_name": "Rui", "phone": "+15551239001", "email": f"{cid}@clinic.example", "escalation_contacts": []},
            as_=admin,
        )
        assert response.status_code == 200, response.body
    response = api.call("POST", "/patients", patient_body("p-1"), as_=("clinician", "c-1"))
    assert response.status_code == 201, response.body
    return {"admin": admin, "c1": ("clinician", "c-1"), "c2": ("clinician", "c-2"), "p1": ("patient", "p-1")}


def patient_body(pid: str | None = None, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": "+15551230001",
        "email": "ana@example.org",
        "timezone": "America/Sao_Paulo",
        "language": "pt-BR",
        "conditions": ["diabetes", "hypertension"],
        "glucose_profile": "standard",
        "care_team": [],
        "channels": ["push", "sms", "email"],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
    }
    if pid:
        data["patient_id"] = pid
    data.update(overrides)
    return data


def enrol_for_rpm(api: Api, patient_id: str, as_: tuple[str, str], meters: dict[str, str], since: str) -> None:
    """What a clinic does before a patient's readings bill: register their meters, record RPM consent and
    (for history seeded from before the record was made) the day monitoring began (docs/api.md "Program lifecycle")."""
    for serial, kind in meters.items():
        registered = api.call(
            "POST",
            f"/patients/{patient_id}/devices/meters",
            {"serial": serial, "kind": kind, "assigned_on": since},
            as_=as_,
        )
        assert registered.status_code in (200, 201), registered.body
    (episode,) = body(api.call("GET", f"/patients/{patient_id}/episodes", as_=as_))["items"]
    consent = {"at": f"{since}T09:00:00Z", "method": "written", "recorded_by": as_[1]}
    patched = api.call(
        "PATCH",
        f"/patients/{patient_id}/episodes/{episode['episode_id']}",
        {"rpm_consent": consent, "starts_on": since},
        as_=as_,
    )
    assert patched.status_code == 200, patched.body
