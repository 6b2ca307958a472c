"""Retention runs on DynamoDB Local and moto's Cognito: small steps, retried steps, and what is left.

There is no in-memory fake of the ``RetentionStore`` port: what it must get right (a partition swept to
nothing, keys outside it, batch writes that may not name a key twice) is DynamoDB's behaviour, so the
service runs here on its real adapters, with a budget of a few items a step so a run takes many ticks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.adapters.alerts import ADMIN_LIST, list_sk
from chalicelib.adapters.dynamo import DynamoTable
from chalicelib.adapters.episodes import DynamoEpisodes, DynamoMeters, episode_sk
from chalicelib.adapters.keys import clinician_pk, patient_pk, phone_pk
from chalicelib.adapters.readings import DynamoReadingStore
from chalicelib.adapters.receipts import receipt_item, receipt_key
from chalicelib.adapters.retention import AwsPatientAccounts, DynamoRetention
from chalicelib.adapters.stores import DynamoAlertStore, DynamoAuditLog, DynamoPatientStore
from chalicelib.adapters.timeline import event_item
from chalicelib.domain import episodes as rules
from chalicelib.domain.episodes import DischargeIn, EpisodeIn
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.audit import AuditTrail
from chalicelib.services.ports import Receipt, TimelineEntry
from chalicelib.services.retention import RetentionService

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SECRETS = ("Hester", "Quayle", "hester@mail.example", "Moved to Faro")


@dataclass
class Patient:
    pid: str
    clinician: str
    phone: str
    meter: str
    alert: dict[str, Any]
    intent_id: str
    provider_id: str
    readings: int
    endpoint: str


@pytest.fixture(scope="module")
def table(dynamo_table: DynamoTable) -> DynamoTable:
    return dynamo_table


@dataclass
class Aws:
    """moto's Cognito (the patients' pool) and SNS (a push platform application)."""

    cognito: Any
    pool_id: str
    sns: Any
    platform_arn: str


@pytest.fixture(scope="module")
def cognito(emulators: Any) -> Aws:
    from devstack.resources import KEYS

    env = emulators.env
    return Aws(
        boto3.client("cognito-idp", endpoint_url=emulators.moto_url, **KEYS),
        env["CAREWIRE_USER_POOL_ID"],
        boto3.client("sns", endpoint_url=emulators.moto_url, **KEYS),
        env["CAREWIRE_FCM_PLATFORM_ARN"],
    )


@pytest.fixture(scope="module")
def audit(dynamo_table: DynamoTable) -> DynamoAuditLog:
    from devstack.resources import AUDIT_TABLE_NAME

    return DynamoAuditLog(DynamoTable(dynamo_table.client, AUDIT_TABLE_NAME))


class Ids:
    """The run's id source, which remembers the subjects it handed out (the run itself keeps no link)."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    def __call__(self, prefix: str) -> str:
        self.subjects.append(f"{prefix}-{uuid.uuid4().hex}")
        return self.subjects[-1]


def service(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog, budget: int, ids: Ids | None = None
) -> RetentionService:
    return RetentionService(
        DynamoRetention(table),
        AwsPatientAccounts(cognito.cognito, cognito.pool_id, cognito.sns),
        AuditTrail(audit, lambda: T0),
        ids or Ids(),
        page=4,
        budget=budget,
    )


def reading(pid: str, n: int, meter: str) -> dict[str, Any]:
    return {
        "reading_id": f"{pid}-reading-{n}",  # a client's id may say whose it is
        "patient_id": pid,
        "type": "blood_glucose",
        "value": 90 + n,
        "unit": "mg/dL",
        "value_mg_dl": 90 + n,
        "context": "fasting",
        "measured_at": iso(T0 - timedelta(days=n)),
        "received_at": iso(T0 - timedelta(days=n)),
        "source": "device",
        "device_id": meter,
        "symptoms": [],
        "classification": {"severity": "normal", "category": "in_range", "interpretation": "N", "flags": []},
        "created_by": pid,
        "created_role": "patient",
    }


