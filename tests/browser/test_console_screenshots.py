"""The screenshots in docs/: the worklist and the patient page with seeded, realistic data.

Written on every run (the pages change; the pictures follow), full page at
1280 px wide.  The test fails when a page is not what console.md says it is,
so a broken page is never photographed into the docs.  A picture over 400 KB
(the patient page is long: two charts, 25 logbook rows, 25 timeline events)
is stored with a 256-colour palette by Pillow, which comes with cairosvg (a
pinned dev dependency): text and charts stay sharp and the chart colours exact
(128 colours turned the 54 mg/dL line brown), the file half the size.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import DOCS, sign_in

LIMIT = 400 * 1024  # above it, a palette
CEILING = 512 * 1024  # the patient page is long; a 256-colour palette keeps the clinical colours exact
LOADED = "els => els.every(el => el.complete && el.naturalWidth > 0)"


def shoot(page: Any, name: str) -> int:
    target = DOCS / name
    page.screenshot(path=str(target), full_page=True, animations="disabled", caret="hide")
    if target.stat().st_size > LIMIT:
        from PIL import Image

        with Image.open(target) as taken:
            palette = taken.convert("RGB").quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        palette.save(target, optimize=True)
    return target.stat().st_size


def test_the_screenshots_of_the_worklist_and_the_patient_page(page: Any, showcase: Any) -> None:
    sign_in(page, "clinician", showcase.cid)
    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()
    expect(page.get_by_role("table", name="Patients by need").get_by_role("link")).not_to_have_count(0)
    worklist = shoot(page, "console-worklist.png")

    page.goto(showcase.star.url)
    expect(page.get_by_role("heading", level=1, name=showcase.star.name)).to_be_visible()
    expect(page.get_by_role("region", name="Messages")).to_contain_text("juice helped")
    page.wait_for_function(LOADED, arg=page.locator("img").element_handles())
    patient = shoot(page, "console-patient.png")

    assert worklist < CEILING and patient < CEILING, (worklist, patient)
