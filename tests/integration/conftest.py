"""Integration tier: the app in-process (chalice.test.Client) against moto server.

moto runs as a real HTTP server on a free port, so boto3 reaches it through the
standard endpoint settings and the JWKS is fetched over HTTP, exactly as the
deployed app reaches AWS.  Tokens are minted by moto's Cognito.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.resources import create_resources
from devstack.stack import free_port


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def environment(moto_url: str) -> dict[str, str]:
    outputs = create_resources(dynamodb_url=moto_url, aws_url=moto_url)
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_url,
        "CAREWIRE_STAGE": "dev",
        "CAREWIRE_USER_POOL_ID": outputs["user_pool_id"],
        "CAREWIRE_APP_CLIENT_IDS": outputs["app_client_id"],
        "CAREWIRE_JWKS_URL": f"{moto_url}/{outputs['user_pool_id']}/.well-known/jwks.json",
        "CAREWIRE_CURSOR_SECRET": secrets.token_hex(32),
        "CAREWIRE_APNS_PLATFORM_ARN": outputs["apns_platform_arn"],
        "CAREWIRE_FCM_PLATFORM_ARN": outputs["fcm_platform_arn"],
        "POWERTOOLS_METRICS_DISABLED": "true",
        # Judge every reading against the freshest targets (the cache is measured in bench/).
        "CAREWIRE_PATIENT_CACHE_SECONDS": "0",
    }
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def app(environment: dict[str, str]) -> Any:
    from chalicelib import bootstrap

    bootstrap.use(None)
    import app as app_module

    return app_module.app


@pytest.fixture(scope="session")
def issuer(app: Any) -> Any:
    from chalicelib import bootstrap
    from chalicelib.adapters.local_identity import CognitoLocalIssuer

    c = bootstrap.container()
    return CognitoLocalIssuer(c.client("cognito-idp"), c.settings.user_pool_id, c.settings.app_client_ids[0])


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
