"""Patients, clinicians, consents and devices: the people Carewire serves.

Pydantic models here are the API's request and response shapes (the OpenAPI
document is generated from them) and the domain's records.  Validation rules
follow docs/api.md: E.164 phones, IANA zones, four languages, four channels.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from chalicelib.domain.timeutil import UtcTime

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Identifier = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Language = Literal["en", "es", "zh-CN", "pt-BR"]
Channel = Literal["push", "sms", "email", "voice"]
GlucoseProfile = Literal["standard", "pregnancy", "older_healthy", "older_complex", "older_very_complex"]
GlucoseUnit = Literal["mg/dL", "mmol/L"]
ConsentSource = Literal["app", "paper", "sms", "web", "verbal"]
Platform = Literal["apns", "fcm"]

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Deliberately modest: an RFC 5322 dot-atom local part (so nothing a mail
# system could read as a list, a display name or a quoted string: no `,` `<`
# `>` `"` `;` or spaces), one @, a dotted domain.  Deliverability is proven by
# SES bounces, not by a regex.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _phone(value: str) -> str:
    if not _E164.match(value):
        raise ValueError("must be an E.164 phone number such as +15551230001")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or len(value.partition("@")[0]) > 64 or not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value


@lru_cache(maxsize=1024)
def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _timezone(value: str) -> str:
    if not _known_zone(value):
        raise ValueError("must be an IANA time zone such as America/New_York")
    return value


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError("must be a 24-hour time HH:MM")
    return value


def _unique_channels(value: list[str]) -> list[str]:
    if len(set(value)) != len(value):
        raise ValueError("must not repeat a channel")
    return value


def _zone_names(schema: dict[str, Any]) -> None:
    # The zones of the pinned tzdata package, read when a schema is generated (never at import).
    from importlib.resources import files

    schema["enum"] = sorted(files("tzdata").joinpath("zones").read_text().split())


def never_null(schema: dict[str, Any]) -> None:
    """The schema of an optional field that may be left out but not sent as null (a validator refuses null)."""
    options = [s for s in schema.pop("anyOf", []) if s.get("type") != "null"]
    schema.pop("default", None)
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


# The json_schema_extra below only tell the OpenAPI document what the validators already enforce.
NOT_BLANK = r"\S"  # stripped of whitespace, at least one character remains
Phone = Annotated[str, AfterValidator(_phone), Field(json_schema_extra={"pattern": _E164.pattern})]
Email = Annotated[str, AfterValidator(_email), Field(json_schema_extra={"pattern": _EMAIL.pattern, "maxLength": 254})]
TimeZoneName = Annotated[str, AfterValidator(_timezone), Field(json_schema_extra=_zone_names)]
WallClock = Annotated[str, AfterValidator(_hhmm), Field(json_schema_extra={"pattern": _HHMM.pattern})]
Channels = Annotated[list[Channel], AfterValidator(_unique_channels), Field(json_schema_extra={"uniqueItems": True})]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]
# A clinic's medical record number: what billing and the console show next to the name (docs/console.md "Billing").
Mrn = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


def _birth_date(value: date) -> date:
    if value < date(1900, 1, 1):
        raise ValueError("must be on or after 1900-01-01")
    return value


BirthDate = Annotated[date, AfterValidator(_birth_date)]
Condition = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, strip_whitespace=True),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuietHours(Strict):
    start: WallClock = "21:00"
    end: WallClock = "08:00"


class PatientIn(Strict):
    """Enrollment request (``POST /patients``)."""

    patient_id: Identifier | None = None
    given_name: Name
    family_name: Name
    phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZoneName
    language: Language = "en"
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    glucose_profile: GlucoseProfile = "standard"
    # The unit the patient reads and texts in: a unitless SMS glucose is read in it (docs/clinical.md rule 8).
    glucose_unit: GlucoseUnit = "mg/dL"
    care_team: list[Identifier] = Field(default_factory=list, max_length=50)
    channels: Channels = Field(default_factory=lambda: list[Channel](["sms"]))
    quiet_hours: QuietHours = Field(default_factory=QuietHours)
    # Optional identity the clinic records (billing reports, the console's header, the FHIR Patient).
    birth_date: BirthDate | None = None
    mrn: Mrn | None = None

    # Added after enrolments were first fingerprinted: left out of the fingerprint while unset, so a
    # retried enrolment sent before they existed still matches its first answer.
    LATER_FIELDS: ClassVar[frozenset[str]] = frozenset({"birth_date", "mrn"})

    def fingerprinted(self) -> dict[str, Any]:
        """The request content an enrolment's idempotency fingerprint covers."""
        content = self.model_dump(mode="json", exclude={"patient_id"})
        return {k: v for k, v in content.items() if not (k in self.LATER_FIELDS and v is None)}


