"""Access rules, security headers, the CSP in force, and forged cross-site POSTs, as a browser meets them."""

from __future__ import annotations

import contextlib
import html
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from devstack.stack import free_port
from tests.browser import seed
from tests.browser.conftest import sign_in

CONSOLE_MD = Path(__file__).resolve().parents[2] / "docs" / "console.md"


def documented_csp() -> str:
    """The Content-Security-Policy console.md gives, whitespace as one header value has it."""
    found = re.search(r"`Content-Security-Policy: ([^`]+)`", CONSOLE_MD.read_text(encoding="utf-8"))
    assert found, "docs/console.md no longer states the Content-Security-Policy"
    return " ".join(found.group(1).split())


def csrf_token(page: Any) -> str:
    return str(page.locator("input[name=csrf_token]").first.input_value())


# -- access ------------------------------------------------------------------------------------


def test_a_patient_outside_the_clinicians_panel_is_a_404_page(page: Any, api: Any) -> None:
    other = seed.clinician(api)
    who = seed.patient(api, [other], "Omar", "Farouk")
    sign_in(page, "clinician", "c-1")

    answer = page.goto(who.url)

    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", level=1, name="Not found")).to_be_visible()
    expect(page.get_by_text("Farouk")).to_have_count(0)
    for path in (f"{who.url}/charts/glucose.svg", f"{who.url}/charts/bp.svg", f"{who.url}/readings.csv"):
        assert page.request.get(path).status == 404, path


