"""Contact details a patient changes, proven before use, and where a text may go (pure).

docs/api.md "Trust rules" (security review F2, F3): a phone or email a *patient*
types is held as pending and a 6-digit code is sent to it; it becomes the
patient's address only when that code comes back.  So a number typed by one
patient can neither capture another person's texts (F2) nor become a relay to
any number (F3).  A code is kept only as an HMAC-SHA256 under a random salt of
its own, bound to the patient, the channel and the address; it lives 10
minutes and allows 5 wrong tries.  Staff changes apply at once (they are made
in clinic, and audited).

SMS and voice go only to the country calling codes the clinic allows
(``CAREWIRE_SMS_COUNTRIES``, default ``+1``).  ITU calling codes form a prefix
code (no code is the start of another), so "starts with an allowed code" is the
whole test.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import StringConstraints

from chalicelib.domain.errors import FieldError, InvalidInputError
from chalicelib.domain.patients import Strict
from chalicelib.domain.timeutil import iso, parse_iso

CODE_TTL = timedelta(minutes=10)
MAX_TRIES = 5
# A PATCH repeated within this (a client retry) answers the same and sends no second code.
RESEND_AFTER = timedelta(minutes=1)
CODE_DIGITS = 6

VerifyChannel = Literal["sms", "email"]
# Which profile field each channel proves, and back.
FIELD_OF: dict[str, str] = {"sms": "phone", "email": "email"}
CHANNEL_OF: dict[str, str] = {field: channel for channel, field in FIELD_OF.items()}
# Channels that dial a number: the country allow-list applies to both.
PHONE_CHANNELS = frozenset({"sms", "voice"})

_CALLING_CODE = re.compile(r"^\+[1-9][0-9]{0,2}$")

Outcome = Literal["nothing_pending", "already_verified", "expired", "exhausted", "wrong", "right"]


class ContactVerificationIn(Strict):
    """``POST /patients/{pid}/contact-verification``: the code sent to the pending phone or email."""

    channel: VerifyChannel
    # ASCII digits only ([0-9], not \\d): a code is typed, never a Unicode numeral.
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


# -- where a text may go -----------------------------------------------------------------


def calling_codes(values: Iterable[str]) -> tuple[str, ...]:
    """Validated calling codes (``+1``, ``+351``); raises ValueError naming a bad one."""
    codes = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    bad = [c for c in codes if not _CALLING_CODE.match(c)]
    if bad or not codes:
        raise ValueError("country calling codes must look like +1 or +351")
    return codes


def allowed_destination(phone: str, codes: Iterable[str]) -> bool:
    return any(phone.startswith(code) for code in codes)


def check_phone_country(phone: str | None, codes: tuple[str, ...], field: str = "phone") -> None:
    """422 naming ``field`` and the allowed codes when ``phone`` is outside them."""
    if phone is not None and not allowed_destination(phone, codes):
        allowed = ", ".join(codes)
        raise InvalidInputError(
            f"Text messages and calls go only to numbers with the country calling codes {allowed}.",
            [FieldError(field, f"must start with an allowed country calling code ({allowed})")],
        )


# -- codes ------------------------------------------------------------------------------------


def new_code(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    return f"{randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_salt() -> str:
    return secrets.token_hex(16)


def code_digest(salt: str, patient_id: str, channel: str, address: str, code: str) -> str:
    """HMAC-SHA256 keyed by the code's own salt over who, where and the code (unit-separated)."""
    message = "\x1f".join((patient_id, channel, address, code)).encode()
    return hmac.new(bytes.fromhex(salt), message, hashlib.sha256).hexdigest()


def challenge_for(patient_id: str, channel: str, address: str, code: str, salt: str, now: datetime) -> dict[str, Any]:
    """What is stored for a code: never the code itself."""
    return {
        "channel": channel,
        "address": address,
        "salt": salt,
        "code_hash": code_digest(salt, patient_id, channel, address, code),
        "created_at": iso(now),
        "code_expires_at": iso(now + CODE_TTL),
        "tries": 0,
        "status": "pending",
    }


def code_matches(challenge: Mapping[str, Any], patient_id: str, code: str) -> bool:
    expected = code_digest(challenge["salt"], patient_id, challenge["channel"], challenge["address"], code)
    return hmac.compare_digest(expected, str(challenge["code_hash"]))


def recently_sent(challenge: Mapping[str, Any] | None, address: str, now: datetime) -> bool:
    """A live code for the same address went out within RESEND_AFTER (a repeated PATCH sends none)."""
    return (
        challenge is not None
        and challenge.get("status") == "pending"
        and challenge.get("address") == address
        and now - parse_iso(str(challenge["created_at"])) < RESEND_AFTER
    )


def judge(
    challenge: Mapping[str, Any] | None, pending: str | None, patient_id: str, code: str, now: datetime
) -> Outcome:
    """What a submitted code means, before anything is written."""
    if challenge is None:
        return "nothing_pending"
    if challenge.get("status") == "verified":
        # A retried verification whose first answer was lost is answered the same.
        return "already_verified" if code_matches(challenge, patient_id, code) else "nothing_pending"
    if pending is None or pending != challenge.get("address"):
        return "nothing_pending"  # superseded by a newer change, or by staff
    if int(challenge.get("tries", 0)) >= MAX_TRIES:
        return "exhausted"
    if now >= parse_iso(str(challenge["code_expires_at"])):
        return "expired"
    return "right" if code_matches(challenge, patient_id, code) else "wrong"


def tries_left(challenge: Mapping[str, Any]) -> int:
    """Tries left after one more wrong code."""
    return max(0, MAX_TRIES - int(challenge.get("tries", 0)) - 1)
