"""Console page: the worklist, the clinician's panel in the order of need, with filters and "Mark reviewed".

The page calls ``WorklistService.build`` exactly as ``GET /worklist`` does (chalicelib/api/alerts.py), with the
filters of its GET form, so the order, the rows, the audit trail and who may see it are the API's: a
clinician sees their panel; a patient, a caregiver and an admin get the service's 403 (the worklist is a
clinician's; console.md's "an admin everything" is the admin's Alerts and Billing pages).

What the console adds is paging and presentation, kept small because a page of the panel must stay under
console.md's 200 KB (100 rows a page of the whole panel's order, every row the "not reviewed" filter keeps on
one page, since rows drop out of it as they are marked):

- **One review form for the whole table.**  Each row's "Mark reviewed" (and "Undo") is a button of one form
  around the table, carrying ``<patient_id>|<the review the row showed>``; the CSRF token and the way
  back are in that form once, not in 500.  (Inside it, not tied to it by ``form=``: htmx learns which
  button was pressed from the click bubbling up to the form.)  With JavaScript htmx posts the form and the
  answer names the row's cell to swap (``HX-Retarget``) and updates one status region (``hx-swap-oob``);
  without it the form posts normally and the view answers 303 back to the filtered list.
- **A review is the care team's.**  "Last reviewed" shows who and when, whoever it was; "Reviewed" means
  someone marked the patient today (the clinician's day), and only the reviewer gets "Undo".  A review
  that lost a race (someone else marked or undid first) answers the row as it now is, not an error.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import datetime

from chalice import Response

from chalicelib import bootstrap
from chalicelib.api.patients import known_id
from chalicelib.console.pages.alerts import local_back
from chalicelib.console.web import Visit, bp, page, redirect, render
from chalicelib.domain.errors import FieldError, InvalidInputError, MalformedRequestError
from chalicelib.domain.identity import Principal
from chalicelib.domain.timeutil import parse_iso
from chalicelib.domain.triage import Bucket
from chalicelib.domain.worklist import Need, Review, WorklistFilter, WorklistRow, need_of

HOME = "/console"
MAX_MEMBER = 64
PAGE_ROWS = 100  # rows a page shows; the whole panel is ranked on every page
MAX_PAGE = 1000


@dataclass(frozen=True)
class ReviewCell:
    """What the "Last reviewed" cell of a row shows (a row on the page, or the answer to a review)."""

    patient_id: str
    reviewed_at: str | None
    reviewer: str | None  # a name, or the clinician id when the profile has none
    reviewed_today: bool
    can_undo: bool
    mine: bool


@dataclass(frozen=True)
class RowView:
    row: WorklistRow
    name: str
    need: Need
    review: ReviewCell


def ago(moment: str | None, now: datetime) -> tuple[int, str] | None:
    """How long ago ``moment`` was, in the largest whole unit: ``(3, "d")``; None for never."""
    if not moment:
        return None
    seconds = max(0, int((now - parse_iso(moment)).total_seconds()))
    if seconds < 3600:
        return seconds // 60, "min"
    if seconds < 86400:
        return seconds // 3600, "h"
    return seconds // 86400, "d"


def parse_filter(query: dict[str, str]) -> WorklistFilter:
    """The filters of the GET form; an unknown bucket is a 422 page, empty fields filter nothing."""
    bucket = (query.get("bucket") or "").strip()
    member = (query.get("member") or "").strip()
    if bucket and bucket not in {b.value for b in Bucket}:
        raise InvalidInputError("Please check the filters.", [FieldError("bucket", "not a triage bucket")])
    if len(member) > MAX_MEMBER:
        raise InvalidInputError("Please check the filters.", [FieldError("member", "not a care-team member")])
    return WorklistFilter(
        bucket=Bucket(bucket) if bucket else None,
        member=member or None,
        not_reviewed=query.get("not_reviewed") in ("1", "on", "true"),
    )


def parse_page(query: dict[str, str]) -> int:
    """``?page=``: 1 (the first 100 rows by need) unless a whole number from 1 to 1000; else a 400 naming ``page``."""
    raw = (query.get("page") or "").strip()
    if not raw:
        return 1
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise MalformedRequestError("Unknown page.", [FieldError("page", "a whole number from 1")])
    return int(raw)


def page_link(query: dict[str, str], page: int) -> str:
    """The worklist with the same filters on another page."""
    kept = {k: v for k, v in query.items() if k != "page" and v}
    if page > 1:
        kept["page"] = str(page)
    return HOME + ("?" + urllib.parse.urlencode(kept) if kept else "")


def _full_name(row: WorklistRow) -> str:
    return " ".join(n for n in (row.given_name, row.family_name) if n) or row.patient_id


@page(bp, HOME)
def worklist_page(visit: Visit) -> Response:
    principal = visit.caller
    if principal.is_admin:
        # A worklist is a clinician's panel (the service refuses admins, as GET /worklist does); an admin's
        # home is the clinic's alerts, where sign-in and the console's links land them.
        return redirect(visit, "/console/alerts")
    keep = parse_filter(visit.query)
    number = parse_page(visit.query)
    now = bootstrap.container().clock()
    # "Not reviewed" is worked down the list, each row dropping out as it is marked: pages by position would
    # skip the rows that move up, so that filter shows every row it keeps on one page.
    whole = keep.not_reviewed
    first = 0 if whole else (number - 1) * PAGE_ROWS
    shown = None if whole else slice(first, first + PAGE_ROWS)
    worklist = bootstrap.container().worklist.build(principal, keep, shown)
    names = {m.clinician_id: m.name or m.clinician_id for m in worklist.care_team_members}
    rows = [
        RowView(
            row=r,
            name=_full_name(r),
            need=need_of(r),
            review=ReviewCell(
                patient_id=r.patient_id,
                reviewed_at=r.reviewed_at,
                reviewer=names.get(r.reviewed_by or "", r.reviewed_by),
                reviewed_today=r.reviewed_today,
                can_undo=r.reviewed_today and r.reviewed_by == principal.subject,
                mine=r.reviewed_by == principal.subject,
            ),
        )
        for r in worklist.items
    ]
    filtered = keep != WorklistFilter()
    here = HOME + ("?" + urllib.parse.urlencode(visit.query) if visit.query else "")
    return render(
        visit,
        "worklist.html",
        rows=rows,
        errors=worklist.configuration_errors,
        members=worklist.care_team_members,
        buckets=list(Bucket),
        keep=keep,
        filtered=filtered,
        now=now,
        ago=ago,
        back=here,
        total=worklist.total,
        first=first + 1,
        last=first + len(rows),
        previous_page=page_link(visit.query, number - 1) if number > 1 and not whole else None,
        next_page=page_link(visit.query, number + 1) if not whole and first + PAGE_ROWS < worklist.total else None,
        first_page=page_link(visit.query, 1),
    )


@page(bp, "/console/reviews", methods=("POST",))
def mark_reviewed(visit: Visit) -> Response:
    """Mark the patient of the button pressed (``p``: ``<patient_id>|<the review the row showed>``) reviewed."""
    patient_id, seen = _button(visit.form.get("p"))
    review = bootstrap.container().worklist.mark_reviewed(visit.caller, patient_id, seen or None)
    return _answer(visit, review, "marked")


@page(bp, "/console/reviews/undo", methods=("POST",))
def undo_review(visit: Visit) -> Response:
    """Undo the caller's review (``undo``: ``<patient_id>|<reviewed_at>``): the review before it comes back."""
    patient_id, reviewed_at = _button(visit.form.get("undo"))
    if not reviewed_at:
        raise InvalidInputError("Nothing to undo.", [FieldError("undo", "names no review")])
    review = bootstrap.container().worklist.undo_review(visit.caller, patient_id, reviewed_at)
    return _answer(visit, review, "undone")


