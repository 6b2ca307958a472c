"""The console's Billing page and CSV: the admins' view of the month's RPM report, on the real stack.

Readings and care time go in through the JSON API and the table stream, as in
production; the report is read back as an admin would, through the page and
the CSV a spreadsheet will open.
"""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import Api, enrol_for_rpm, patient_body
from tests.integration.console_client import Console, text

FORMULA = '=HYPERLINK("http://evil.example","x")'
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


@pytest.fixture(scope="module")
def billed(api: Api, clinic: dict[str, Any], stream_runner: Any) -> dict[str, str]:
    """A patient with a formula for a name, one device day and 25 interactive minutes this (local) month."""
    pid = f"p-bill-{uuid.uuid4().hex[:8]}"
    mrn = f"MRN-{uuid.uuid4().hex[:6]}"
    zone = "America/Sao_Paulo"
    created = api.call(
        "POST",
        "/patients",
        patient_body(
            pid,
            care_team=["c-1"],
            given_name=FORMULA,
            family_name="+Sum",
            timezone=zone,
            birth_date="1961-04-02",
            mrn=mrn,
        ),
        as_=clinic["admin"],
    )
    assert created.status_code == 201, created.body
    now = datetime.now(UTC)
    since = (now - timedelta(days=40)).astimezone(ZoneInfo(zone)).date().isoformat()
    enrol_for_rpm(api, pid, clinic["c1"], {"meter-9": "glucometer"}, since)
    at = (now - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    reading = {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 120,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": at,
        "source": "app",
        "device_id": "meter-9",
    }
    assert api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid)).status_code in (200, 201)
    logged = api.call(
        "POST",
        f"/patients/{pid}/care-time",
        {"minutes": 25, "interactive": True, "activity": "call", "at": at},
        as_=clinic["c1"],
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )
    assert logged.status_code == 201, logged.body
    stream_runner.drain()
    month = (now - timedelta(minutes=2)).astimezone(ZoneInfo(zone)).strftime("%Y-%m")
    return {"pid": pid, "month": month, "mrn": mrn}


def _admin(api: Api, issuer: Any) -> Console:
    return Console(api.client, issuer, "admin", "a-1")


def test_an_admin_sees_the_month_report_as_a_table(api: Api, issuer: Any, billed: dict[str, str]) -> None:
    admin = _admin(api, issuer)
    pages = [admin.get(f"/console/billing?month={billed['month']}")]
    while (found := NEXT.search(text(pages[-1]))) and billed["pid"] not in text(pages[-1]):
        pages.append(admin.get(html.unescape(found.group(1))))  # the whole clinic: walk to our patient
    page = text(pages[-1])

    assert all(p.status_code == 200 for p in pages)
    assert pages[0].headers["Cache-Control"] == "no-store"
    assert "<h1>Billing</h1>" in page
    year, month = billed["month"].split("-")
    name_of_month = datetime(int(year), int(month), 1).strftime("%B %Y")
    assert f"<caption>RPM report for {name_of_month}</caption>" in page
    row = re.search(
        rf"<tr>\s*<th scope=\"row\">(?:(?!</tr>).)*{re.escape(billed['pid'])}(?:(?!</tr>).)*</tr>", page, re.S
    )
    assert row is not None, "the patient's row"
    cells = [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row.group(0), re.S)
    ]
    assert cells == [
        f"{FORMULA} +Sum",
        "1961-04-02",
        billed["mrn"],
        "1",
        "neither",
        "25",
        "Yes",
        "99457",
    ]
    assert 'href="/console/billing.csv?month=' in page
    assert '<label for="month">Month</label>' in page


def test_the_csv_has_every_row_and_no_cell_a_spreadsheet_would_run(
    api: Api, issuer: Any, billed: dict[str, str]
) -> None:
    response = _admin(api, issuer).get(f"/console/billing.csv?month={billed['month']}")

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"] == f'attachment; filename="carewire-rpm-{billed["month"]}.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(text(response))))
    assert rows[0][:3] == ["Name", "Date of birth", "MRN"]
    ours = [r for r in rows[1:] if r[-1] == billed["pid"]]
    assert ours == [[f"'{FORMULA} +Sum", "1961-04-02", billed["mrn"], "1", "", "25", "yes", "99457", billed["pid"]]]
    assert not [c for r in rows[1:] for c in r if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert len({r[-1] for r in rows[1:]}) == len(rows) - 1  # each patient once, across the service's pages


def test_a_clinician_or_a_patient_gets_403(api: Api, issuer: Any, billed: dict[str, str]) -> None:
    clinician = Console(api.client, issuer, "clinician", "c-1")
    patient = Console(api.client, issuer, "patient", billed["pid"])

    for who in (clinician, patient):
        assert who.get("/console/billing").status_code == 403
        assert who.get("/console/billing.csv").status_code == 403


def test_a_malformed_month_is_a_400_page(api: Api, issuer: Any) -> None:
    admin = _admin(api, issuer)

    assert admin.get("/console/billing?month=2026-13").status_code == 400
    assert admin.get("/console/billing.csv?month=2026-1").status_code == 400


def test_without_a_month_it_is_this_one(api: Api, issuer: Any) -> None:
    page = text(_admin(api, issuer).get("/console/billing"))

    assert f'value="{datetime.now(UTC).strftime("%Y-%m")}"' in page