def test_a_patient_session_is_refused_on_every_page(page: Any, api: Any, base_url: str, showcase: Any) -> None:
    who = showcase.star
    sign_in(page, "patient", who.pid)  # the patient whose own record it is

    pages = ["/console/", "/console/alerts", f"/console/alerts/{showcase.panel.critical_alert}", who.url]
    for path in [*pages, f"{who.url}?days=90", "/console/billing"]:
        answer = page.goto(path)
        assert answer is not None and answer.status == 403, path
        expect(page.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
        expect(page.get_by_text(who.family_name)).to_have_count(0)
    files = [f"{who.url}/charts/glucose.svg", f"{who.url}/charts/bp.svg", f"{who.url}/readings.csv"]
    files += [f"{who.url}/export.json", "/console/billing.csv"]
    for path in files:
        assert page.request.get(path).status == 403, path
    # A state change with the session's own CSRF token, from the console's origin, is refused too.
    fields = {"csrf_token": csrf_token(page), "text": "sent by the patient through the console"}
    sent = page.request.post(f"{who.url}/messages", form=fields, headers={"Origin": base_url}, max_redirects=0)
    assert sent.status == 403
    assert fields["text"] not in [m["text"] for m in seed.messages_of(api, who)]


def test_billing_is_for_admins_only(page: Any) -> None:
    sign_in(page, "clinician", "c-1")

    answer = page.goto("/console/billing")

    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()


# -- headers -----------------------------------------------------------------------------------


def test_every_page_sends_console_mds_security_headers(page: Any, context: Any, showcase: Any) -> None:
    csp = documented_csp()
    star = showcase.star.url
    patient_data = [
        "/console/",
        "/console/alerts",
        f"/console/alerts/{showcase.panel.critical_alert}",
        star,
        f"{star}?days=30",
        f"{star}/charts/glucose.svg",
        f"{star}/charts/bp.svg",
        f"{star}/readings.csv",
        f"{star}/export.json",
    ]
    signed_out = context.request.get("/console/sign-in")
    login = context.request.get("/_local/console-login?role=clinician&subject=c-1", max_redirects=0)
    checked = {"/console/sign-in": signed_out}
    checked.update({path: context.request.get(path) for path in patient_data})

    for path, answer in checked.items():
        headers = answer.headers
        assert answer.status == 200, path
        assert headers.get("content-security-policy") == csp, path
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "same-origin", path
    for path in patient_data:
        assert checked[path].headers.get("cache-control") == "no-store", path
    cookie = login.headers.get("set-cookie", "")
    assert cookie.startswith("__Host-carewire=")
    attributes = [a.strip() for a in cookie.split(";")[1:]]
    assert sorted(attributes) == sorted(["Secure", "HttpOnly", "SameSite=Lax", "Path=/"])  # no Domain, no lifetime


def test_pages_run_under_the_csp_without_a_violation(page: Any, showcase: Any) -> None:
    reported: list[str] = []
    logged: list[str] = []
    page.expose_function("__cspViolation", lambda text: reported.append(text))
    page.add_init_script(
        """document.addEventListener('securitypolicyviolation', e => {
             window.__cspSeen = (window.__cspSeen || 0) + 1;
             window.__cspViolation(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
           });"""
    )
    page.on("console", lambda message: logged.append(message.text))
    page.on("pageerror", lambda error: logged.append(f"page error: {error}"))
    sign_in(page, "clinician", showcase.cid)
    star = showcase.star.url

    for path in ["/console/", "/console/alerts", f"/console/alerts/{showcase.panel.critical_alert}", star]:
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.htmx !== undefined"), f"htmx did not load on {path}"
    csp_lines = [line for line in logged if "Content Security Policy" in line or "page error" in line]
    assert reported == [] and csp_lines == []

    # The listeners hear a violation when there is one: an inline script is refused and reported.
    page.evaluate("() => { const s = document.createElement('script'); s.textContent = '1'; document.body.append(s); }")
    page.wait_for_function("window.__cspSeen > 0")
    assert any(r.startswith("script-src") for r in reported), reported


# -- forged cross-site POSTs -------------------------------------------------------------------


@contextlib.contextmanager
def attacker_site(host: str, action: str) -> Iterator[str]:
    """Another origin serving a page whose form posts itself to ``action`` as soon as it loads."""
    body = f"""<!doctype html><html><body>
<form method="post" action="{html.escape(action)}"><input type="hidden" name="note" value="forged"></form>
<script>document.forms[0].submit();</script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("host", "refusal"),
    [
        # localhost and 127.0.0.1 are different sites: SameSite=Lax keeps the cookie off the POST.
        ("localhost", "Your session has ended"),
        # Another port of 127.0.0.1 is the same site: the cookie goes, the Origin check refuses it.
        ("127.0.0.1", "This form was not sent from the console"),
    ],
)
def test_a_form_posted_from_another_origin_is_refused(
    page: Any, api: Any, base_url: str, host: str, refusal: str
) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Iris", "Delgado")
    alert_id = seed.critical_alert(api, who)
    sign_in(page, "clinician", cid)
    action = f"{base_url}/console/alerts/{alert_id}/acknowledge"

    with attacker_site(host, action) as site, page.expect_response(action) as posted:
        page.goto(site)

    answer = posted.value
    cookie_sent = "__Host-carewire=" in (answer.request.all_headers().get("cookie") or "")
    assert cookie_sent == (host == "127.0.0.1")
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
    expect(page.get_by_text(refusal)).to_be_visible()
    stored = seed.alert(api, alert_id)
    assert stored["status"] == "open" and stored["notes"] == []


def test_a_post_with_the_cookie_but_without_origin_or_token_is_refused(
    page: Any, context: Any, api: Any, base_url: str
) -> None:
    cid = seed.clinician(api)
    who = seed.patient(api, [cid], "Yusuf", "Karim")
    alert_id = seed.critical_alert(api, who)
    sign_in(page, "clinician", cid)
    page.goto("/console/alerts")
    token = csrf_token(page)
    cookie = next(c["value"] for c in context.cookies() if c["name"] == "__Host-carewire")
    url = f"{base_url}/console/alerts/{alert_id}/acknowledge"

    def post(origin: str | None, fields: dict[str, str]) -> int:
        headers = {"Cookie": f"__Host-carewire={cookie}"}
        if origin is not None:
            headers["Origin"] = origin
        sent = requests.post(url, data={"note": "forged", **fields}, headers=headers, allow_redirects=False, timeout=30)
        return sent.status_code

    attempts = {
        "foreign origin, no token": post("https://evil.example", {}),
        "foreign origin, invalid token": post("https://evil.example", {"csrf_token": "x" * 43}),
        "foreign origin, the real token": post("https://evil.example", {"csrf_token": token}),
        "null origin, the real token": post("null", {"csrf_token": token}),
        "no origin or referer, the real token": post(None, {"csrf_token": token}),
        "own origin, no token": post(base_url, {}),
        "own origin, invalid token": post(base_url, {"csrf_token": token[:-1] + ("A" if token[-1] != "A" else "B")}),
    }

    assert attempts == dict.fromkeys(attempts, 403)
    stored = seed.alert(api, alert_id)
    assert stored["status"] == "open" and stored["notes"] == []
    # The same request from the console's origin with its token goes through: the refusals were the checks.
    assert post(base_url, {"csrf_token": token}) == 303
    assert seed.alert(api, alert_id)["status"] == "acknowledged"
