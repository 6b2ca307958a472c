"""axe-core on every console page (no serious or critical violation), and every page usable at 360 px wide.

axe-core comes vendored in ``axe-playwright-python``; it is evaluated into the
page through the DevTools protocol, which the page's CSP does not govern.  The
violation count of each page is printed (any impact), for the record; the
test fails on a "serious" or "critical" one, naming the rule and the nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser import seed
from tests.browser.conftest import sign_in

BLOCKING = {"serious", "critical"}
NARROW = 360
# The outermost elements that stick out past the right edge (what to fix when the page scrolls sideways).
STICKING_OUT = """limit => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > limit && !e.closest('.table-wrap')
               && !(e.parentElement && e.parentElement.getBoundingClientRect().right > limit))
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''}`
            + ` (right edge ${Math.round(e.getBoundingClientRect().right)} px): `
            + e.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50))"""


def _signed_out(page: Any, show: Any, api: Any) -> str:
    return "/console/sign-in"


def _refused_sign_in(page: Any, show: Any, api: Any) -> str:
    page.goto("/console/sign-in")
    page.get_by_label("Username").fill("nobody-here")
    page.get_by_label("Password").fill("Wrong-password-1!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    return ""  # stay on the answer to the POST


def _as_c1(path: Callable[[Any], str]) -> Callable[[Any, Any, Any], str]:
    def visit(page: Any, show: Any, api: Any) -> str:
        sign_in(page, "clinician", show.cid)
        return path(show)

    return visit


def _billing(page: Any, show: Any, api: Any) -> str:
    sign_in(page, "admin", "a-1")
    return "/console/billing"


def _not_found(page: Any, show: Any, api: Any) -> str:
    other = seed.clinician(api)
    outside = seed.patient(api, [other], "Noor", "Outside")
    sign_in(page, "clinician", show.cid)
    return outside.url


def _not_allowed(page: Any, show: Any, api: Any) -> str:
    sign_in(page, "patient", show.star.pid)
    return "/console/alerts"


PAGES: dict[str, Callable[[Any, Any, Any], str]] = {
    "sign-in": _signed_out,
    "sign-in, refused": _refused_sign_in,
    "worklist": _as_c1(lambda show: "/console/"),
    "alerts": _as_c1(lambda show: "/console/alerts"),
    "one alert": _as_c1(lambda show: f"/console/alerts/{show.panel.critical_alert}"),
    "patient": _as_c1(lambda show: show.star.url),
    "billing (admin)": _billing,
    "error 404": _not_found,
    "error 403": _not_allowed,
}


def blocking(results: Any) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in results.response["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violation_and_no_sideways_scroll_at_360_px(
    page: Any, api: Any, showcase: Any, capsys: Any, name: str
) -> None:
    path = PAGES[name](page, showcase, api)
    if path:
        page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_count(1)

    results = Axe().run(page)
    page.set_viewport_size({"width": NARROW, "height": 800})  # the layout follows; no reload needed
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(STICKING_OUT, NARROW + 1) if width > NARROW + 1 else []

    with capsys.disabled():
        print(f"\naxe {name}: {results.violations_count} violation(s) {results.generate_snapshot().splitlines()}")
    assert blocking(results) == []
    assert width <= NARROW + 1, f"{name}: the page scrolls sideways at {NARROW} px ({width} px wide): {wide}"
