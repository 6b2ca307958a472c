"""The authorization matrix: every patient-scoped route x every kind of caller => the expected status.

Callers: the patient, another patient, a care-team clinician, another
clinician, an admin, and four that never get in (no token, expired, bad
signature, another issuer).  Out of scope is 404, exactly like a missing
patient; in scope but the wrong role is 403.  Every refusal is problem+json
and carries nothing about the patient.  Cursors issued for one patient are
400 on another.
"""

from __future__ import annotations

import random
import string
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body

OWNER, STRANGER, CARE, OTHER_DOC, ADMIN = "patient", "other_patient", "care_team", "other_clinician", "admin"
LOCKED_OUT = ("no_token", "expired", "bad_signature", "other_issuer")
SECRET_NAME, SECRET_PHONE = "Zephyrine", "+15550009911"


def _ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def _reading() -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 118,
        "unit": "mg/dL",
        "measured_at": _ago(minutes=2),
    }


Body = Callable[[], Any]
# route -> (method, path, body factory, {caller: status}); the path's {pid} is the patient under test.
S = {OWNER: 200, STRANGER: 404, CARE: 200, OTHER_DOC: 404, ADMIN: 200}
ROUTES: dict[str, tuple[str, str, Body | None, dict[str, int]]] = {
    "get patient": ("GET", "/patients/{pid}", None, S),
    "patch patient": ("PATCH", "/patients/{pid}", lambda: {"language": "en"}, S),
    # Only the patient verifies their own contact change; with nothing pending that is a 409.
    "verify contact": (
        "POST",
        "/patients/{pid}/contact-verification",
        lambda: {"channel": "sms", "code": "123456"},
        {OWNER: 409, STRANGER: 404, CARE: 403, OTHER_DOC: 404, ADMIN: 403},
    ),
    "get targets": ("GET", "/patients/{pid}/targets", None, S),
    "put targets": (
        "PUT",
        "/patients/{pid}/targets",
        lambda: {"glucose_profile": "standard"},
        {**S, OWNER: 403},
    ),
    "put consent": (
        "PUT",
        "/patients/{pid}/consents/email",
        lambda: {"granted": True, "source": "verbal"},
        {**S, OWNER: 422},  # a patient's consent source is app (F17)
    ),
    "list consents": ("GET", "/patients/{pid}/consents", None, S),
    "post reading": ("POST", "/patients/{pid}/readings", _reading, {**S, OWNER: 201, CARE: 201, ADMIN: 201}),
    "post batch": ("POST", "/patients/{pid}/readings/batch", lambda: {"readings": [_reading()]}, S),
    "list readings": ("GET", "/patients/{pid}/readings", None, S),
    "export": ("GET", "/patients/{pid}/export", None, S),
    "send message": (
        "POST",
        "/patients/{pid}/messages",
        lambda: {"text": "Please call us."},
        {OWNER: 403, STRANGER: 404, CARE: 202, OTHER_DOC: 404, ADMIN: 202},
    ),
    "list messages": ("GET", "/patients/{pid}/messages", None, S),
    "create reminder": (
        "POST",
        "/patients/{pid}/reminders",
        lambda: {"kind": "measure_glucose", "times": ["08:00"]},
        {**S, OWNER: 201, CARE: 201, ADMIN: 201},
    ),
    "list reminders": ("GET", "/patients/{pid}/reminders", None, S),
    "adherence": ("GET", "/patients/{pid}/adherence?days=7", None, S),
    "book appointment": (
        "POST",
        "/patients/{pid}/appointments",
        lambda: {"starts_at": (datetime.now(UTC) + timedelta(days=3)).isoformat(), "kind": "in_person"},
        {OWNER: 403, STRANGER: 404, CARE: 201, OTHER_DOC: 404, ADMIN: 201},
    ),
    "list appointments": ("GET", "/patients/{pid}/appointments", None, S),
    "timeline": ("GET", "/patients/{pid}/timeline", None, S),
    "add note": (
        "POST",
        "/patients/{pid}/notes",
        lambda: {"text": "Reviewed the week."},
        {OWNER: 403, STRANGER: 403, CARE: 201, OTHER_DOC: 404, ADMIN: 201},
    ),
    "trends": ("GET", "/patients/{pid}/trends?type=blood_glucose&days=7", None, S),
    "chart": ("GET", "/patients/{pid}/trends/chart.svg?type=blood_pressure&days=7", None, S),
    "care time": (
        "POST",
        "/patients/{pid}/care-time",
        lambda: {
            "minutes": 5,
            "interactive": True,
            "activity": "call_" + "".join(random.choices(string.ascii_lowercase, k=8)),
            "at": _ago(minutes=5),
        },
        {OWNER: 403, STRANGER: 403, CARE: 201, OTHER_DOC: 404, ADMIN: 201},
    ),
    "alerts of the patient": (
        "GET",
        "/alerts?patient_id={pid}",
        None,
        {OWNER: 403, STRANGER: 403, CARE: 200, OTHER_DOC: 404, ADMIN: 200},
    ),
    "audit of the patient": (
        "GET",
        "/audit?patient_id={pid}",
        None,
        {OWNER: 403, STRANGER: 403, CARE: 403, OTHER_DOC: 403, ADMIN: 200},
    ),
}