def discharged_patient(table: DynamoTable, cognito: Aws, readings: int) -> Patient:
    """A patient with what a year in the program leaves: readings, an alert, a page's receipt, a meter."""
    tag = uuid.uuid4().hex[:8]
    pid, cid, phone, meter = f"p-{tag}", f"c-{tag}", f"+1555{int(tag, 16) % 10**7:07d}", f"GM-{tag}"
    record = {
        "patient_id": pid,
        "given_name": "Hester",
        "family_name": "Quayle",
        "email": "hester@mail.example",
        "phone": phone,
        "care_team": [cid],
        "timezone": "UTC",
        "created_at": iso(T0 - timedelta(days=400)),
        "updated_at": iso(T0 - timedelta(days=400)),
    }
    assert DynamoPatientStore(table).create(record) is None
    meter_record = {
        "device_id": meter,
        "kind": "glucometer",
        "assigned_on": "2025-11-01",
        "registered_at": iso(T0),
        "registered_by": cid,
    }
    assert DynamoMeters(table).register(pid, meter_record)
    store = DynamoReadingStore(table)
    for n in range(readings):
        assert store.put_new(reading(pid, n, meter)) is None
    alert = {
        "alert_id": f"a-{uuid.uuid4().hex[:24]}",
        "patient_id": pid,
        "kind": "critical_low",
        "priority": "critical",
        "status": "open",
        "opened_at": iso(T0),
        "last_event_at": iso(T0),
        "condition": "glucose_low",
        "since": iso(T0),
        "notes": ["Hester said she skipped lunch"],
    }
    opened = TimelineEntry(pid, "alert_opened", T0, f"alert-opened-{alert['alert_id']}", "opened", None, {})
    assert DynamoAlertStore(table).open(alert, [cid], None, opened) is None
    # A page about the alert: its timeline entry, delivery claim and receipt (as ``record_sent`` writes them).
    intent_id, provider_id = f"page:{alert['alert_id']}:0:{cid}", uuid.uuid4().hex
    event = event_item(
        pid, "message_out", T0, f"{intent_id}:message_out:sms", "Page sent", "sms", {"intent_id": intent_id}
    )
    table.put({**event, "status": "sent", "provider_id": provider_id})
    table.put({"pk": f"MSG#{intent_id}", "sk": "DELIVERY", "entity": "delivery", "status": "sent"})
    receipt = Receipt("sms", provider_id, phone, "clinician", cid, "{}", T0, patient_id=pid)
    table.put(receipt_item(receipt))
    # Discharged, with a note, six years and a day ago as the runs below see it.
    enrolment = rules.enrolment_episode(record)
    done = rules.discharged(enrolment, DischargeIn(reason="moved", note="Moved to Faro"), date(2026, 12, 3), T0)
    entry = TimelineEntry(pid, "episode_discharged", T0, f"discharged-{tag}", "Discharged", None, {})
    assert DynamoEpisodes(table).save(pid, done, enrolment, False, entry)
    cognito.cognito.admin_create_user(UserPoolId=cognito.pool_id, Username=pid)
    # A phone registered for push: its SNS endpoint carries the device token and the patient id.
    endpoint = cognito.sns.create_platform_endpoint(
        PlatformApplicationArn=cognito.platform_arn, Token=f"fcm-{tag}", CustomUserData=pid
    )["EndpointArn"]
    device = {"platform": "fcm", "endpoint_arn": endpoint, "created_at": iso(T0)}
    DynamoPatientStore(table).put_device(pid, device, f"fcm-{tag}")
    return Patient(pid, cid, phone, meter, alert, intent_id, provider_id, readings, endpoint)


def episode_item(table: DynamoTable, pid: str) -> dict[str, Any]:
    """The patient's discharged episode, as the due index hands it to the tick."""
    (item,) = [i for i in partition(table, pid) if i["sk"].startswith("EPISODE#") and i["status"] == "discharged"]
    return item


def partition(table: DynamoTable, pid: str) -> list[dict[str, Any]]:
    return table.query_all("pk = :p", {":p": patient_pk(pid)}, consistent=True)


def run_to_the_end(svc: RetentionService, table: DynamoTable, p: Patient, start: datetime) -> int:
    """The tick's part: the episode once, then the run each minute while it is due.  Returns the steps taken."""
    svc.episode_due(episode_item(table, p.pid), start)
    steps, now = 1, start
    while (run := table.get(patient_pk(p.pid), "RETENTION")) is not None:
        now = max(now + timedelta(minutes=1), parse_iso(run["due_at"]))
        svc.run_due(run, now)
        steps += 1
        assert steps < 100
    return steps


def subject_readings(table: DynamoTable, subject: str) -> list[dict[str, Any]]:
    return table.query_all("pk = :p", {":p": f"DEID#{subject}"}, consistent=True)


