"""What a clinic pays AWS per month per 1,000 patients, from the measured requests per operation.

Reads the JSON the other scenarios wrote (ingest, pipeline, tick, record), so
run it after them (``make bench`` does).  Volumes: 4 readings and 2 reminders
per patient per day, ``ABNORMAL`` of the readings out of range, a few
clinician views per patient; prices are the published on-demand list prices
for us-east-1 (see PRICES; check https://aws.amazon.com/pricing before
quoting).  Carrier SMS fees and End User Messaging voice minutes are *not*
included: the SMS count is printed so a clinic can price it with its own
origination identity.
"""

from __future__ import annotations

import json
from typing import Any

from bench.harness import RESULTS, table, write_result

PATIENTS = 1000
DAYS = 30
READINGS_PER_DAY = 4
REMINDERS_PER_DAY = 2
ABNORMAL = 0.10  # share of readings outside the targets (alerts as configured: docs/clinical.md thresholds)
MESSAGES_PER_ABNORMAL = 0.5  # pages + safety messages per abnormal reading (most join an open alert)
VIEWS_PER_PATIENT = 8  # clinician timeline / trend / chart reads per patient per month
CHANNEL_MIX = {"push": 0.5, "sms": 0.4, "email": 0.1}  # how reminders and messages reach patients
CLINICIANS = 20

# Lambda duration assumptions per invocation (512 MB): the in-process handler times measured
# locally plus DynamoDB round trips in a region, rounded up.
MEMORY_GB = 0.5
SECONDS = {"api": 0.030, "stream": 0.060, "deliver": 0.060, "due": 0.080, "tick": 0.150}

# us-east-1 on-demand list prices, USD (2026-11).
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "api_gateway_request": 3.50 / 1e6,  # REST API, first 333 million
    "dynamodb_wru": 0.625 / 1e6,
    "dynamodb_rru": 0.125 / 1e6,
    "dynamodb_gb_month": 0.25,
    "pitr_gb_month": 0.20,
    "backup_gb_month": 0.10,
    "sqs_request": 0.40 / 1e6,
    "sns_publish": 0.50 / 1e6,  # mobile push and topic publishes; SMS is priced per message by carrier
    "ses_email": 0.10 / 1000,
    "kms_key_month": 1.00,
    "kms_request": 0.03 / 10_000,
    "logs_ingest_gb": 0.50,
    "alarm_month": 0.10,
    "cognito_plus_mau": 0.02,
    "secret_month": 0.40,
}
ALARMS = 12  # 3 dead-letter queues, 6 function error alarms, iterator age, escalation failures (+1 spare)
LOG_BYTES = {"api": 600, "worker": 400}  # one structured line per request / record, no bodies


def _load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"bench/results/{name}.json is missing: run `python -m bench {name}` first")
    return dict(json.loads(path.read_text()))


def _lambda(invocations: float, seconds: float) -> float:
    return invocations * (PRICES["lambda_request"] + seconds * MEMORY_GB * PRICES["lambda_gb_second"])


