"""The console's HTTP edge (chalicelib/console/web.py) on the real stack: cookie, session, tokens, POST checks, headers.

The app runs in-process against DynamoDB Local and moto's Cognito; sessions
start as ``/_local/console-login`` starts them (``tests/integration/console_client.py``).
The page used is ``/console/alerts`` and its Acknowledge form, whose effect can
be read back through the JSON API: a refused POST leaves the alert open.

Expiry of an access token: the token verifier reads the wall clock and the
container gives it no other, so a token cannot be aged in-process.  Instead
the test makes the token a session would hold an hour later: the one moto
issued, with ``exp`` in the past, signed with moto's own (published) user-pool
key, so the verifier checks its signature and issuer and refuses it as
expired only, exactly as it would refuse the real one after an hour.
"""

from __future__ import annotations

import contextlib
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body
from tests.integration.console_client import HOST, ORIGIN, Console, text

# console.md, "Shape": the policy every page sends, verbatim.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
PAGE = "/console/alerts"
SIGN_IN = "/console/sign-in"


# -- helpers -------------------------------------------------------------------------------------------


def container() -> Any:
    from chalicelib import bootstrap

    return bootstrap.container()


def cognito() -> Any:
    return container().client("cognito-idp")


def staff_pool_id() -> str:
    s = container().settings
    return str(s.staff_user_pool_id or s.user_pool_id)


def new_clinician(api: Api, clinic: dict[str, Any]) -> str:
    cid = f"c-edge-{uuid.uuid4().hex[:8]}"
    response = api.call(
        "PUT",
        f"/clinicians/{cid}",
        {"given_name": "Edna", "phone": "+15551239003", "email": f"{cid}@clinic.example", "escalation_contacts": []},
        as_=clinic["admin"],
    )
    assert response.status_code == 200, response.body
    return cid


def open_alert(api: Api, stream_runner: Any, clinic: dict[str, Any], cid: str) -> str:
    """A patient on ``cid``'s panel whose glucose of 45 opens one critical alert; its id."""
    pid = f"p-edge-{uuid.uuid4().hex[:8]}"
    created = api.call("POST", "/patients", patient_body(pid, care_team=[cid]), as_=clinic["admin"])
    assert created.status_code == 201, created.body
    measured = (datetime.now(UTC) - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    reading = {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 45,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": measured,
        "source": "app",
        "device_id": "meter-9",
    }
    posted = api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid))
    assert posted.status_code in (200, 201), posted.body
    stream_runner.drain()
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["admin"]))["items"]
    assert len(alerts) == 1, alerts
    return str(alerts[0]["alert_id"])


def alert_status(api: Api, clinic: dict[str, Any], alert_id: str) -> str:
    response = api.call("GET", f"/alerts/{alert_id}", as_=clinic["admin"])
    assert response.status_code == 200, response.body
    return str(body(response)["status"])


def header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


def stored_row(console: Console) -> dict[str, Any] | None:
    from chalicelib.adapters.sessions import DynamoSessionStore

    found: dict[str, Any] | None = DynamoSessionStore(container().table).get(console.session.key)
    return found


def assert_signed_out(response: Any, console: Console, path: str = PAGE) -> None:
    """Sent to sign in again, the cookie cleared in the browser and the session's row gone from the table."""
    assert response.status_code == 303, text(response)
    assert header(response, "Location") == f"{SIGN_IN}?next={path}"
    cookie = header(response, "Set-Cookie") or ""
    assert cookie.startswith("__Host-carewire=;") and "Max-Age=0" in cookie, cookie
    assert "Path=/" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    assert stored_row(console) is None
    assert container().console_sessions.resume(console.cookie) is None


