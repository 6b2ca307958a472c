"""The worklist in a real browser: the panel in console.md's order of need, its flags, review and undo, the keyboard.

Each test seeds a clinician of its own (tests/browser/seed.py), so its panel
holds exactly the patients it made, whatever else the session's stack holds.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import expect

from tests.browser import seed
from tests.browser.conftest import sign_in

FOCUS_SHOWN = """el => {
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return el.matches(':focus-visible') && (outline || style.boxShadow !== 'none');
}"""


def patient_rows(page: Any) -> Any:
    """The rows of the table "Patients by need" that name a patient (the header row names none)."""
    table = page.get_by_role("table", name="Patients by need")
    return table.get_by_role("row").filter(has=page.get_by_role("link"))


def worklist_row(api: Any, cid: str, pid: str) -> dict[str, Any]:
    items = api.call("GET", "/worklist", as_=("clinician", cid))["items"]
    return dict(next(item for item in items if item["patient_id"] == pid))


def test_the_worklist_lists_the_panel_in_order_of_need_with_its_flags(page: Any, api: Any) -> None:
    panel = seed.worklist_panel(api)

    sign_in(page, "clinician", panel.cid)

    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()
    rows = patient_rows(page)
    expect(rows).to_have_count(4)
    shown = [rows.nth(i).get_by_role("link").first.inner_text().strip() for i in range(4)]
    assert shown == [p.name for p in panel.in_order]
    critical, routine, stale, fine = (rows.nth(i) for i in range(4))
    for who, row in zip(panel.in_order, (critical, routine, stale, fine), strict=True):
        expect(row.get_by_role("link", name=who.name, exact=True)).to_have_attribute("href", who.url)
        expect(row.get_by_role("cell", name=re.compile(r"^\d+\s*\/\s*16$"))).to_have_count(1)  # readings-days
        expect(row.get_by_role("cell", name=re.compile(r"^\d+\s*\/\s*20$"))).to_have_count(1)  # care minutes
    expect(critical).to_contain_text("Critical alert")
    expect(critical).to_contain_text("Very low glucose")  # 45 mg/dL this morning: the first triage rule
    for row in (routine, stale, fine):
        expect(row).not_to_contain_text("Critical alert")


def test_mark_reviewed_then_undo(page: Any, api: Any) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Priya", "Raman")
    sign_in(page, "clinician", cid)
    row = patient_rows(page).filter(has=page.get_by_role("link", name=who.name, exact=True))
    expect(row).to_have_count(1)

    row.get_by_role("button", name="Mark reviewed").click()

    undo = page.get_by_role("button", name="Undo", exact=True)
    expect(undo).to_be_visible()
    stored = worklist_row(api, cid, who.pid)
    assert stored["reviewed_by"] == cid and stored["reviewed_at"] is not None

    undo.click()

    expect(row.get_by_role("button", name="Mark reviewed")).to_be_visible()
    stored = worklist_row(api, cid, who.pid)
    assert stored["reviewed_at"] is None and stored["reviewed_by"] is None


def tab_to(page: Any, target: Any, limit: int = 400) -> None:
    """Press Tab until ``target`` has the focus (a person finds their way the same way)."""
    handle = target.element_handle()
    for _ in range(limit):
        if page.evaluate("el => el === document.activeElement", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


def test_keyboard_only_from_the_worklist_to_a_sent_message(page: Any, api: Any) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Nadia", "Rahman")
    text = f"Please call the clinic today ({secrets.token_hex(3)})."
    sign_in(page, "clinician", cid)
    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()

    link = page.get_by_role("link", name=who.name, exact=True)
    tab_to(page, link)
    assert link.evaluate(FOCUS_SHOWN), "the focused patient link shows no focus indicator"
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1, name=who.name)).to_be_visible()
    box = page.get_by_label("Message", exact=True)
    tab_to(page, box)
    assert box.evaluate(FOCUS_SHOWN), "the focused Message box shows no focus indicator"
    page.keyboard.type(text)
    send = page.get_by_role("button", name="Send", exact=True)
    tab_to(page, send, limit=10)
    assert send.evaluate(FOCUS_SHOWN), "the focused Send button shows no focus indicator"
    page.keyboard.press("Enter")

    expect(page.get_by_role("region", name="Messages")).to_contain_text(text)
    assert text in [m["text"] for m in seed.messages_of(api, who)]
