"""Composition root: builds clients, repositories and services lazily, once.

Nothing here runs at import time.  The first request (or job) that needs a
service builds it and everything beneath it; later requests in the same Lambda
container reuse them.  Tests build their own :class:`Container` (for example
with a different clock) and install it with :func:`use`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from chalicelib.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


class TravelClock:
    """Local stage only: real time, moved forward by ``/_local/tick`` so every service agrees on "now"."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            gap = moment - datetime.now(UTC)
            if gap > self._offset:  # time only moves forward
                self._offset = gap


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


class Container:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.RLock()

    # -- AWS clients -----------------------------------------------------------

    def client(self, service: str) -> Any:
        with self._lock:
            cache: dict[str, Any] = self.__dict__.setdefault("_clients", {})
            if service not in cache:
                import boto3
                from botocore.config import Config

                config = Config(
                    region_name=self.settings.region,
                    retries={"mode": "standard", "max_attempts": 4},
                    connect_timeout=3,
                    read_timeout=10,
                    max_pool_connections=50,
                    # DynamoDB's account-based endpoints need the account id,
                    # which emulators do not have; the regional endpoint works everywhere.
                    account_id_endpoint_mode="disabled",
                )
                cache[service] = boto3.session.Session().client(service, config=config)
            return cache[service]

    # -- adapters ----------------------------------------------------------------

    @cached_property
    def table(self) -> Any:
        from chalicelib.adapters.dynamo import DynamoTable

        return DynamoTable(self.client("dynamodb"), self.settings.table_name)

    @cached_property
    def audit_table(self) -> Any:
        from chalicelib.adapters.dynamo import DynamoTable

        return DynamoTable(self.client("dynamodb"), self.settings.audit_table_name)

    @cached_property
    def patient_store(self) -> Any:
        from chalicelib.adapters.stores import DynamoPatientStore

        return DynamoPatientStore(self.table)

    @cached_property
    def clinician_store(self) -> Any:
        from chalicelib.adapters.stores import DynamoClinicianStore

        return DynamoClinicianStore(self.table)

    @cached_property
    def audit_log(self) -> Any:
        from chalicelib.adapters.stores import DynamoAuditLog

        return DynamoAuditLog(self.audit_table)

    @cached_property
    def push_registry(self) -> Any:
        from chalicelib.adapters.push import SnsPushRegistry

        return SnsPushRegistry(
            self.client("sns"), {"apns": self.settings.apns_platform_arn, "fcm": self.settings.fcm_platform_arn}
        )

    @cached_property
    def token_verifier(self) -> Any:
        from chalicelib.adapters.tokens import CognitoTokenVerifier, UserPoolVerifiers
        from chalicelib.domain.identity import Role

        s = self.settings
        if s.staff_user_pool_id is None:
            return CognitoTokenVerifier(issuer=s.issuer, jwks_url=s.resolved_jwks_url, client_ids=s.app_client_ids)
        # Two pools: a token is checked against the pool that issued it, for that pool's roles only.
        patients = CognitoTokenVerifier(s.issuer, s.resolved_jwks_url, s.app_client_ids, roles={Role.PATIENT})
        staff = CognitoTokenVerifier(
            s.staff_issuer, s.resolved_staff_jwks_url, s.staff_app_client_ids, roles={Role.CLINICIAN, Role.ADMIN}
        )
        return UserPoolVerifiers({s.issuer: patients, s.staff_issuer: staff})

    @cached_property
    def session_check(self) -> Any:
        """Whether Cognito still honours a staff token (F15): GetUser, at most once a minute per token."""
        from chalicelib.adapters.tokens import CognitoSessionCheck

        return CognitoSessionCheck(lambda token: self.client("cognito-idp").get_user(AccessToken=token))

    @cached_property
    def cursors(self) -> Any:
        if self.settings.cursor_secret is not None:
            from chalicelib.domain.cursors import CursorCodec

            return CursorCodec(self.settings.cursor_secret.get_secret_value().encode())
        from chalicelib.adapters.secrets import SecretCursorCodec, SecretsManagerSecret

        # Deployed stages: the secret is read from Secrets Manager when the first cursor is signed or
        # checked, once per container (F8: never in the function's environment).
        arn = str(self.settings.cursor_secret_arn)
        return SecretCursorCodec(SecretsManagerSecret(lambda: self.client("secretsmanager"), arn))

    # -- services ----------------------------------------------------------------

    @cached_property
    def audit(self) -> Any:
        from chalicelib.services.audit import AuditTrail

        return AuditTrail(self.audit_log, self.clock)

    @cached_property
    def audit_queries(self) -> Any:
        from chalicelib.services.audit import AuditQueries

        return AuditQueries(self.audit_log, self.cursors, self.clock)

    @cached_property
    def patients(self) -> Any:
        from chalicelib.services.patients import PatientService

        return PatientService(
            self.patient_store,
            self.clinician_store,
            self.push_registry,
            self.audit,
            self.cursors,
            self.clock,
            new_id,
            self.contacts,
        )

    @cached_property
    def contacts(self) -> Any:
        from chalicelib.adapters.contacts import DynamoContactStore
        from chalicelib.services.contacts import ContactVerificationService

        return ContactVerificationService(
            self.patient_store,
            DynamoContactStore(self.table),
            self.messaging,
            self.audit,
            self.clock,
            self.settings.sms_countries,
        )

    @cached_property
    def reading_store(self) -> Any:
        from chalicelib.adapters.readings import DynamoReadingStore

        return DynamoReadingStore(self.table)

    @cached_property
    def readings(self) -> Any:
        from chalicelib.services.readings import ReadingService

        return ReadingService(
            self.reading_store,
            self.patients,
            self.audit,
            self.cursors,
            self.clock,
            new_id,
            self.settings.patient_cache_seconds,
        )

    @cached_property
    def changes(self) -> Any:
        from chalicelib.jobs.changes import ChangeHandler

        return ChangeHandler(
            self.audit_log,
            self.alerts,
            self.messaging_store,
            self.messaging,
            self.patient_store,
            self.reminders,
            self.summary_store,
        )

    @cached_property
    def messaging_store(self) -> Any:
        from chalicelib.adapters.messaging import DynamoMessagingStore

        return DynamoMessagingStore(self.table)

    @cached_property
    def channels(self) -> dict[str, Any]:
        from chalicelib.adapters import channels

        s = self.settings
        built: dict[str, Any] = {
            "sms": channels.SnsSmsChannel(self.client("sns"), s.sms_origination_number, s.sms_sender_id),
            "email": channels.SesEmailChannel(self.client("sesv2"), s.email_sender, s.ses_configuration_set),
            "push": channels.SnsPushChannel(self.client("sns")),
        }
        if s.voice_origination_identity:
            built["voice"] = channels.VoiceChannel(self.client("pinpoint-sms-voice-v2"), s.voice_origination_identity)
        return built

    @cached_property
    def messaging(self) -> Any:
        from chalicelib.adapters.messaging import SqsOutbound
        from chalicelib.services.messaging import MessagingService

        service = MessagingService(
            self.messaging_store,
            self.patient_store,
            self.clinician_store,
            SqsOutbound(self.client("sqs"), self.settings.outbound_queue),
            self.channels,
            self.clock,
            self.settings.clinic,
            self.settings.sms_countries,
        )
        service.on_unreachable = lambda pid, origin: self.alerts.unreachable(pid, origin)
        return service

    @cached_property
    def conversations(self) -> Any:
        from chalicelib.services.conversations import ConversationService

        return ConversationService(
            self.messaging_store, self.messaging, self.patients, self.audit, self.cursors, self.clock, new_id
        )

    @cached_property
    def inbound(self) -> Any:
        from chalicelib.services.inbound import InboundSmsService

        service = InboundSmsService(
            self.patient_store,
            self.messaging_store,
            self.channels["sms"],
            self.conversations,
            self.readings,
            self.messaging,
            self.settings.clinic,
            self.audit,
        )
        service.on_red_flag = self.alerts.red_flag
        service.on_taken = self.reminders.taken
        service.on_appointment_reply = self.appointments.reply
        return service

    @cached_property
    def appointments(self) -> Any:
        from chalicelib.adapters.appointments import DynamoAppointmentStore
        from chalicelib.services.appointments import AppointmentService

        service = AppointmentService(
            DynamoAppointmentStore(self.table),
            self.patients,
            self.patient_store,
            self.messaging_store,
            self.messaging,
            self.audit,
            self.clock,
            new_id,
        )
        service.on_reschedule_request = lambda pid, task_id, now: self.messaging.create_task(
            pid, task_id, "reschedule_appointment", "the patient asked to reschedule by SMS", now
        )
        return service

    @cached_property
    def reminders(self) -> Any:
        from chalicelib.adapters.reminders import DynamoReminderStore
        from chalicelib.services.reminders import ReminderService

        service = ReminderService(
            DynamoReminderStore(self.table),
            self.patients,
            self.patient_store,
            self.messaging_store,
            self.messaging,
            self.audit,
            self.clock,
            new_id,
        )
        service.on_unanswered = self.unanswered_reminders
        service.on_missed = lambda pid, origin, now: self.alerts.raise_alert(
            pid, "missed_readings", "routine", origin, now
        )
        return service

    def unanswered_reminders(self, patient_id: str, origin: str, now: datetime) -> None:
        """Three reminders in a row without an answer: a human calls (task + routine alert)."""
        self.messaging.hand_to_human(patient_id, f"unanswered-{origin}", "three reminders in a row unanswered", now)

    @cached_property
    def alerts(self) -> Any:
        from chalicelib.adapters.alerts import DynamoAlertStore
        from chalicelib.services.alerts import AlertService

        return AlertService(
            DynamoAlertStore(self.table),
            self.reading_store,
            self.patient_store,
            self.clinician_store,
            self.messaging_store,
            self.messaging,
            self.audit,
            self.cursors,
            self.clock,
            self.settings.console_url,
        )

    @cached_property
    def worklist(self) -> Any:
        from chalicelib.services.worklist import WorklistService

        return WorklistService(
            self.patient_store,
            self.clinician_store,
            self.alerts,
            self.summary_store,
            self.clock,
            self.messaging_store,
            self.audit,
        )

    @cached_property
    def summary_store(self) -> Any:
        from chalicelib.adapters.summaries import DynamoSummaryStore

        return DynamoSummaryStore(self.table)

    @cached_property
    def record(self) -> Any:
        from chalicelib.services.record import PatientRecordService

        return PatientRecordService(
            self.messaging_store, self.summary_store, self.patients, self.audit, self.cursors, self.clock, new_id
        )

    @cached_property
    def billing(self) -> Any:
        from chalicelib.services.billing import BillingService

        return BillingService(
            self.summary_store, self.patient_store, self.patients, self.audit, self.cursors, self.clock
        )

    @cached_property
    def scheduler(self) -> Any:
        from chalicelib.adapters.messaging import SqsWorkQueue
        from chalicelib.services.scheduler import Scheduler

        scheduler = Scheduler(self.table, SqsWorkQueue(self.client("sqs"), self.settings.due_work_queue))
        scheduler.register("deferred_message", self.release_deferred)
        scheduler.register("alert", self.alerts.escalate_due)
        scheduler.register("digest", self.alerts.send_digest)
        scheduler.register("reminder", self.reminders.fire)
        scheduler.register("missed", self.reminders.missed_due)
        scheduler.register("appointment", self.appointments.remind_due)
        return scheduler

    def release_deferred(self, item: dict[str, Any], now: datetime) -> None:
        intent = self.messaging_store.take_deferred(item)
        if intent is not None:
            self.messaging.enqueue(intent)

    @cached_property
    def clinic(self) -> Any:
        from chalicelib.services.clinic import ClinicService

        return ClinicService(self.clinician_store, self.clock)

    @cached_property
    def clinicians(self) -> Any:
        from chalicelib.services.patients import ClinicianService

        return ClinicianService(self.clinician_store, self.clock, self.settings.sms_countries)


_container: Container | None = None
_container_lock = threading.Lock()


def container() -> Container:
    global _container
    if _container is None:
        with _container_lock:
            if _container is None:
                settings = Settings.from_env()
                clock: Callable[[], datetime] = TravelClock() if settings.stage == "local" else utc_now
                _container = Container(settings, clock)
    return _container


def use(replacement: Container | None) -> None:
    """Install a container (tests, the local runner); ``None`` rebuilds from the environment."""
    global _container
    _container = replacement
