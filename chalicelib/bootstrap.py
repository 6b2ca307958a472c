"""Composition root: builds clients, repositories and services lazily, once.

Nothing here runs at import time.  The first request (or job) that needs a
service builds it and everything beneath it; later requests in the same Lambda
container reuse them.  Tests build their own :class:`Container` (for example
with a different clock) and install it with :func:`use`.

Every builder names what it returns, imported for the type checker only, so a
cold start imports nothing more than before and mypy checks each
``container().x.y()`` call.  The root wires; it decides nothing: what follows
what (a red flag texted → a critical alert) is ``services/reactions.py``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from chalicelib.settings import Settings

if TYPE_CHECKING:
    from botocore.client import BaseClient

    from chalicelib.adapters.channels import Channel
    from chalicelib.adapters.cognito_signin import CognitoSignIn
    from chalicelib.adapters.dynamo import DynamoTable
    from chalicelib.adapters.messaging import DynamoMessagingStore
    from chalicelib.adapters.push import SnsPushRegistry
    from chalicelib.adapters.readings import DynamoReadingStore
    from chalicelib.adapters.recent import DynamoRecentReadings
    from chalicelib.adapters.reviews import DynamoReviewStore
    from chalicelib.adapters.stores import DynamoAuditLog, DynamoClinicianStore, DynamoPatientStore
    from chalicelib.adapters.summaries import DynamoSummaryStore
    from chalicelib.adapters.tokens import CognitoSessionCheck, CognitoTokenVerifier, UserPoolVerifiers
    from chalicelib.domain.cursors import CursorCodec
    from chalicelib.jobs.changes import ChangeHandler
    from chalicelib.services.alerts import AlertService
    from chalicelib.services.appointments import AppointmentService
    from chalicelib.services.audit import AuditQueries, AuditTrail
    from chalicelib.services.billing import BillingService
    from chalicelib.services.clinic import ClinicService
    from chalicelib.services.console_sessions import SessionService
    from chalicelib.services.contacts import ContactVerificationService
    from chalicelib.services.conversations import ConversationService
    from chalicelib.services.delivery import DeliveryService
    from chalicelib.services.episodes import EpisodeService
    from chalicelib.services.export import ExportService
    from chalicelib.services.inbound import InboundSmsService
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.patients import ClinicianService, PatientService
    from chalicelib.services.reactions import Reactions
    from chalicelib.services.readings import ReadingService
    from chalicelib.services.record import PatientRecordService
    from chalicelib.services.reminders import ReminderService
    from chalicelib.services.retention import RetentionService
    from chalicelib.services.scheduler import Scheduler
    from chalicelib.services.staff_sign_in import StaffSignIn
    from chalicelib.services.worklist import WorklistService


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


class Container:
    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self._lock = threading.RLock()

    # -- AWS clients -----------------------------------------------------------

    def client(self, service: str) -> BaseClient:
        with self._lock:
            cache: dict[str, BaseClient] = self.__dict__.setdefault("_clients", {})
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
                if service == "dynamodb":
                    # Our requests are built by chalicelib/adapters/dynamo.py and DynamoDB checks them itself;
                    # botocore's check of each one was about 3 ms of CPU per BatchGetItem of 100 keys, most
                    # of the worklist's 36 requests' cost (bench/README.md "console").
                    config = config.merge(Config(parameter_validation=False))
                client = boto3.session.Session().client(service, config=config)
                if service == "dynamodb":
                    from chalicelib.adapters.dynamo import read_fast

                    read_fast(client)
                cache[service] = client
            return cache[service]

    # -- adapters ----------------------------------------------------------------

    @cached_property
    def table(self) -> DynamoTable:
        from chalicelib.adapters.dynamo import DynamoTable

        return DynamoTable(self.client("dynamodb"), self.settings.table_name)

    @cached_property
    def audit_table(self) -> DynamoTable:
        from chalicelib.adapters.dynamo import DynamoTable

        return DynamoTable(self.client("dynamodb"), self.settings.audit_table_name)

    @cached_property
    def patient_store(self) -> DynamoPatientStore:
        from chalicelib.adapters.stores import DynamoPatientStore

        return DynamoPatientStore(self.table)

    @cached_property
    def clinician_store(self) -> DynamoClinicianStore:
        from chalicelib.adapters.stores import DynamoClinicianStore

        return DynamoClinicianStore(self.table)

    @cached_property
    def audit_log(self) -> DynamoAuditLog:
        from chalicelib.adapters.stores import DynamoAuditLog

        return DynamoAuditLog(self.audit_table)

    @cached_property
    def push_registry(self) -> SnsPushRegistry:
        from chalicelib.adapters.push import SnsPushRegistry

        return SnsPushRegistry(
            self.client("sns"), {"apns": self.settings.apns_platform_arn, "fcm": self.settings.fcm_platform_arn}
        )

    @cached_property
    def token_verifier(self) -> CognitoTokenVerifier | UserPoolVerifiers:
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
    def session_check(self) -> CognitoSessionCheck:
        """Whether Cognito still honours a staff token (F15): GetUser, at most once a minute per token."""
        from chalicelib.adapters.tokens import CognitoSessionCheck

        return CognitoSessionCheck(lambda token: self.client("cognito-idp").get_user(AccessToken=token))

    @cached_property
    def cursors(self) -> CursorCodec:
        if self.settings.cursor_secret is not None:
            from chalicelib.domain.cursors import CursorCodec

            return CursorCodec(self.settings.cursor_secret.get_secret_value().encode())
        from chalicelib.adapters.secrets import SecretCursorCodec, SecretsManagerSecret

        # Deployed stages: the secret is read from Secrets Manager when the first cursor is signed or
        # checked, once per container (F8: never in the function's environment).
        arn = str(self.settings.cursor_secret_arn)
        return SecretCursorCodec(SecretsManagerSecret(lambda: self.client("secretsmanager"), arn))

    @cached_property
    def console_sign_in(self) -> CognitoSignIn:
        """The console's side of the staff pool (the API's own pool where a stage has no staff pool)."""
        from chalicelib.adapters.cognito_signin import CognitoSignIn

        s = self.settings
        pool_id, client_ids = (
            (s.staff_user_pool_id, s.staff_app_client_ids)
            if s.staff_user_pool_id
            else (s.user_pool_id, s.app_client_ids)
        )
        return CognitoSignIn(self.client("cognito-idp"), pool_id, client_ids[0] if client_ids else "", self.clock)

    @cached_property
    def staff_sign_in(self) -> StaffSignIn:
        from chalicelib.adapters.pending_sign_ins import DynamoPendingSignIns
        from chalicelib.observability import count
        from chalicelib.services.staff_sign_in import StaffSignIn

        return StaffSignIn(
            self.console_sign_in, DynamoPendingSignIns(self.table), self.token_verifier, self.clock, count
        )

    def _session_secret(self) -> bytes:
        """The stage's secret, from which the console's token-sealing key is derived (never used as is)."""
        if self.settings.cursor_secret is not None:
            return self.settings.cursor_secret.get_secret_value().encode()
        from chalicelib.adapters.secrets import SecretsManagerSecret

        return SecretsManagerSecret(lambda: self.client("secretsmanager"), str(self.settings.cursor_secret_arn)).value()

    # -- services ----------------------------------------------------------------

    @cached_property
    def console_sessions(self) -> SessionService:
        from chalicelib.adapters.sessions import DynamoSessionStore, FernetTokenCipher
        from chalicelib.services.console_sessions import SessionService

        return SessionService(DynamoSessionStore(self.table), FernetTokenCipher(self._session_secret()), self.clock)

    @cached_property
    def audit(self) -> AuditTrail:
        from chalicelib.services.audit import AuditTrail

        return AuditTrail(self.audit_log, self.clock)

    @cached_property
    def audit_queries(self) -> AuditQueries:
        from chalicelib.services.audit import AuditQueries

        return AuditQueries(self.audit_log, self.cursors, self.clock)

    @cached_property
    def patients(self) -> PatientService:
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
    def contacts(self) -> ContactVerificationService:
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
    def reading_store(self) -> DynamoReadingStore:
        from chalicelib.adapters.readings import DynamoReadingStore

        return DynamoReadingStore(self.table)

    @cached_property
    def readings(self) -> ReadingService:
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
    def changes(self) -> ChangeHandler:
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
    def messaging_store(self) -> DynamoMessagingStore:
        from chalicelib.adapters.messaging import DynamoMessagingStore

        return DynamoMessagingStore(self.table)

    @cached_property
    def channels(self) -> dict[str, Channel]:
        from chalicelib.adapters import channels

        s = self.settings
        built: dict[str, Channel] = {
            "sms": channels.SnsSmsChannel(self.client("sns"), s.sms_origination_number, s.sms_sender_id),
            "email": channels.SesEmailChannel(self.client("sesv2"), s.email_sender, s.ses_configuration_set),
            "push": channels.SnsPushChannel(self.client("sns")),
        }
        if s.voice_origination_identity:
            built["voice"] = channels.VoiceChannel(self.client("pinpoint-sms-voice-v2"), s.voice_origination_identity)
        return built

    @cached_property
    def reactions(self) -> Reactions:
        from chalicelib.services.reactions import Reactions

        return Reactions(
            alerts=lambda: self.alerts,
            messaging=lambda: self.messaging,
            reminders=lambda: self.reminders,
            appointments=lambda: self.appointments,
        )

    @cached_property
    def messaging(self) -> MessagingService:
        from chalicelib.adapters.appointments import DynamoAppointmentStore
        from chalicelib.adapters.queues import SqsOutbound
        from chalicelib.services.messaging import MessagingService

        return MessagingService(
            self.messaging_store,
            self.patient_store,
            self.clinician_store,
            SqsOutbound(self.client("sqs"), self.settings.outbound_queue),
            self.channels,
            self.clock,
            self.settings.clinic,
            self.reactions.publish,
            self.settings.sms_countries,
            appointments=DynamoAppointmentStore(self.table),
        )

    @cached_property
    def episodes(self) -> EpisodeService:
        from chalicelib.adapters.episodes import DynamoEpisodes, DynamoMeters
        from chalicelib.services.episodes import EpisodeService

        return EpisodeService(
            DynamoEpisodes(self.table),
            self.patients,
            self.reminders,
            self.messaging,
            self.audit,
            self.clock,
            new_id,
            DynamoMeters(self.table),
            self.settings.retention_years,
        )

    @cached_property
    def retention(self) -> RetentionService:
        from chalicelib.adapters.retention import AwsPatientAccounts, DynamoRetention
        from chalicelib.services.retention import RetentionService

        accounts = AwsPatientAccounts(self.client("cognito-idp"), self.settings.user_pool_id, self.client("sns"))
        return RetentionService(DynamoRetention(self.table), accounts, self.audit, new_id)

    @cached_property
    def export(self) -> ExportService:
        from chalicelib.adapters.export import DynamoExportSources
        from chalicelib.services.export import ExportService
        from chalicelib.services.patients import patient_of
        from chalicelib.services.readings import to_reading

        return ExportService(
            DynamoExportSources(self.table), self.patients, self.audit, self.cursors, self.clock, to_reading, patient_of
        )

    @cached_property
    def delivery(self) -> DeliveryService:
        from chalicelib.adapters.receipts import DynamoReceipts
        from chalicelib.services.delivery import DeliveryService

        return DeliveryService(DynamoReceipts(self.table), self.messaging, self.clinician_store, self.clock)

    @cached_property
    def conversations(self) -> ConversationService:
        from chalicelib.adapters.conversation import DynamoConversationStore
        from chalicelib.services.conversations import ConversationService

        return ConversationService(
            DynamoConversationStore(self.table),
            self.messaging,
            self.patients,
            self.audit,
            self.cursors,
            self.clock,
            new_id,
        )

    @cached_property
    def inbound(self) -> InboundSmsService:
        from chalicelib.services.inbound import InboundSmsService

        return InboundSmsService(
            self.patient_store,
            self.messaging_store,
            self.channels["sms"],
            self.conversations,
            self.readings,
            self.messaging,
            self.settings.clinic,
            self.audit,
            self.reactions.publish,
        )

    @cached_property
    def appointments(self) -> AppointmentService:
        from chalicelib.adapters.appointments import DynamoAppointmentStore
        from chalicelib.services.appointments import AppointmentService

        return AppointmentService(
            DynamoAppointmentStore(self.table),
            self.patients,
            self.patient_store,
            self.messaging_store,
            self.messaging,
            self.audit,
            self.clock,
            new_id,
            self.reactions.publish,
        )

    @cached_property
    def reminders(self) -> ReminderService:
        from chalicelib.adapters.reminders import DynamoReminderStore
        from chalicelib.services.reminders import ReminderService

        return ReminderService(
            DynamoReminderStore(self.table),
            self.patients,
            self.patient_store,
            self.messaging_store,
            self.messaging,
            self.audit,
            self.clock,
            new_id,
            self.reactions.publish,
        )

    @cached_property
    def alerts(self) -> AlertService:
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
    def worklist(self) -> WorklistService:
        from chalicelib.services.worklist import WorklistService

        return WorklistService(
            self.patient_store,
            self.clinician_store,
            self.alerts,
            self.summary_store,
            self.clock,
            self.messaging_store,
            self.audit,
            self.recent_readings,
            self.review_store,
            self.patients,
        )

    @cached_property
    def recent_readings(self) -> DynamoRecentReadings:
        from chalicelib.adapters.recent import DynamoRecentReadings

        return DynamoRecentReadings(self.table)

    @cached_property
    def review_store(self) -> DynamoReviewStore:
        from chalicelib.adapters.reviews import DynamoReviewStore

        return DynamoReviewStore(self.table)

    @cached_property
    def summary_store(self) -> DynamoSummaryStore:
        from chalicelib.adapters.summaries import DynamoSummaryStore

        return DynamoSummaryStore(self.table)

    @cached_property
    def record(self) -> PatientRecordService:
        from chalicelib.adapters.conversation import DynamoConversationStore
        from chalicelib.services.record import PatientRecordService

        return PatientRecordService(
            DynamoConversationStore(self.table),
            self.summary_store,
            self.patients,
            self.audit,
            self.cursors,
            self.clock,
            new_id,
        )

    @cached_property
    def billing(self) -> BillingService:
        from chalicelib.services.billing import BillingService

        return BillingService(
            self.summary_store, self.patient_store, self.patients, self.audit, self.cursors, self.clock
        )

    @cached_property
    def scheduler(self) -> Scheduler:
        from chalicelib.adapters.due_index import DynamoDueIndex
        from chalicelib.adapters.queues import SqsWorkQueue
        from chalicelib.services.scheduler import Scheduler

        scheduler = Scheduler(
            DynamoDueIndex(self.table), SqsWorkQueue(self.client("sqs"), self.settings.due_work_queue)
        )
        scheduler.register("deferred_message", self.messaging.release_deferred)
        scheduler.register("alert", self.alerts.escalate_due)
        scheduler.register("digest", self.alerts.send_digest)
        scheduler.register("reminder", self.reminders.fire)
        scheduler.register("missed", self.reminders.missed_due)
        scheduler.register("appointment", self.appointments.remind_due)
        scheduler.register("episode", self._episode_due)
        scheduler.register("retention", self.retention.run_due)
        return scheduler

    def _episode_due(self, item: dict[str, Any], now: datetime) -> None:
        """An episode on the due index: a pause with an end resumes; a discharge has served its retention."""
        if item.get("status") == "discharged":
            self.retention.episode_due(item, now)
        else:
            self.episodes.resume_due(item, now)

    @cached_property
    def clinic(self) -> ClinicService:
        from chalicelib.services.clinic import ClinicService

        return ClinicService(self.clinician_store, self.clock)

    @cached_property
    def clinicians(self) -> ClinicianService:
        from chalicelib.services.patients import ClinicianService

        return ClinicianService(self.clinician_store, self.clock, self.settings.sms_countries)


_container: Container | None = None
_container_lock = threading.Lock()


def container() -> Container:
    global _container
    if _container is None:
        with _container_lock:
            if _container is None:
                # The real clock; the local stage installs a container of its own (devstack) on a travel clock.
                _container = Container(Settings.from_env(), utc_now)
    return _container


def use(replacement: Container | None) -> None:
    """Install a container (tests, the local stage); ``None`` rebuilds from the environment."""
    global _container
    _container = replacement