def expired_copy(access_token: str) -> str:
    """``access_token`` as it is an hour after issue: same claims, ``exp`` in the past, signed by moto's pool key."""
    import jwt
    from joserfc import jwk
    from moto.utilities.utils import load_resource

    claims = jwt.decode(access_token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(iat=now - 3700, auth_time=now - 3700, exp=now - 100)
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    header_fields = jwt.get_unverified_header(access_token)
    pem = key.as_pem(private=True)
    return str(jwt.encode(claims, pem, algorithm="RS256", headers={"kid": header_fields["kid"]}))


@contextlib.contextmanager
def initiate_auth_calls() -> Iterator[list[dict[str, Any]]]:
    """Every InitiateAuth the app's Cognito client sends meanwhile (its API parameters)."""
    calls: list[dict[str, Any]] = []

    def hook(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client = cognito()
    event = "before-parameter-build.cognito-idp.InitiateAuth"
    client.meta.events.register(event, hook)
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, hook)


@pytest.fixture(scope="module")
def clinician(api: Api, clinic: dict[str, Any]) -> str:
    return new_clinician(api, clinic)


@pytest.fixture
def console(api: Api, issuer: Any, clinician: str) -> Console:
    return Console(api.client, issuer, "clinician", clinician)


# -- who gets in -----------------------------------------------------------------------------------------


def test_without_a_cookie_a_page_sends_the_browser_to_sign_in_with_where_it_was_going(api: Api) -> None:
    response = api.client.http.get(PAGE, headers={"Host": HOST})
    assert response.status_code == 303
    assert header(response, "Location") == f"{SIGN_IN}?next=/console/alerts"
    assert header(response, "Set-Cookie") is None
    assert header(response, "Cache-Control") == "no-store"

    response = api.client.http.get(PAGE + "?cursor=0%3Aabc&x=1", headers={"Host": HOST})
    assert response.status_code == 303
    location = header(response, "Location") or ""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    assert location.startswith(SIGN_IN + "?next=") and list(query) == ["next"]
    assert query["next"] == ["/console/alerts?cursor=0%3Aabc&x=1"]


@pytest.mark.parametrize(
    "cookie",
    [
        "__Host-carewire=garbage",
        "__Host-carewire=" + "A" * 43,
        "__Host-carewire=" + "A" * 500,
        "__Host-carewire=",
        "carewire=" + "A" * 43,
        '__Host-carewire="unterminated',
        "; ;;=",
    ],
    ids=["garbage", "unknown", "oversized", "empty", "other-name", "unparseable", "junk"],
)
def test_a_cookie_that_names_no_session_is_the_same_as_none(api: Api, cookie: str) -> None:
    response = api.client.http.get(PAGE, headers={"Host": HOST, "Cookie": cookie})
    assert response.status_code == 303, text(response)
    assert header(response, "Location") == f"{SIGN_IN}?next=/console/alerts"


@pytest.mark.parametrize(
    "others",
    [
        ('prefs={"theme":"dark"}', ""),
        ("", "consent=yes please"),
        ("flag", ""),
        ('quoted="unterminated', ""),
    ],
    ids=["json-value-before", "space-in-value-after", "bare-name-before", "unterminated-quote-before"],
)
def test_another_cookie_the_browser_holds_for_the_host_does_not_hide_the_session(
    console: Console, others: tuple[str, str]
) -> None:
    """Browsers send cookies RFC 6265 calls invalid (set by another app on the parent domain): ours still counts."""
    before, after = others
    sent = "; ".join(part for part in (before, console.cookie_header, after) if part)
    response = console.client.http.get(PAGE, headers={"Host": HOST, "Cookie": sent})
    assert response.status_code == 200, (sent, response.status_code, header(response, "Location"))


def test_an_htmx_request_without_a_session_is_sent_to_sign_in_by_htmx_not_swapped_into_the_page(
    api: Api, clinic: dict[str, Any]
) -> None:
    """A 303 would be followed inside the request, and htmx would swap the sign-in form into the section."""
    response = api.client.http.get(PAGE, headers={"Host": HOST, "HX-Request": "true"})

    assert response.status_code == 200
    assert header(response, "HX-Redirect") == f"{SIGN_IN}?next=/console/alerts"
    assert header(response, "Location") is None


def test_a_post_without_a_session_is_refused_not_redirected(api: Api, clinic: dict[str, Any]) -> None:
    response = api.client.http.post(
        f"{PAGE}/a-1/acknowledge",
        headers={"Host": HOST, "Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
        body="csrf_token=x",
    )
    assert response.status_code == 403
    assert "text/html" in (header(response, "Content-Type") or "")


def test_a_live_session_gets_the_page_with_console_md_headers(console: Console) -> None:
    response = console.get(PAGE)
    assert response.status_code == 200, text(response)
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Content-Security-Policy") == CSP
    assert header(response, "X-Content-Type-Options") == "nosniff"
    assert header(response, "Referrer-Policy") == "same-origin"
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "Set-Cookie") is None  # the cookie is set once, at sign-in
    assert "<h1>Alerts</h1>" in text(response)
    assert console.cookie not in text(response)


def test_error_pages_carry_the_same_headers(console: Console) -> None:
    response = console.get(f"{PAGE}/no-such-alert")
    assert response.status_code == 404, text(response)
    assert header(response, "Content-Type") == "text/html; charset=utf-8"
    assert header(response, "Content-Security-Policy") == CSP
    assert header(response, "X-Content-Type-Options") == "nosniff"
    assert header(response, "Referrer-Policy") == "same-origin"
    assert header(response, "Cache-Control") == "no-store"


def test_a_patient_session_gets_a_403_page_not_the_alerts(api: Api, issuer: Any, clinic: dict[str, Any]) -> None:
    patient = Console(api.client, issuer, "patient", "p-1")
    response = patient.get(PAGE)
    assert response.status_code == 403, text(response)
    assert header(response, "Content-Security-Policy") == CSP


# -- POSTs: Origin and CSRF ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def alert(api: Api, stream_runner: Any, clinic: dict[str, Any], clinician: str) -> str:
    """One open alert on the module clinician's panel; refused POSTs must leave it open."""
    return open_alert(api, stream_runner, clinic, clinician)


def acknowledge(console: Console, alert_id: str, **kwargs: Any) -> Any:
    return console.post(f"{PAGE}/{alert_id}/acknowledge", {"note": "seen", "back": PAGE}, **kwargs)


REFUSED: dict[str, dict[str, Any]] = {
    "wrong-origin": {"origin": "https://evil.example"},
    "origin-on-another-port": {"origin": ORIGIN + ":8443"},
    "https-origin-for-http": {"origin": "https://" + HOST},
    "null-origin": {"origin": "null"},
    "no-origin-no-referer": {"origin": None},
    "no-origin-cross-site-referer": {"origin": None, "headers": {"Referer": "https://evil.example/console/alerts"}},
    "no-origin-lookalike-referer": {"origin": None, "headers": {"Referer": f"http://{HOST}.evil.example/x"}},
    "wrong-origin-same-referer": {"origin": "https://evil.example", "headers": {"Referer": ORIGIN + PAGE}},
    "no-csrf-token": {"csrf": False},
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_post_failing_the_origin_or_csrf_check_is_403_and_the_view_does_not_run(
    api: Api, clinic: dict[str, Any], console: Console, alert: str, case: str
) -> None:
    response = acknowledge(console, alert, **REFUSED[case])
    assert response.status_code == 403, text(response)
    assert header(response, "Content-Security-Policy") == CSP
    assert alert_status(api, clinic, alert) == "open"


def test_a_post_with_a_wrong_csrf_token_is_403(
    api: Api, issuer: Any, clinic: dict[str, Any], console: Console, clinician: str, alert: str
) -> None:
    other = Console(api.client, issuer, "clinician", clinician)  # the same user's other session
    for token in (other.csrf_token, console.csrf_token[:-1], console.csrf_token + "A", ""):
        response = console.post(f"{PAGE}/{alert}/acknowledge", {"csrf_token": token, "note": "seen"}, csrf=False)
        assert response.status_code == 403, (token, text(response))
    header_only = acknowledge(console, alert, csrf=False, headers={"X-CSRF-Token": other.csrf_token})
    assert header_only.status_code == 403
    assert alert_status(api, clinic, alert) == "open"


def test_a_post_with_no_origin_but_a_same_origin_referer_goes_through(
    api: Api, stream_runner: Any, clinic: dict[str, Any], console: Console, clinician: str
) -> None:
    alert_id = open_alert(api, stream_runner, clinic, clinician)
    response = acknowledge(console, alert_id, origin=None, headers={"Referer": f"{ORIGIN}{PAGE}?cursor=x"})
    assert response.status_code == 303, text(response)
    assert header(response, "Location") == PAGE
    assert alert_status(api, clinic, alert_id) == "acknowledged"


def test_a_post_with_the_csrf_token_in_the_htmx_header_goes_through(
    api: Api, stream_runner: Any, clinic: dict[str, Any], console: Console, clinician: str
) -> None:
    alert_id = open_alert(api, stream_runner, clinic, clinician)
    response = acknowledge(
        console, alert_id, csrf=False, headers={"X-CSRF-Token": console.csrf_token, "HX-Request": "true"}
    )
    assert response.status_code == 200, text(response)
    assert header(response, "Content-Security-Policy") == CSP
    assert alert_status(api, clinic, alert_id) == "acknowledged"


# -- sessions that Cognito no longer honours -----------------------------------------------------------------


def test_a_user_signed_out_in_cognito_loses_the_console_session(
    api: Api, issuer: Any, clinic: dict[str, Any], clinician: str
) -> None:
    console = Console(api.client, issuer, "clinician", clinician)
    cognito().global_sign_out(AccessToken=console.session.tokens.access)
    assert_signed_out(console.get(PAGE), console)
    again = console.get(PAGE)  # a browser that kept the cookie anyway
    assert again.status_code == 303 and header(again, "Set-Cookie") is None


def test_a_user_disabled_in_cognito_loses_the_console_session(api: Api, issuer: Any, clinic: dict[str, Any]) -> None:
    cid = new_clinician(api, clinic)
    console = Console(api.client, issuer, "clinician", cid)
    cognito().admin_disable_user(UserPoolId=staff_pool_id(), Username=cid)
    try:
        assert_signed_out(console.get(PAGE), console)
    finally:
        cognito().admin_enable_user(UserPoolId=staff_pool_id(), Username=cid)


def test_a_post_from_a_session_cognito_no_longer_honours_is_refused_and_the_cookie_cleared(
    api: Api, issuer: Any, clinic: dict[str, Any], clinician: str, alert: str
) -> None:
    console = Console(api.client, issuer, "clinician", clinician)
    cognito().global_sign_out(AccessToken=console.session.tokens.access)
    response = acknowledge(console, alert)
    assert response.status_code == 403, text(response)
    assert "Max-Age=0" in (header(response, "Set-Cookie") or "")
    assert stored_row(console) is None
    assert alert_status(api, clinic, alert) == "open"


# -- an expired access token --------------------------------------------------------------------------------


def aged(api: Api, issuer: Any, clinician: str, refresh: bool = True) -> tuple[Console, str]:
    """A session whose access token has expired (its refresh token, if any, still good); and that token."""
    from chalicelib.services.console_sessions import Tokens

    console = Console(api.client, issuer, "clinician", clinician)
    expired = expired_copy(console.session.tokens.access)
    tokens = Tokens(expired, console.session.tokens.refresh if refresh else None)
    console.cookie, console.session = container().console_sessions.start(clinician, tokens)
    console.cookie_header = f"__Host-carewire={console.cookie}"
    return console, expired


def test_the_made_up_expired_token_is_refused_for_expiry_alone(api: Api, issuer: Any, clinician: str) -> None:
    """The simulation is faithful: signature, issuer and client check out; only ``exp`` is wrong."""
    from chalicelib.domain.errors import AuthenticationError

    console = Console(api.client, issuer, "clinician", clinician)
    verifier = container().token_verifier
    assert verifier.verify(console.session.tokens.access).subject == clinician
    with pytest.raises(AuthenticationError, match="expired"):
        verifier.verify(expired_copy(console.session.tokens.access))


def test_an_expired_access_token_is_refreshed_once_and_the_row_holds_the_new_one_sealed(
    api: Api, issuer: Any, clinician: str
) -> None:
    console, expired = aged(api, issuer, clinician)
    refresh = console.session.tokens.refresh
    assert refresh
    sealed_before = (stored_row(console) or {})["access_token"]

    with initiate_auth_calls() as calls:
        first = console.get(PAGE)
        second = console.get(PAGE)
    assert first.status_code == 200, text(first)
    assert second.status_code == 200, text(second)
    assert [c["AuthFlow"] for c in calls] == ["REFRESH_TOKEN_AUTH"]
    assert calls[0]["AuthParameters"] == {"REFRESH_TOKEN": refresh}
    assert header(first, "Set-Cookie") is None  # same session, same cookie

    row = stored_row(console)
    assert row is not None
    assert row["access_token"] != sealed_before
    resumed = container().console_sessions.resume(console.cookie)
    assert resumed is not None
    assert resumed.tokens.access != expired
    assert container().token_verifier.verify(resumed.tokens.access).subject == clinician
    assert resumed.tokens.access not in str(row) and refresh not in str(row)  # sealed, not plain
    assert resumed.tokens.refresh == refresh  # moto, like Cognito, does not rotate it: the old one is kept
    assert resumed.csrf_token == console.session.csrf_token


def test_an_expired_access_token_with_a_revoked_refresh_token_ends_the_session(
    api: Api, issuer: Any, clinician: str
) -> None:
    console, _ = aged(api, issuer, clinician)
    fresh = Console(api.client, issuer, "clinician", clinician)
    cognito().global_sign_out(AccessToken=fresh.session.tokens.access)  # revokes every refresh token of the user
    with initiate_auth_calls() as calls:
        response = console.get(PAGE)
    assert [c["AuthFlow"] for c in calls] == ["REFRESH_TOKEN_AUTH"]
    assert_signed_out(response, console)


def test_a_refreshed_token_that_is_still_refused_ends_the_session(
    api: Api, issuer: Any, clinic: dict[str, Any]
) -> None:
    """Taken out of the clinicians group: the refresh works, the new token carries no role; sign in again, once."""
    cid = new_clinician(api, clinic)
    console, _ = aged(api, issuer, cid)
    cognito().admin_remove_user_from_group(UserPoolId=staff_pool_id(), Username=cid, GroupName="clinicians")
    with initiate_auth_calls() as calls:
        first = console.get(PAGE)
        second = console.get(PAGE)  # a browser that kept the cookie: no second refresh
    assert [c["AuthFlow"] for c in calls] == ["REFRESH_TOKEN_AUTH"]
    assert_signed_out(first, console)
    assert second.status_code == 303 and header(second, "Location") == f"{SIGN_IN}?next={PAGE}"


def test_an_expired_access_token_without_a_refresh_token_ends_the_session(
    api: Api, issuer: Any, clinician: str
) -> None:
    console, _ = aged(api, issuer, clinician, refresh=False)
    with initiate_auth_calls() as calls:
        response = console.get(PAGE)
    assert calls == []
    assert_signed_out(response, console)


def test_a_garbage_access_token_ends_the_session(api: Api, issuer: Any, clinician: str) -> None:
    from chalicelib.services.console_sessions import Tokens

    console = Console(api.client, issuer, "clinician", clinician)
    console.cookie, console.session = container().console_sessions.start(
        clinician, Tokens("not-a-token", console.session.tokens.refresh)
    )
    console.cookie_header = f"__Host-carewire={console.cookie}"
    assert_signed_out(console.get(PAGE), console)


def test_cognito_sign_in_refresh_answers_new_tokens_or_none_once_revoked(api: Api, issuer: Any) -> None:
    """``CognitoSignIn.refresh`` against moto: the app client is read from the (expired) access token."""
    from chalicelib.services.console_sessions import Session, Tokens

    cid = f"c-edge-{uuid.uuid4().hex[:8]}"
    result = issuer.sign_in("clinician", cid)
    now = datetime.now(UTC)
    session = Session("k", cid, "csrf", Tokens(expired_copy(result["AccessToken"]), result["RefreshToken"]), now, now)
    renewed = container().console_sign_in.refresh(session)
    assert renewed is not None
    assert container().token_verifier.verify(renewed.access).subject == cid
    cognito().global_sign_out(AccessToken=renewed.access)
    assert container().console_sign_in.refresh(session) is None


# -- static files -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("plain", ["console.css", "console.js", "htmx.min.js"])
def test_a_static_file_is_served_under_its_hashed_name_for_a_year(api: Api, plain: str) -> None:
    from chalicelib.console import assets

    url = assets.url(plain)
    response = api.client.http.get(url, headers={"Host": HOST})
    assert response.status_code == 200
    expected_type = "text/css; charset=utf-8" if plain.endswith(".css") else "text/javascript; charset=utf-8"
    assert header(response, "Content-Type") == expected_type
    assert header(response, "Cache-Control") == "public, max-age=31536000, immutable"
    assert header(response, "X-Content-Type-Options") == "nosniff"
    served = response.body if isinstance(response.body, bytes) else response.body.encode()
    assert served == (assets.STATIC_DIR / plain).read_bytes()


@pytest.mark.parametrize(
    "name",
    ["console.css", "console.00000000.css", "nothing.js", "..%2Fassets.py", "console.CSS"],
)
def test_a_plain_or_unknown_static_name_is_404(api: Api, name: str) -> None:
    response = api.client.http.get(f"/console/static/{name}", headers={"Host": HOST})
    assert response.status_code == 404
    assert header(response, "Cache-Control") == "no-store"
    assert header(response, "X-Content-Type-Options") == "nosniff"
