"""Every route but /health and /openapi.json needs a valid Cognito access token."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.conftest import Api, body


def _tamper(token: str) -> str:
    head, payload, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B").join((signature[:5], signature[6:]))
    return f"{head}.{payload}.{flipped}"


def test_health_needs_no_token(api: Api) -> None:
    response = api.call("GET", "/health")

    assert response.status_code == 200
    assert body(response)["status"] == "ok"


def test_missing_token_is_401_problem(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("GET", "/patients/p-1")

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert body(response)["status"] == 401


def test_tampered_signature_is_401(api: Api, clinic: dict[str, Any]) -> None:
    token = _tamper(api.token("patient", "p-1"))

    response = api.call("GET", "/patients/p-1", token=token)

    assert response.status_code == 401


def test_payload_swapped_under_a_valid_signature_is_401(api: Api, clinic: dict[str, Any]) -> None:
    mine = api.token("patient", "p-1").split(".")
    admins = api.token("admin", "a-1").split(".")

    response = api.call("GET", "/patients/p-1", token=f"{mine[0]}.{admins[1]}.{mine[2]}")

    assert response.status_code == 401


def test_expired_token_is_401(app: Any, api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters.tokens import CognitoTokenVerifier

    c = bootstrap.container()
    original = c.token_verifier
    token = api.token("patient", "p-1")
    c.token_verifier = CognitoTokenVerifier(
        c.settings.issuer, c.settings.resolved_jwks_url, c.settings.app_client_ids, clock=lambda: time.time() + 7200
    )
    try:
        response = api.call("GET", "/patients/p-1", token=token)
    finally:
        c.token_verifier = original

    assert response.status_code == 401
    assert "expired" in body(response)["detail"]


def test_unreachable_signing_keys_are_a_503_to_retry_not_a_401(app: Any, api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters.tokens import CognitoTokenVerifier

    c = bootstrap.container()
    original = c.token_verifier
    token = api.token("patient", "p-1")
    # A fresh container (cold start) whose JWKS URL cannot be reached: no keys cached to fall back on.
    c.token_verifier = CognitoTokenVerifier(
        c.settings.issuer, "http://127.0.0.1:9/jwks.json", c.settings.app_client_ids
    )
    try:
        response = api.call("GET", "/patients/p-1", token=token)
    finally:
        c.token_verifier = original

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"


def test_token_from_another_issuer_is_401(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from devstack.identity import CognitoLocalIssuer

    cognito = bootstrap.container().client("cognito-idp")
    other_pool = cognito.create_user_pool(PoolName="someone-else")["UserPool"]["Id"]
    cognito.create_group(GroupName="admins", UserPoolId=other_pool)
    client_id = cognito.create_user_pool_client(UserPoolId=other_pool, ClientName="x")["UserPoolClient"]["ClientId"]
    foreign = CognitoLocalIssuer(cognito, other_pool, client_id).token("admin", "intruder")

    response = api.call("GET", "/patients/p-1", token=foreign)

    assert response.status_code == 401
    assert "issuer" in body(response)["detail"]


def test_id_token_is_not_an_access_token(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    cognito = c.client("cognito-idp")
    cognito.admin_set_user_password(
        UserPoolId=c.settings.user_pool_id, Username="p-1", Password="Cw1!known-password", Permanent=True
    )
    result = cognito.admin_initiate_auth(
        UserPoolId=c.settings.user_pool_id,
        ClientId=c.settings.app_client_ids[0],
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": "p-1", "PASSWORD": "Cw1!known-password"},
    )

    response = api.call("GET", "/patients/p-1", token=result["AuthenticationResult"]["IdToken"])

    assert response.status_code == 401


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"])
def test_malformed_authorization_headers_are_401(api: Api, clinic: dict[str, Any], header: str) -> None:
    response = api.call("GET", "/patients/p-1", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_patient_token_on_another_patients_record_is_404(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("GET", "/patients/p-1", as_=("patient", "p-other"))

    assert response.status_code == 404


def test_patient_cannot_create_patients(api: Api, clinic: dict[str, Any]) -> None:
    from tests.integration.conftest import patient_body

    response = api.call("POST", "/patients", patient_body("p-new"), as_=clinic["p1"])

    assert response.status_code == 403


def test_local_routes_are_absent_in_deployed_stages(api: Api) -> None:
    response = api.call("POST", "/_local/token", {"role": "admin", "subject": "a-1"})

    assert response.status_code in (403, 404)