def audit_steps(audit: DynamoAuditLog, pid: str) -> list[dict[str, Any]]:
    items = audit.table.query_all("pk = :p", {":p": patient_pk(pid)}, consistent=True)
    return [i["detail"] for i in items if i["action"] == "deidentify"]


def test_a_run_in_small_steps_keeps_the_readings_and_removes_everything_else(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p = discharged_patient(table, cognito, readings=23)
    steps = run_to_the_end(service(table, cognito, audit, budget=6), table, p, T0 + timedelta(days=6 * 366))

    assert steps >= 6  # 23 readings and a dozen other items, six a step, then a day later the last sweep
    assert partition(table, p.pid) == []
    outside = [
        (phone_pk(p.phone), patient_pk(p.pid)),
        (clinician_pk(p.clinician), patient_pk(p.pid)),
        (clinician_pk(p.clinician), list_sk(p.alert)),
        (ADMIN_LIST, list_sk(p.alert)),
        (f"ALERTREF#{p.alert['alert_id']}", "REF"),
        (f"MSG#{p.intent_id}", "DELIVERY"),
        tuple(receipt_key("sms", p.provider_id).values()),
        (f"METER#{p.meter}", "OWNER"),
    ]
    assert [key for key in outside if table.get(*key) is not None] == []
    with pytest.raises(cognito.cognito.exceptions.UserNotFoundException):
        cognito.cognito.admin_get_user(UserPoolId=cognito.pool_id, Username=p.pid)
    with pytest.raises(cognito.sns.exceptions.NotFoundException):
        cognito.sns.get_endpoint_attributes(EndpointArn=p.endpoint)

    steps_audited = audit_steps(audit, p.pid)
    assert [s["step"] for s in steps_audited].count("begun") == 1
    assert [s["step"] for s in steps_audited].count("swept") == steps - 2  # all but the finishing and settling ones
    (finished,) = [s for s in steps_audited if s["step"] == "finished"]
    (settled,) = [s for s in steps_audited if s["step"] == "settled"]
    assert finished["readings_kept"] == settled["readings_kept"] == 23
    # The profile, RECENT, the device, the episode, its timeline entry, the alert, its slot and entry, the page's entry.
    assert finished["items_removed"] == settled["items_removed"] == 9


def test_the_readings_stay_under_one_subject_with_nothing_that_says_whose(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p, ids = discharged_patient(table, cognito, readings=7), Ids()
    run_to_the_end(service(table, cognito, audit, budget=1000, ids=ids), table, p, T0 + timedelta(days=6 * 366))
    (subject,) = ids.subjects
    kept = subject_readings(table, subject)
    assert sorted((i["measured_at"], i["value"]) for i in kept) == sorted(
        (iso(T0 - timedelta(days=n)), 90 + n) for n in range(7)
    )
    for item in kept:
        assert item["entity"] == "deidentified_reading" and item["classification"]["severity"] == "normal"
        text = repr(item)
        assert p.pid not in text and p.meter not in text and not [s for s in SECRETS if s in text]


def test_a_step_repeated_after_a_crash_or_taken_by_two_workers_acts_once(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p, ids = discharged_patient(table, cognito, readings=9), Ids()
    store = DynamoRetention(table)
    svc = service(table, cognito, audit, budget=5, ids=ids)
    now = T0 + timedelta(days=6 * 366)
    svc.episode_due(episode_item(table, p.pid), now)
    run = table.get(patient_pk(p.pid), "RETENTION")
    assert run is not None
    # Two workers handed the same due run: one takes the step.
    lease = now + timedelta(minutes=5)
    assert store.claim(p.pid, run["due_at"], lease)
    assert not store.claim(p.pid, run["due_at"], lease)
    # A step that swept a page and crashed before it advanced: the next one sweeps the same page again.
    (subject,) = ids.subjects
    page = store.page(p.pid, 4)
    store.sweep(subject, page)
    store.sweep(subject, page)
    svc.run_due({**run, "due_at": iso(lease)}, lease)
    run_to_the_end_from(svc, table, p, lease)
    assert len(subject_readings(table, subject)) == 9
    assert partition(table, p.pid) == []


def run_to_the_end_from(svc: RetentionService, table: DynamoTable, p: Patient, now: datetime) -> None:
    while (run := table.get(patient_pk(p.pid), "RETENTION")) is not None:
        now = max(now + timedelta(minutes=1), parse_iso(run["due_at"]))
        svc.run_due(run, now)


def test_a_reading_that_arrives_during_a_run_is_kept_with_the_rest(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p, ids = discharged_patient(table, cognito, readings=6), Ids()
    svc = service(table, cognito, audit, budget=5, ids=ids)
    now = T0 + timedelta(days=6 * 366)
    svc.episode_due(episode_item(table, p.pid), now)
    assert table.get(patient_pk(p.pid), "RETENTION") is not None  # the first step stopped at its budget
    assert DynamoReadingStore(table).put_new(reading(p.pid, 6, p.meter)) is None  # the meter still syncs
    run_to_the_end_from(svc, table, p, now)
    (subject,) = ids.subjects
    assert len(subject_readings(table, subject)) == 7


def test_nothing_goes_before_its_time_or_once_the_patient_is_back(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    early, back = discharged_patient(table, cognito, readings=2), discharged_patient(table, cognito, readings=2)
    svc = service(table, cognito, audit, budget=1000)
    item = episode_item(table, early.pid)
    end = parse_iso(item["deidentify_after"])
    svc.episode_due(item, end - timedelta(seconds=1))  # a clock behind the due index's
    assert table.get(patient_pk(early.pid), "PROFILE") is not None
    assert episode_item(table, early.pid)["due_at"] == item["deidentify_after"]  # still waiting

    # Re-enrolled a year after the discharge: the old episode leaves the due index and nothing is removed.
    old = episode_item(table, back.pid)
    done = rules.Episode.model_validate(old)
    later = T0 + timedelta(days=365)
    again = rules.opened(
        done, EpisodeIn(programs=["diabetes"], starts_on=later.date()), "ep-again", later, later.date()
    )
    entry = TimelineEntry(back.pid, "episode_opened", later, "opened-again", "Opened", None, {})
    assert DynamoEpisodes(table).save(back.pid, again, done, True, entry)
    svc.episode_due(old, end + timedelta(minutes=1))
    assert table.get(patient_pk(back.pid), "PROFILE") is not None
    assert len([i for i in partition(table, back.pid) if i["sk"].startswith("READING#")]) == 2
    assert "due_at" not in (table.get(patient_pk(back.pid), episode_sk(done)) or {"due_at": "missing"})


def test_what_a_late_writer_puts_in_the_record_goes_with_the_last_sweep(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p, ids = discharged_patient(table, cognito, readings=2), Ids()
    svc = service(table, cognito, audit, budget=1000, ids=ids)
    now = T0 + timedelta(days=6 * 366)
    svc.episode_due(episode_item(table, p.pid), now)
    assert table.get(patient_pk(p.pid), "PROFILE") is None  # the sweep is done and the profile gone
    run = table.get(patient_pk(p.pid), "RETENTION")
    assert run is not None and run["phase"] == "settling" and parse_iso(run["due_at"]) > now + timedelta(hours=24)
    # Writers that read the profile before the run began land afterwards: a reading let in by a warm
    # container's cached profile, and the stream's timeline entry for it.
    late = reading(p.pid, 2, p.meter)
    assert DynamoReadingStore(table).put_new(late) is None
    table.put(event_item(p.pid, "reading", now, f"reading-{late['reading_id']}", "Glucose 92 mg/dL", "app", {}))
    run_to_the_end_from(svc, table, p, now)
    assert partition(table, p.pid) == []  # the run and its subject too
    (subject,) = ids.subjects
    assert len(subject_readings(table, subject)) == 3


def test_a_re_enrolment_that_read_the_record_before_the_run_began_loses(
    table: DynamoTable, cognito: Aws, audit: DynamoAuditLog
) -> None:
    p = discharged_patient(table, cognito, readings=8)
    done = rules.Episode.model_validate(episode_item(table, p.pid))
    later = T0 + timedelta(days=6 * 366)
    service(table, cognito, audit, budget=5).episode_due(episode_item(table, p.pid), later)
    assert table.get(patient_pk(p.pid), "RETENTION") is not None  # begun, not finished
    again = rules.opened(done, EpisodeIn(programs=["diabetes"], starts_on=later.date()), "ep-late", later, later.date())
    entry = TimelineEntry(p.pid, "episode_opened", later, "opened-late", "Opened", None, {})
    assert not DynamoEpisodes(table).save(p.pid, again, done, True, entry)