class PatientPatch(Strict):
    """Partial update (``PATCH /patients/{pid}``); omitted fields are unchanged."""

    phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZoneName | None = Field(default=None, json_schema_extra=never_null)
    language: Language | None = Field(default=None, json_schema_extra=never_null)
    channels: Channels | None = Field(default=None, json_schema_extra=never_null)
    quiet_hours: QuietHours | None = Field(default=None, json_schema_extra=never_null)
    conditions: list[Condition] | None = Field(default=None, max_length=20, json_schema_extra=never_null)
    glucose_profile: GlucoseProfile | None = Field(default=None, json_schema_extra=never_null)
    glucose_unit: GlucoseUnit | None = Field(default=None, json_schema_extra=never_null)
    care_team: list[Identifier] | None = Field(default=None, max_length=50, json_schema_extra=never_null)
    birth_date: BirthDate | None = None
    mrn: Mrn | None = None

    PATIENT_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {"phone", "email", "timezone", "language", "channels", "quiet_hours", "glucose_unit"}
    )

    @field_validator(
        "timezone",
        "language",
        "channels",
        "quiet_hours",
        "glucose_profile",
        "glucose_unit",
        "care_team",
        "conditions",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # phone and email may be cleared with null; these may not.
        if value is None:
            raise ValueError("may not be null")
        return value


class Patient(PatientIn):
    """A patient record as the API returns it."""

    patient_id: Identifier
    created_at: UtcTime
    updated_at: UtcTime
    # A phone or email the patient changed, waiting for the code sent to it (docs/api.md "Trust rules"):
    # nothing is sent to it, and no text from it is attributed to the patient, until it is verified.
    phone_pending: Phone | None = None
    email_pending: Email | None = None
    # Channels whose current address a provider reported gone (a hard bounce, a spam complaint, an
    # invalid number): nothing goes there until the address changes (docs/api.md "Delivery truth").
    unreachable_channels: list[Channel] = Field(default_factory=list)
    # The current episode's status (docs/api.md "Program lifecycle"): open since enrolment until changed.
    episode_status: Literal["open", "paused", "discharged"] = "open"


class ClinicianIn(Strict):
    clinician_id: Identifier | None = None
    given_name: Name
    family_name: Name | None = None
    phone: Phone | None = None
    email: Email | None = None
    timezone: TimeZoneName = "UTC"
    language: Language = "en"
    channels: Channels = Field(default_factory=lambda: list[Channel](["sms", "email"]))
    escalation_contacts: list[Identifier] = Field(default_factory=list, max_length=10)

    CONTACT_FIELDS: ClassVar[frozenset[str]] = frozenset({"phone", "email", "timezone", "language", "channels"})


class Clinician(ClinicianIn):
    clinician_id: Identifier
    updated_at: UtcTime
    # Channels whose current address a provider reported gone (an invalid number, a hard bounce).
    unreachable_channels: list[Channel] = Field(default_factory=list)


class ConsentIn(Strict):
    granted: bool
    source: ConsentSource = "app"
    full_content: bool = False


class Consent(ConsentIn):
    channel: Channel
    # Set by an SMS STOP (the carrier's opt-out list): only START by text lifts it.
    opted_out: bool = False
    updated_at: UtcTime
    updated_by: str


class DeviceIn(Strict):
    platform: Platform
    token: Annotated[str, StringConstraints(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")]


class Device(BaseModel):
    device_id: str
    platform: Platform
    created_at: UtcTime
