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
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from chalicelib.settings import Settings


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
        from chalicelib.adapters.tokens import CognitoTokenVerifier

        return CognitoTokenVerifier(
            issuer=self.settings.issuer,
            jwks_url=self.settings.resolved_jwks_url,
            client_ids=self.settings.app_client_ids,
        )

    @cached_property
    def cursors(self) -> Any:
        from chalicelib.domain.cursors import CursorCodec

        return CursorCodec(self.settings.cursor_secret.get_secret_value().encode())

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

        return ChangeHandler(self.audit_log)

    @cached_property
    def clinicians(self) -> Any:
        from chalicelib.services.patients import ClinicianService

        return ClinicianService(self.clinician_store, self.clock)


_container: Container | None = None
_container_lock = threading.Lock()


def container() -> Container:
    global _container
    if _container is None:
        with _container_lock:
            if _container is None:
                _container = Container(Settings.from_env())
    return _container


def use(replacement: Container | None) -> None:
    """Install a container (tests, the local runner); ``None`` rebuilds from the environment."""
    global _container
    _container = replacement
