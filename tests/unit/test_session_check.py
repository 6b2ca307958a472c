"""Staff sessions are confirmed with Cognito at most once a minute per token (security review F15)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.adapters.tokens import CognitoSessionCheck
from chalicelib.domain.errors import AuthenticationError, ThrottledError
from chalicelib.domain.identity import Principal, Role

DOCTOR = Principal("c-1", Role.CLINICIAN)


class Cognito:
    """GetUser as Cognito answers it: fine, revoked, or not at all."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answer: Exception | None = None

    def get_user(self, token: str) -> dict[str, Any]:
        self.asked.append(token)
        if self.answer is not None:
            raise self.answer
        return {"Username": "c-1"}


def _refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "x"}}, "GetUser")


@pytest.fixture
def world() -> tuple[Cognito, list[float], CognitoSessionCheck]:
    cognito, now = Cognito(), [0.0]
    return cognito, now, CognitoSessionCheck(cognito.get_user, clock=lambda: now[0])


def test_f15_cognito_is_asked_at_most_once_a_minute_per_staff_token(world: Any) -> None:
    cognito, now, check = world

    for moment in (0, 10, 59.9):
        now[0] = moment
        check.check("t-1", DOCTOR)
    check.check("t-2", DOCTOR)
    now[0] = 60
    check.check("t-1", DOCTOR)

    assert cognito.asked == ["t-1", "t-2", "t-1"]


@pytest.mark.parametrize("code", ["NotAuthorizedException", "UserNotFoundException"])
def test_f15_a_disabled_deleted_or_signed_out_user_is_401_at_the_next_check(world: Any, code: str) -> None:
    cognito, now, check = world
    check.check("t-1", DOCTOR)
    cognito.answer = _refused(code)

    now[0] = 30
    check.check("t-1", DOCTOR)  # within the minute: the last answer stands
    now[0] = 61
    with pytest.raises(AuthenticationError):
        check.check("t-1", DOCTOR)
    now[0] = 62
    with pytest.raises(AuthenticationError):
        check.check("t-1", DOCTOR)  # remembered: not asked again within the minute
    assert len(cognito.asked) == 2


def test_f15_when_cognito_cannot_answer_the_last_good_answer_stands_five_minutes_then_503(world: Any) -> None:
    cognito, now, check = world
    check.check("t-1", DOCTOR)
    cognito.answer = EndpointConnectionError(endpoint_url="https://cognito-idp")

    now[0] = 300
    check.check("t-1", DOCTOR)
    now[0] = 361
    with pytest.raises(ThrottledError):
        check.check("t-1", DOCTOR)
    with pytest.raises(ThrottledError):
        check.check("t-never-confirmed", DOCTOR)
    cognito.answer = _refused("TooManyRequestsException")
    with pytest.raises(ThrottledError):
        check.check("t-2", DOCTOR)


def test_f15_patient_tokens_are_not_sent_to_cognito(world: Any) -> None:
    cognito, _, check = world
    cognito.answer = _refused("NotAuthorizedException")

    check.check("t-patient", Principal("p-1", Role.PATIENT))

    assert cognito.asked == []


def _signed(client_id: str) -> tuple[str, dict[str, Any]]:
    import time

    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "alg": "RS256"}
    claims = {
        "iss": "https://issuer.example/pool",
        "exp": time.time() + 600,
        "token_use": "access",
        "client_id": client_id,
        "username": "c-1",
        "cognito:groups": ["clinicians"],
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"}), {"keys": [jwk]}


@pytest.mark.parametrize(("configured", "accepted"), [([], False), (["app-1"], True), (["app-2"], False)])
def test_f15_no_configured_app_client_refuses_every_token(configured: list[str], accepted: bool) -> None:
    from chalicelib.adapters.tokens import CognitoTokenVerifier

    token, jwks = _signed("app-1")
    verifier = CognitoTokenVerifier("https://issuer.example/pool", "https://jwks", configured, fetch=lambda _: jwks)

    if accepted:
        assert verifier.verify(token).client_id == "app-1"
    else:
        with pytest.raises(AuthenticationError):
            verifier.verify(token)
