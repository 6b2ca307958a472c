"""docs/api.md "Trust rules" over HTTP: the phone hijack of security review F2 no longer works.

Patient B types patient A's number as their own.  The number is only held as
B's ``phone_pending``, and a code goes to A's phone, which B cannot read.  Until
B sends that code back, everything texted from A's phone stays A's: readings,
free text and STOP.  B cannot guess the code either: five wrong tries use it up.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tests.e2e.conftest import Http

ADMIN = ("admin", "a-1")


def _phone() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def _enrol(http: Http, phone: str) -> str:
    pid = f"p-f2-{uuid.uuid4().hex[:8]}"
    sent = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "timezone": "America/New_York",
        "language": "en",
        "channels": ["sms"],
        "care_team": ["c-1"],
    }
    response = http.call("POST", "/patients", sent, as_=ADMIN)
    assert response.status_code == 201, response.text
    assert http.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid)).ok
    return pid


def _text(http: Http, sender: str, message: str) -> None:
    assert http.call("POST", "/_local/inbound-sms", {"from": sender, "body": message}).status_code == 200
    http.call("POST", "/_local/drain")


def _get(http: Http, path: str) -> Any:
    response = http.call("GET", path, as_=("clinician", "c-1"))
    assert response.status_code == 200, response.text
    return response.json()


def test_f2_a_patient_who_types_another_persons_number_gets_none_of_their_texts_and_cannot_verify_it(
    http: Http, clinic: dict[str, Any]
) -> None:
    victim_phone = _phone()
    victim, attacker = _enrol(http, victim_phone), _enrol(http, _phone())

    hijack = http.call("PATCH", f"/patients/{attacker}", {"phone": victim_phone}, as_=("patient", attacker))
    http.call("POST", "/_local/drain")
    codes = [m for m in http.call("GET", "/_local/outbox", params={"to": victim_phone}).json() if "code" in m["body"]]
    _text(http, victim_phone, "BP 150/95")
    _text(http, victim_phone, "my sugar was 41 and I took extra insulin")
    code = re.search(r"\b([0-9]{6})\b", codes[0]["body"]).group(1)  # type: ignore[union-attr]
    guesses = [f"{(int(code) + n) % 10**6:06d}" for n in range(1, 6)]
    tries = [
        http.call(
            "POST",
            f"/patients/{attacker}/contact-verification",
            {"channel": "sms", "code": guess},
            as_=("patient", attacker),
        )
        for guess in guesses
    ]
    lucky = http.call(
        "POST",
        f"/patients/{attacker}/contact-verification",
        {"channel": "sms", "code": code},
        as_=("patient", attacker),
    )
    _text(http, victim_phone, "STOP")

    assert hijack.status_code == 200, hijack.text
    assert hijack.json()["phone"] != victim_phone and hijack.json()["phone_pending"] == victim_phone
    assert len(codes) == 1 and "valid 10 minutes" in codes[0]["body"]  # on the victim's phone, not the attacker's
    assert [t.status_code for t in tries] == [422] * 5 and lucky.status_code == 409
    assert [r["systolic"] for r in _get(http, f"/patients/{victim}/readings")["items"]] == [150]
    assert _get(http, f"/patients/{attacker}/readings")["items"] == []
    assert any("sugar" in m["text"] for m in _get(http, f"/patients/{victim}/messages")["items"])
    assert _get(http, f"/patients/{attacker}/messages")["items"] == []
    consents = {p: {c["channel"]: c for c in _get(http, f"/patients/{p}/consents")} for p in (victim, attacker)}
    assert consents[victim]["sms"]["opted_out"] and not consents[attacker]["sms"]["opted_out"]
    assert _get(http, f"/patients/{attacker}")["phone"] != victim_phone
