"""One validated model of the process environment.

Every knob the app reads from the environment is declared here, validated once
and passed on.  The only other readers of ``os.environ`` are app.py's
event-source names (read at import, before settings can be validated, e.g.
under ``chalice package``) and the local stage in devstack/.  AWS endpoints
are deliberately absent: boto3 picks up ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` by itself, so the local stack and AWS share one
code path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

Stage = Literal["local", "dev", "prod"]


class Settings(BaseModel):
    stage: Stage = "dev"
    version: str = "0.1.0"
    region: str = "us-east-1"
    table_name: str = "carewire"
    audit_table_name: str = "carewire-audit"
    user_pool_id: str
    # The app clients whose access tokens are accepted; empty accepts none
    # (fails closed, F15): every deployed stage names its clients.
    app_client_ids: list[str] = Field(default_factory=list)
    jwks_url: str | None = None
    # Staff (clinicians, admins) sign in to a pool of their own: TOTP MFA required, 15-minute access
    # tokens (docs/api.md "Trust rules").  Each pool is trusted for its own roles only; unset, the one pool
    # above may grant every role.
    staff_user_pool_id: str | None = None
    staff_app_client_ids: list[str] = Field(default_factory=list)
    staff_jwks_url: str | None = None
    # Signs pagination cursors.  Exactly one of the two: the secret itself (local and test stages), or
    # the Secrets Manager ARN it is read from at first use (deployed stages: never in the environment).
    cursor_secret: SecretStr | None = None
    cursor_secret_arn: str | None = None
    apns_platform_arn: str | None = None
    fcm_platform_arn: str | None = None
    clinic_name: str = "Carewire Clinic"
    # The clinic's support phone (E.164, e.g. "+15551230000"; CAREWIRE_SUPPORT_CONTACT). Every patient
    # safety message and HELP reply says "call {support}" (docs/clinical.md "Safety net" rule 11), so set it
    # per deployment; the default only keeps local runs readable ("call your care team").
    support_contact: str = "your care team"
    # Where clinicians open an alert; pages carry "<console_url>/alerts/<opaque id>", never a patient id.
    console_url: str = "http://127.0.0.1:8000/console"
    # The console's origin for the Origin check on its POSTs (deployed: the CloudFront domain).  Unset (local
    # stage), the Host a request arrived on is the origin.
    console_origin: str | None = None
    # Seconds a warm Lambda may reuse a patient's profile and targets when the
    # patient posts their own readings; see docs/design.md "Request cost".
    patient_cache_seconds: float = 60.0
    outbound_queue: str = "outbound"
    due_work_queue: str = "due-work"
    inbound_sms_topic: str = "inbound-sms"
    delivery_events_topic: str = "delivery-events"
    email_sender: str = "care@clinic.example"
    ses_configuration_set: str | None = None
    sms_origination_number: str | None = None
    sms_sender_id: str | None = None
    # Voice needs an End User Messaging origination identity; off unless configured.
    voice_origination_identity: str | None = None
    # Country calling codes SMS and voice may go to (CAREWIRE_SMS_COUNTRIES="+1,+351"); docs/api.md "Trust rules".
    sms_countries: tuple[str, ...] = ("+1",)
    # Years a discharged patient's record is kept whole before it is de-identified (docs/api.md "Program lifecycle").
    retention_years: int = Field(default=6, ge=1, le=100)

    @field_validator("sms_countries", mode="before")
    @classmethod
    def _calling_codes(cls, value: object) -> object:
        from chalicelib.domain.contacts import calling_codes

        return calling_codes(value.split(",") if isinstance(value, str) else value)  # type: ignore[arg-type]

    @field_validator("app_client_ids", "staff_app_client_ids", mode="before")
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _one_cursor_secret(self) -> Settings:
        if (self.cursor_secret is None) == (self.cursor_secret_arn is None):
            raise ValueError("set exactly one of CAREWIRE_CURSOR_SECRET and CAREWIRE_CURSOR_SECRET_ARN")
        return self

    @property
    def clinic(self) -> dict[str, str]:
        return {"clinic": self.clinic_name, "support": self.support_contact}

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def resolved_jwks_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"

    @property
    def staff_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.staff_user_pool_id}"

    @property
    def resolved_staff_jwks_url(self) -> str:
        return self.staff_jwks_url or f"{self.staff_issuer}/.well-known/jwks.json"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        fields = {
            "stage": "CAREWIRE_STAGE",
            "version": "CAREWIRE_VERSION",
            "table_name": "CAREWIRE_TABLE",
            "audit_table_name": "CAREWIRE_AUDIT_TABLE",
            "user_pool_id": "CAREWIRE_USER_POOL_ID",
            "app_client_ids": "CAREWIRE_APP_CLIENT_IDS",
            "jwks_url": "CAREWIRE_JWKS_URL",
            "staff_user_pool_id": "CAREWIRE_STAFF_USER_POOL_ID",
            "staff_app_client_ids": "CAREWIRE_STAFF_APP_CLIENT_IDS",
            "staff_jwks_url": "CAREWIRE_STAFF_JWKS_URL",
            "cursor_secret": "CAREWIRE_CURSOR_SECRET",
            "cursor_secret_arn": "CAREWIRE_CURSOR_SECRET_ARN",
            "apns_platform_arn": "CAREWIRE_APNS_PLATFORM_ARN",
            "fcm_platform_arn": "CAREWIRE_FCM_PLATFORM_ARN",
            "clinic_name": "CAREWIRE_CLINIC_NAME",
            "support_contact": "CAREWIRE_SUPPORT_CONTACT",
            "console_url": "CAREWIRE_CONSOLE_URL",
            "console_origin": "CAREWIRE_CONSOLE_ORIGIN",
            "patient_cache_seconds": "CAREWIRE_PATIENT_CACHE_SECONDS",
            "outbound_queue": "CAREWIRE_OUTBOUND_QUEUE",
            "due_work_queue": "CAREWIRE_DUE_WORK_QUEUE",
            "inbound_sms_topic": "CAREWIRE_INBOUND_SMS_TOPIC",
            "delivery_events_topic": "CAREWIRE_DELIVERY_EVENTS_TOPIC",
            "email_sender": "CAREWIRE_EMAIL_SENDER",
            "ses_configuration_set": "CAREWIRE_SES_CONFIGURATION_SET",
            "sms_origination_number": "CAREWIRE_SMS_ORIGINATION_NUMBER",
            "sms_sender_id": "CAREWIRE_SMS_SENDER_ID",
            "voice_origination_identity": "CAREWIRE_VOICE_ORIGINATION_IDENTITY",
            "sms_countries": "CAREWIRE_SMS_COUNTRIES",
            "retention_years": "CAREWIRE_RETENTION_YEARS",
        }
        values: dict[str, object] = {name: env[var] for name, var in fields.items() if env.get(var)}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        return cls.model_validate(values)