@pytest.fixture(scope="module")
def tokens(api: Api, clinic: dict[str, Any]) -> dict[str, Any]:
    """A patient on c-1's panel and a token (or way of failing) for every kind of caller."""
    from chalicelib import bootstrap
    from devstack.identity import CognitoLocalIssuer

    pid = f"p-az-{uuid.uuid4().hex[:6]}"
    enrolled = patient_body(pid, given_name=SECRET_NAME, phone=SECRET_PHONE, email="zephyrine@example.org")
    assert api.call("POST", "/patients", enrolled, as_=clinic["c1"]).status_code == 201
    stranger = f"p-az-{uuid.uuid4().hex[:6]}"
    assert api.call("POST", "/patients", patient_body(stranger, phone=None), as_=clinic["c2"]).status_code == 201

    cognito = bootstrap.container().client("cognito-idp")
    pool = cognito.create_user_pool(PoolName=f"foreign-{pid}")["UserPool"]["Id"]
    for group in ("admins", "patients"):
        cognito.create_group(GroupName=group, UserPoolId=pool)
    foreign_client = cognito.create_user_pool_client(UserPoolId=pool, ClientName="x")["UserPoolClient"]["ClientId"]
    owner = api.token("patient", pid)
    head, payload, signature = owner.split(".")
    flipped = ("A" if signature[7] != "A" else "B").join((signature[:7], signature[8:]))
    return {
        "pid": pid,
        "stranger": stranger,
        OWNER: owner,
        STRANGER: api.token("patient", stranger),
        CARE: api.token("clinician", "c-1"),
        OTHER_DOC: api.token("clinician", "c-2"),
        ADMIN: api.token("admin", "a-1"),
        "no_token": None,
        "expired": owner,  # verified by a verifier whose clock is two hours on (see _call)
        "bad_signature": f"{head}.{payload}.{flipped}",
        "other_issuer": CognitoLocalIssuer(cognito, pool, foreign_client).token("admin", "intruder"),
    }


def _call(api: Api, tokens: dict[str, Any], caller: str, method: str, path: str, make: Body | None) -> Any:
    from chalicelib import bootstrap
    from chalicelib.adapters.tokens import CognitoTokenVerifier

    payload = make() if make else None
    headers = {} if tokens[caller] is None else {"Authorization": f"Bearer {tokens[caller]}"}
    if caller != "expired":
        return api.call(method, path, payload, headers=headers)
    c = bootstrap.container()
    original = c.token_verifier
    s = c.settings
    c.token_verifier = CognitoTokenVerifier(
        s.issuer, s.resolved_jwks_url, s.app_client_ids, clock=lambda: time.time() + 7200
    )
    try:
        return api.call(method, path, payload, headers=headers)
    finally:
        c.token_verifier = original


def _no_leak(response: Any) -> None:
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    assert response.headers["Content-Type"] == "application/problem+json", text
    assert SECRET_NAME not in text and SECRET_PHONE not in text and "zephyrine" not in text.lower()
    assert "Traceback" not in text


@pytest.mark.parametrize("route", list(ROUTES))
def test_every_caller_gets_the_expected_status(api: Api, tokens: dict[str, Any], route: str) -> None:
    method, template, make, expected = ROUTES[route]
    path = template.format(pid=tokens["pid"])
    seen = {}
    for caller in (*expected, *LOCKED_OUT):
        response = _call(api, tokens, caller, method, path, make)
        seen[caller] = response.status_code
        if response.status_code >= 400:
            _no_leak(response)
    assert seen == {**expected, **dict.fromkeys(LOCKED_OUT, 401)}


def test_a_missing_patient_answers_like_one_out_of_scope(api: Api, tokens: dict[str, Any]) -> None:
    for method, template, make, expected in ROUTES.values():
        if expected[ADMIN] >= 400 or "{pid}" not in template or "?patient_id" in template:
            continue
        missing = _call(api, tokens, ADMIN, method, template.format(pid="p-nobody-here"), make)
        out_of_scope = _call(api, tokens, OTHER_DOC, method, template.format(pid=tokens["pid"]), make)
        assert (missing.status_code, out_of_scope.status_code) == (404, 404), template
        assert body(missing)["detail"] == body(out_of_scope)["detail"]


@pytest.mark.parametrize("route", ["list readings", "timeline"])
def test_a_cursor_from_one_patient_is_400_on_another(api: Api, tokens: dict[str, Any], route: str) -> None:
    method, template, _, _ = ROUTES[route]
    mine = template.format(pid=tokens["pid"])
    for _ in range(3):  # enough history for a second page
        api.call(
            "POST",
            f"/patients/{tokens['pid']}/readings",
            _reading(),
            headers={"Authorization": f"Bearer {tokens[OWNER]}"},
        )
        api.call(
            "POST",
            f"/patients/{tokens['pid']}/notes",
            {"text": "x"},
            headers={"Authorization": f"Bearer {tokens[CARE]}"},
        )
    first = _call(api, tokens, ADMIN, method, f"{mine}?limit=1", None)
    assert first.status_code == 200
    cursor = body(first)["next_cursor"]
    assert cursor
    theirs = template.format(pid=tokens["stranger"])
    replayed = _call(api, tokens, ADMIN, method, f"{theirs}?limit=1&cursor={cursor}", None)
    assert replayed.status_code == 400
    assert body(replayed)["errors"][0]["field"] == "cursor"
