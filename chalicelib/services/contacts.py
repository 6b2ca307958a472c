"""Contact changes are verified (docs/api.md "Trust rules"; security review F2, F3).

A phone or email a patient types into ``PATCH /patients/{pid}`` is held as
``phone_pending`` / ``email_pending``, and a 6-digit code goes to it through the
messaging engine (at once: no consent step, no quiet hours, but the daily cap
and the allowed countries).  ``POST /patients/{pid}/contact-verification``
with that code makes it current, and only then does inbound SMS from the number
reach the patient's record.  Staff changes apply at once (audited by the
profile update) and supersede a pending value on the same channel.  Every phone,
whoever sets it, must carry one of the clinic's country calling codes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain import contacts as rules
from chalicelib.domain.contacts import CHANNEL_OF, FIELD_OF, ContactVerificationIn
from chalicelib.domain.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.identity import Principal, can_see_patient
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.patients import Patient
from chalicelib.observability import count
from chalicelib.services.patients import patient_of
from chalicelib.services.ports import Audit, Outbox, Patients, Record


class ContactChallenges(Protocol):
    """The code challenge per patient and channel, and the switch to a verified contact (``DynamoContactStore``).

    A challenge is what ``chalicelib.domain.contacts.challenge_for`` builds (``channel``,
    ``address``, ``salt``, ``code_hash``, ``code_expires_at``, ``tries``, ``status``).
    """

    def challenge(self, patient_id: str, channel: str) -> Record | None:
        """The channel's latest challenge (read consistently), or None."""
        ...

    def put_challenge(self, patient_id: str, challenge: Record, now: datetime) -> None:
        """A new code replaces any earlier one for the channel; kept a day after ``now``."""
        ...

    def count_wrong_try(self, patient_id: str, channel: str, code_hash: str) -> bool:
        """One wrong try against this very code while tries remain; False when out of tries or replaced."""
        ...

    def complete(self, patient_id: str, challenge: Record, previous: str | None, now: datetime) -> bool:
        """Make the challenged address the patient's current one, once.

        All or nothing: the profile takes the address (only while it is still the
        pending value), the challenge becomes verified (only while it is the same
        pending code), and for a phone inbound SMS finds the patient by the new
        number instead of ``previous``.  False when the pending value or the code
        changed meanwhile.
        """
        ...