def run() -> dict[str, Any]:
    ingest, pipeline, tick, record = _load("ingest"), _load("pipeline"), _load("tick"), _load("record")
    readings = PATIENTS * READINGS_PER_DAY * DAYS
    abnormal = readings * ABNORMAL
    reminders = PATIENTS * REMINDERS_PER_DAY * DAYS
    messages = reminders + abnormal * MESSAGES_PER_ABNORMAL
    views = PATIENTS * VIEWS_PER_PATIENT
    ticks = DAYS * 24 * 60

    normal_cap = pipeline["stream_capacity_per_normal_reading"]
    abnormal_cap = pipeline["stream_capacity_per_abnormal_reading"]
    deliver_cap = pipeline["deliver_capacity_per_message"]
    # The due-work consumer: 1 UpdateItem (reminder, on the due index) + 2 PutItem (dose, timeline event)
    # per reminder, measured as requests; ~1 KB items with one index copy each: 2 WRU per write.
    due_wru = 2 * sum(v for k, v in tick["consumer_calls_per_reminder"].items() if k != "SendMessageBatch")
    view_requests = record["measured"]["timeline"]["requests_big"]

    wru = (
        readings * ingest["wcu_per_normal_reading"]
        + (readings - abnormal) * normal_cap["wcu"]
        + abnormal * abnormal_cap["wcu"]
        + messages * deliver_cap["wcu"]
        + reminders * due_wru
        + views * 1  # the audit record of each view
    )
    rru = (
        readings * 0.5  # the per-container profile cache: about one read per two readings at this rate
        + (readings - abnormal) * normal_cap["rcu"]
        + abnormal * abnormal_cap["rcu"]
        + messages * deliver_cap["rcu"]
        + ticks * tick["idle_tick_calls"]["Query"] * 0.5
        + views * (view_requests.get("GetItem", 0) + view_requests.get("Query", 0) * 2)
    )
    lines: dict[str, float] = {
        "API Gateway (readings + clinician views)": (readings + views) * PRICES["api_gateway_request"],
        "Lambda: API": _lambda(readings + views, SECONDS["api"]),
        "Lambda: stream": _lambda(readings, SECONDS["stream"]),
        "Lambda: deliver": _lambda(messages, SECONDS["deliver"]),
        "Lambda: minute tick + due work": _lambda(ticks, SECONDS["tick"]) + _lambda(reminders / 10, SECONDS["due"]),
        "DynamoDB on-demand writes": wru * PRICES["dynamodb_wru"],
        "DynamoDB on-demand reads": rru * PRICES["dynamodb_rru"],
        # Each message: one send (batched by ten), one receive and one delete by the event source mapping;
        # plus long polling of two queues around the clock (~650k receives each per month).
        "SQS": (messages * 1.2 + reminders * 0.3 + 2 * 650_000) * PRICES["sqs_request"],
        "SNS push publishes": messages * CHANNEL_MIX["push"] * PRICES["sns_publish"],
        "SES email": messages * CHANNEL_MIX["email"] * PRICES["ses_email"],
        "CloudWatch Logs ingestion": (
            (readings + views) * LOG_BYTES["api"] + (readings + messages + reminders) * LOG_BYTES["worker"]
        )
        / 1e9
        * PRICES["logs_ingest_gb"],
        "CloudWatch alarms": ALARMS * PRICES["alarm_month"],
        "Cognito (Plus, monthly active users)": (PATIENTS + CLINICIANS) * PRICES["cognito_plus_mau"],
        "KMS key + requests": PRICES["kms_key_month"] + (readings + messages) * 0.1 * PRICES["kms_request"],
        "Secrets Manager": PRICES["secret_month"],
    }
    # Storage after a year: ~4 KB per reading (item, LSI copy, timeline event, audit, bucket share),
    # ~2 KB per reminder or message; PITR on the table, 35 daily backups kept.
    gb_year = 12 * (readings * 4_000 + (reminders + messages) * 2_000) / 1e9
    storage_year = gb_year * (PRICES["dynamodb_gb_month"] + PRICES["pitr_gb_month"] + 35 * PRICES["backup_gb_month"])
    total = sum(lines.values())
    sms = messages * CHANNEL_MIX["sms"]
    result = {
        "scenario": "cost",
        "assumptions": {
            "patients": PATIENTS,
            "readings_per_day": READINGS_PER_DAY,
            "reminders_per_day": REMINDERS_PER_DAY,
            "abnormal_share": ABNORMAL,
            "messages_per_abnormal_reading": MESSAGES_PER_ABNORMAL,
            "clinician_views_per_patient": VIEWS_PER_PATIENT,
            "channel_mix": CHANNEL_MIX,
            "lambda_seconds": SECONDS,
        },
        "volumes": {
            "readings": readings,
            "reminders": reminders,
            "messages": messages,
            "dynamodb_wru": round(wru),
            "dynamodb_rru": round(rru),
        },
        "monthly_usd": {k: round(v, 2) for k, v in lines.items()},
        "monthly_total_usd": round(total, 2),
        "per_patient_usd": round(total / PATIENTS, 4),
        "storage_after_12_months_gb": round(gb_year, 2),
        "storage_month_12_usd": round(storage_year, 2),
        "sms_per_month_not_priced": round(sms),
    }
    write_result("cost", result)
    rows: list[tuple[str, Any]] = [(k, f"${v:,.2f}") for k, v in lines.items()]
    rows += [
        ("TOTAL per month, 1,000 patients", f"${total:,.2f}  (${total / PATIENTS:.3f} per patient)"),
        ("storage in month 12 (table, PITR, 35 backups)", f"${storage_year:,.2f} for {gb_year:.1f} GB"),
        ("SMS sent (carrier fees not included)", f"{sms:,.0f} per month"),
        ("DynamoDB request units", f"{wru:,.0f} WRU, {rru:,.0f} RRU"),
    ]
    table(
        f"cost model: {PATIENTS:,} patients, {READINGS_PER_DAY} readings + {REMINDERS_PER_DAY} reminders a day, "
        f"{ABNORMAL:.0%} abnormal (us-east-1 list prices)",
        rows,
    )
    return result
