"""The patient page in a real browser: sending a message from it, and its two charts."""

from __future__ import annotations

import re
import secrets
from typing import Any

from playwright.sync_api import expect

from tests.browser import seed
from tests.browser.conftest import sign_in

LOADED = "el => el.tagName.toLowerCase() === 'img' ? el.complete && el.naturalWidth > 0 : el.getBBox().width > 0"


def test_a_message_sent_from_the_patient_page_appears_in_the_thread(page: Any, api: Any) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Tomas", "Lindqvist")
    text = f"Your new meter strips are ready at the front desk ({secrets.token_hex(3)})."
    sign_in(page, "clinician", cid)
    page.goto(who.url)
    expect(page.get_by_role("heading", level=1, name=who.name)).to_be_visible()
    thread = page.get_by_role("region", name="Messages")
    expect(thread.get_by_role("heading", level=2, name="Messages")).to_be_visible()

    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_role("button", name="Send", exact=True).click()

    expect(thread).to_contain_text(text)
    assert text in [m["text"] for m in seed.messages_of(api, who)]


def test_the_patient_page_shows_its_glucose_and_blood_pressure_charts(page: Any, showcase: Any) -> None:
    sign_in(page, "clinician", showcase.cid)

    page.goto(showcase.star.url)

    expect(page.get_by_role("heading", level=1, name=showcase.star.name)).to_be_visible()
    for section, chart in (("Glucose", r"Glucose"), ("Blood pressure", r"Blood pressure")):
        expect(page.get_by_role("heading", level=2, name=section, exact=True)).to_be_visible()
        image = page.get_by_role("img", name=re.compile(chart))
        expect(image).to_have_count(1)
        expect(image).to_be_visible()
        page.wait_for_function(LOADED, arg=image.element_handle())