class ContactVerificationService:
    def __init__(
        self,
        patients: Patients,
        challenges: ContactChallenges,
        messaging: Outbox,
        audit: Audit,
        clock: Callable[[], datetime],
        sms_countries: tuple[str, ...],
        new_code: Callable[[], str] = rules.new_code,
    ) -> None:
        self._patients = patients
        self._challenges = challenges
        self._messaging = messaging
        self._audit = audit
        self._clock = clock
        self._sms_countries = sms_countries
        self._new_code = new_code

    # -- PATCH /patients/{pid} and enrollment -----------------------------------------

    def check_phone(self, phone: str | None, field: str = "phone") -> None:
        """422 naming ``field`` when ``phone`` is outside the clinic's country calling codes."""
        rules.check_phone_country(phone, self._sms_countries, field)

    def screen(self, principal: Principal, record: dict[str, Any], changes: dict[str, Any]) -> dict[str, str]:
        """Hold the phone and email a patient changes as pending (in ``changes``); the channels to send codes to.

        Clearing a contact applies at once (it sends nothing anywhere).  A staff change
        applies at once and replaces a value the patient was still proving.
        """
        self.check_phone(changes.get("phone"))
        held: dict[str, str] = {}
        for field in ("phone", "email"):
            if field not in changes:
                continue
            pending = f"{field}_pending"
            if not principal.is_patient:
                if changes[field] != record.get(field) and record.get(pending):
                    changes[pending] = None
                continue
            value = changes[field]
            if value is None or value == record.get(field):
                if value is not None and record.get(pending):
                    changes[pending] = None  # back to the current one: nothing left to prove
                continue
            del changes[field]
            changes[pending] = value
            held[CHANNEL_OF[field]] = value
        return held

    def send_codes(self, principal: Principal, patient_id: str, held: dict[str, str]) -> None:
        """A fresh code to each held address (a repeat within a minute sends none), stored as a salted hash only.

        The code travels to the deliverer in the intent on the (KMS-encrypted) outbound queue; it is
        never stored, logged or put in the timeline.
        """
        now = self._clock()
        for channel, address in held.items():
            if rules.recently_sent(self._challenges.challenge(patient_id, channel), address, now):
                continue
            code, salt = self._new_code(), rules.new_salt()
            # Queued first: had the challenge been stored first and the queue then failed, a retried PATCH
            # would find a code "just sent" and send none (a code queued without its challenge is inert).
            self._messaging.enqueue(
                Intent(
                    intent_id=f"verify:{patient_id}:{channel}:{salt[:16]}",
                    recipient=Recipient(kind="patient", id=patient_id),
                    template=f"contact_verification_{channel}",
                    params={"code": code},
                    only_channels=[channel],
                    verify_address=address,
                    correlation_id=principal.request_id,
                    created_at=now,
                    patient_id=patient_id,
                )
            )
            self._challenges.put_challenge(
                patient_id, rules.challenge_for(patient_id, channel, address, code, salt, now), now
            )
            count("ContactVerificationCodesSent")
            self._audit.record(principal, "create", "contact_verification", patient_id, {"channel": channel})

    # -- POST /patients/{pid}/contact-verification -----------------------------------------

    def verify(self, principal: Principal, patient_id: str, request: ContactVerificationIn) -> Patient:
        """200 and the patient with the value made current; 422 for a wrong code; 409 when nothing can be verified."""
        record = self._patients.get(patient_id)
        if record is None or not can_see_patient(principal, patient_id, record.get("care_team", [])):
            raise NotFoundError("Patient not found.")
        if not principal.is_patient:
            raise ForbiddenError("Only the patient verifies their own contact details.")
        channel, field = request.channel, FIELD_OF[request.channel]
        now = self._clock()
        challenge = self._challenges.challenge(patient_id, channel)
        outcome = rules.judge(challenge, record.get(f"{field}_pending"), patient_id, request.code, now)
        detail: dict[str, Any] = {"channel": channel, "outcome": outcome}
        if outcome == "right" and challenge is not None:
            if self._challenges.complete(patient_id, challenge, record.get(field), now):
                self._audit.record(principal, "update", "patient", patient_id, {"fields": [field], "verified": True})
                count("ContactsVerified")
                return patient_of(self._patients.get(patient_id) or record)
            # Lost a race: a concurrent verification with the same code, or a newer change.
            challenge = self._challenges.challenge(patient_id, channel)
            record = self._patients.get(patient_id) or record
            outcome = rules.judge(challenge, record.get(f"{field}_pending"), patient_id, request.code, now)
            detail["outcome"] = outcome
        if outcome == "already_verified":
            self._audit.record(principal, "read", "patient", patient_id, {"replay": True, "verified": channel})
            return patient_of(record)
        self._audit.record(principal, "update", "contact_verification", patient_id, detail)
        if outcome == "wrong" and challenge is not None:
            count("ContactVerificationWrongCodes")
            if self._challenges.count_wrong_try(patient_id, channel, challenge["code_hash"]):
                left = rules.tries_left(challenge)
                hint = f"{left} tries left" if left else f"no tries left: change the {field} again for a new code"
                raise InvalidInputError("The code does not match.", [FieldError("code", f"does not match; {hint}")])
            # The last try went to a concurrent request, or a newer code replaced this one.
            fresh = self._challenges.challenge(patient_id, channel) or {}
            outcome = "exhausted" if fresh.get("code_hash") == challenge["code_hash"] else "wrong"
        raise ConflictError(_CONFLICTS[outcome].format(field=field))


_CONFLICTS = {
    "nothing_pending": "No {field} change is waiting for verification.",
    "expired": "The code has expired: change the {field} again for a new code.",
    "exhausted": "Too many wrong codes: change the {field} again for a new code.",
    "right": "The {field} changed meanwhile: change it again for a new code.",
    "wrong": "The {field} changed meanwhile: change it again for a new code.",
}
