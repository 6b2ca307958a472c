"""Acknowledging an alert on the Alerts page: in place (htmx), without a page navigation, and stored."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser import seed
from tests.browser.conftest import sign_in


def test_acknowledge_changes_the_alert_in_place_and_the_api_sees_it(page: Any, api: Any) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Hana", "Mori")
    alert_id = seed.critical_alert(api, who)
    sign_in(page, "clinician", cid)
    page.goto("/console/alerts")
    expect(page.get_by_role("heading", level=1, name="Alerts")).to_be_visible()
    card = page.get_by_role("article", name=re.compile(re.escape(who.name)))
    expect(card).to_have_count(1)
    expect(card.get_by_role("button", name="Acknowledge")).to_be_visible()
    before = page.url
    page.evaluate("window.__sameDocument = 'kept'")  # a navigation would lose it

    card.get_by_label("Note").fill("Called Hana: she ate, rechecking in 15 minutes")
    card.get_by_role("button", name="Acknowledge").click()

    expect(card.get_by_role("status")).to_have_text("Acknowledged.")
    expect(card.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(card.get_by_role("button", name="Resolve")).to_be_visible()
    expect(card).to_contain_text("Called Hana: she ate, rechecking in 15 minutes")
    assert page.url == before
    assert page.evaluate("window.__sameDocument") == "kept", "the page was reloaded, not updated in place"
    stored = seed.alert(api, alert_id)
    assert stored["status"] == "acknowledged" and stored["acknowledged_by"] == cid
    assert [n["text"] for n in stored["notes"]] == ["Called Hana: she ate, rechecking in 15 minutes"]
