"""Console page: the month's RPM billing report for the clinic (admins), as a table and as a CSV file.

Both call ``BillingService.report`` exactly as ``GET /billing/rpm`` does
(chalicelib/api/record.py): one Query of patients and one BatchGetItem of their
RPM months per page, and one audit record per patient shown.  The API lets a
clinician read their own panel's report; console.md makes this page the
admins' (the billing office's view of the whole clinic), so a clinician gets 403.

The CSV is opened in spreadsheets, where a cell starting with ``=``, ``+``,
``-``, ``@``, tab or carriage return runs as a formula: every cell goes through
``domain.text.for_csv`` (a leading quote), the OWASP "CSV injection" defence.

Date of birth and MRN come with the report's rows (``RpmRow``), from the
profiles the report already reads.
"""

from __future__ import annotations

import csv
import io
import urllib.parse
from dataclasses import dataclass

from chalice import Response

from chalicelib import bootstrap
from chalicelib.console.web import Visit, bp, file_response, page, render
from chalicelib.domain import billing
from chalicelib.domain.billing import RpmRow
from chalicelib.domain.errors import FieldError, MalformedRequestError
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.text import for_csv

PAGE_SIZE = 100  # one BatchGetItem of RPM months per page
# The CSV reads the whole clinic page by page; past this many patients it stops (and says so in the file)
# rather than hold a Lambda for minutes: 200 pages of one Query and one BatchGetItem each.
CSV_MAX_ROWS = 20_000
CSV_HEADER = (
    "Name",
    "Date of birth",
    "MRN",
    "Days with qualifying readings",
    "Sufficient for 99454 / 99445",
    "Minutes",
    "Interactive communication",
    "Codes",
    "Patient ID",
)


@dataclass(frozen=True)
class BillingLine:
    """One patient's line of the report, in the words of the table and the CSV."""

    patient_id: str
    name: str
    date_of_birth: str | None
    mrn: str | None
    device_days: int
    device_code: str | None
    minutes: int
    interactive: bool
    codes: tuple[str, ...]

    @classmethod
    def of(cls, row: RpmRow) -> BillingLine:
        name = " ".join(n for n in (row.given_name, row.family_name) if n) or row.patient_id
        device = (row.device_code,) if row.device_code else ()
        return cls(
            patient_id=row.patient_id,
            name=name,
            date_of_birth=row.birth_date,
            mrn=row.mrn,
            device_days=row.device_days,
            device_code=row.device_code,
            minutes=row.care_minutes,
            interactive=row.interactive,
            codes=(*device, *row.management_codes),
        )

    def cells(self) -> list[str]:
        """The CSV row, every cell made safe for spreadsheets."""
        values = [
            self.name,
            self.date_of_birth or "",
            self.mrn or "",
            str(self.device_days),
            self.device_code or "",
            str(self.minutes),
            "yes" if self.interactive else "no",
            " ".join(self.codes),
            self.patient_id,
        ]
        return [for_csv(v) for v in values]


def lines(rows: list[RpmRow]) -> list[BillingLine]:
    return [BillingLine.of(r) for r in rows]


def _admin(visit: Visit) -> Principal:
    principal = visit.caller
    principal.require(Role.ADMIN)
    return principal


def _month(visit: Visit) -> str:
    """The month asked for (YYYY-MM), or this one (UTC, as the service takes it)."""
    month = visit.query.get("month") or billing.month_of(bootstrap.container().clock())
    if not billing.MONTH.match(month):
        raise MalformedRequestError("The month must look like 2026-11.", [FieldError("month", "YYYY-MM")])
    return month


MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def month_name(month: str) -> str:
    """``2026-12`` → ``December 2026`` (the English catalogue; a translation maps the month names)."""
    year, number = (int(part) for part in month.split("-"))
    return f"{MONTHS[number - 1]} {year}"


@page(bp, "/console/billing")
def billing_page(visit: Visit) -> Response:
    principal = _admin(visit)
    month = _month(visit)
    cursor = visit.query.get("cursor")
    rows, next_cursor = bootstrap.container().billing.report(principal, month, PAGE_SIZE, cursor)
    return render(
        visit,
        "billing.html",
        month=month,
        month_label=month_name(month),
        lines=lines(rows),
        next_link=f"/console/billing?{urllib.parse.urlencode({'month': month, 'cursor': next_cursor})}"
        if next_cursor
        else None,
        first_link=f"/console/billing?{urllib.parse.urlencode({'month': month})}" if cursor else None,
        csv_link=f"/console/billing.csv?{urllib.parse.urlencode({'month': month})}",
    )


@page(bp, "/console/billing.csv")
def billing_csv(visit: Visit) -> Response:
    principal = _admin(visit)
    month = _month(visit)
    service = bootstrap.container().billing
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    written = 0
    cursor: str | None = None
    while True:
        rows, cursor = service.report(principal, month, PAGE_SIZE, cursor)
        writer.writerows(line.cells() for line in lines(rows))
        written += len(rows)
        if cursor is None:
            break
        if written >= CSV_MAX_ROWS:
            writer.writerow([f"Stopped after {written} patients: ask for the rest through GET /billing/rpm."])
            break
    return file_response(visit, out.getvalue(), "text/csv; charset=utf-8", f"carewire-rpm-{month}.csv")