def _button(value: str | None) -> tuple[str, str]:
    """A review button's value: the patient (404 when it cannot be one) and a review time (may be empty)."""
    patient_id, _, at = (value or "").partition("|")
    if len(at) > 40:
        raise InvalidInputError("Please reload the page.", [FieldError("p", "not a review")])
    return known_id(patient_id), at


def _answer(visit: Visit, review: Review, action: str) -> Response:
    """htmx: the row's "Last reviewed" cell and the status line; a plain form: 303 back to the list."""
    if not visit.htmx:
        return redirect(visit, local_back(visit.form.get("back"), HOME))
    principal: Principal = visit.caller
    cell = ReviewCell(
        patient_id=review.patient_id,
        reviewed_at=review.reviewed_at,
        reviewer=review.reviewed_by_name or review.reviewed_by,
        reviewed_today=review.reviewed_today,
        can_undo=review.can_undo,
        mine=review.reviewed_by == principal.subject,
    )
    name = review.patient_name or review.patient_id
    response = render(
        visit,
        "_worklist_review.html",
        cell=cell,
        now=bootstrap.container().clock(),
        ago=ago,
        notice={"action": action, "changed": review.changed, "name": name},
    )
    response.headers["HX-Retarget"] = f"#r-{review.patient_id}"
    response.headers["HX-Reswap"] = "innerHTML"
    return response
