"""Signing in to the console and out, through the real forms, against the emulated staff pool (moto).

A ``Browser`` here keeps cookies as a browser would (by name, from every
Set-Cookie) and posts forms from the console's origin.  Users are created in
the staff pool with the admin API; their TOTP devices with moto's own calls,
codes computed with ``cryptography``'s TOTP.  moto accepts any SRP signature
(``tests/unit/test_srp.py`` checks ours against pycognito and a
verifier-holding server), so a wrong password is Cognito's answer to one,
``NotAuthorizedException`` on ``RespondToAuthChallenge``, injected with a
botocore hook on the app's real client, as the fault tests do.  moto checks
TOTP codes only when its server runs with
``MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true``; the wrong-code tests find out
and are skipped without it.
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.console.pages.signin import safe_next
from tests.integration.conftest import Api
from tests.integration.console_client import HOST, ORIGIN, text

SIGN_IN = "/console/sign-in"
PASSWORD = "Cw1!" + secrets.token_urlsafe(12)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
GENERIC = "Sign-in failed: check your username and password"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.")


class Browser:
    """Cookies by name from every Set-Cookie; form POSTs carry this origin (or another, when a test says so)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []  # every Set-Cookie of the last answer, verbatim

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        sent = {"Host": HOST, **(extra or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return sent

    def _keep(self, response: Any) -> Any:
        raw = response.headers.get("Set-Cookie") or response.headers.get("set-cookie") or []
        self.set_cookies = [raw] if isinstance(raw, str) else list(raw)
        for line in self.set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def get(self, path: str) -> Any:
        return self._keep(self.client.http.get(path, headers=self._headers()))

    def post(self, path: str, fields: dict[str, str], origin: str | None = ORIGIN) -> Any:
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        if origin is not None:
            headers["Origin"] = origin
        return self._keep(self.client.http.post(path, headers=headers, body=urllib.parse.urlencode(fields)))

    def form_token(self, path: str = SIGN_IN) -> str:
        response = self.get(path)
        assert response.status_code == 200, text(response)
        found = CSRF.search(text(response))
        assert found, text(response)
        return found.group(1)

    def sign_in(self, username: str, password: str = PASSWORD, next_path: str | None = None) -> Any:
        token = self.form_token(SIGN_IN + (f"?next={urllib.parse.quote(next_path)}" if next_path else ""))
        fields = {"csrf_token": token, "username": username, "password": password}
        if next_path is not None:
            fields["next"] = next_path
        return self.post(SIGN_IN, fields)

    def answer(self, path: str, fields: dict[str, str]) -> Any:
        token = self.cookies["__Host-carewire-pre"]
        return self.post(path, {"csrf_token": token, **fields})


def cognito() -> Any:
    from chalicelib import bootstrap

    return bootstrap.container().client("cognito-idp")


def staff_pool() -> tuple[str, str]:
    from chalicelib import bootstrap

    s = bootstrap.container().settings
    return str(s.staff_user_pool_id), s.staff_app_client_ids[0]


def staff_user(group: str | None = "clinicians", temporary: bool = False) -> str:
    """A new user in the staff pool with ``PASSWORD`` (temporary: Cognito will ask for a new one)."""
    pool, _ = staff_pool()
    username = f"c-si-{secrets.token_hex(4)}"
    cognito().admin_create_user(
        UserPoolId=pool, Username=username, TemporaryPassword=PASSWORD, MessageAction="SUPPRESS"
    )
    if not temporary:
        cognito().admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    if group:
        cognito().admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=group)
    return username


def totp_code(secret: str) -> str:
    """The code of the current 30-second step, not one about to roll over (moto checks the current step only)."""
    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    left = 30 - time.time() % 30
    if left < 3:
        time.sleep(left + 0.1)
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(time.time())).decode()


def enable_totp(username: str) -> str:
    """Give ``username`` a verified TOTP device, preferred for MFA; answers its secret."""
    pool, client = staff_pool()
    signed = cognito().admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    access = signed["AuthenticationResult"]["AccessToken"]
    secret = cognito().associate_software_token(AccessToken=access)["SecretCode"]
    cognito().verify_software_token(AccessToken=access, UserCode=totp_code(secret))
    cognito().admin_set_user_mfa_preference(
        UserPoolId=pool, Username=username, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
    )
    return secret


@pytest.fixture(scope="module")
def moto_checks_codes(app: Any) -> bool:
    """Whether the emulated pool refuses a wrong TOTP code (its server's MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP)."""
    pool, client = staff_pool()
    username = staff_user()
    signed = cognito().admin_initiate_auth(
        UserPoolId=pool,
        ClientId=client,
        AuthFlow="ADMIN_NO_SRP_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    access = signed["AuthenticationResult"]["AccessToken"]
    secret = cognito().associate_software_token(AccessToken=access)["SecretCode"]
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
    try:
        cognito().verify_software_token(AccessToken=access, UserCode=wrong)
    except ClientError:
        return True
    return False


@pytest.fixture
def mfa_required() -> Iterator[None]:
    """The staff pool requires TOTP, as deployed (locally it is off); put back after the test."""
    pool, _ = staff_pool()
    cognito().set_user_pool_mfa_config(
        UserPoolId=pool, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="ON"
    )
    try:
        yield
    finally:
        cognito().set_user_pool_mfa_config(UserPoolId=pool, MfaConfiguration="OFF")


def session_subject(browser: Browser) -> str | None:
    from chalicelib import bootstrap

    session = bootstrap.container().console_sessions.resume(browser.cookies.get("__Host-carewire"))
    return session.subject if session else None


def cookie_line(browser: Browser, name: str) -> str:
    found = [line for line in browser.set_cookies if line.startswith(name + "=")]
    assert len(found) == 1, browser.set_cookies
    return found[0]


# -- the form ----------------------------------------------------------------------------------------------


def test_the_sign_in_form_has_its_labels_and_a_strict_pre_session_cookie_that_its_token_echoes(api: Api) -> None:
    browser = Browser(api.client)

    response = browser.get(SIGN_IN)

    page = text(response)
    assert response.status_code == 200
    assert '<label for="username">Username</label>' in page and '<label for="password">Password</label>' in page
    assert re.search(r'<button type="submit">Sign in</button>', page)
    line = cookie_line(browser, "__Host-carewire-pre")
    assert line.endswith("; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=600")
    assert CSRF.search(page).group(1) == browser.cookies["__Host-carewire-pre"]  # type: ignore[union-attr]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_a_second_visit_keeps_the_pre_session_token_so_two_tabs_both_work(api: Api) -> None:
    browser = Browser(api.client)

    first, second = browser.form_token(), browser.form_token()

    assert first == second


# -- signing in ---------------------------------------------------------------------------------------------


def test_signing_in_with_the_password_starts_a_lax_host_only_session_and_no_token_reaches_the_browser(
    api: Api,
) -> None:
    browser = Browser(api.client)
    username = staff_user()

    response = browser.sign_in(username)

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"
    session = cookie_line(browser, "__Host-carewire")
    assert re.fullmatch(r"__Host-carewire=[A-Za-z0-9_-]{43}; Secure; HttpOnly; SameSite=Lax; Path=/", session)
    assert cookie_line(browser, "__Host-carewire-pre").endswith("Max-Age=0")
    assert session_subject(browser) == username
    assert not JWT.search(str(response.headers)) and not JWT.search(text(response))
    assert set(browser.cookies) == {"__Host-carewire"}
    again = browser.get(SIGN_IN)  # signed in: the form sends you on
    assert again.status_code == 303 and again.headers["Location"] == "/console/"


def test_the_subject_is_the_tokens_username_as_the_api_reads_it(api: Api) -> None:
    from chalicelib import bootstrap

    browser = Browser(api.client)
    username = staff_user()

    browser.sign_in(username)

    session = bootstrap.container().console_sessions.resume(browser.cookies["__Host-carewire"])
    assert session is not None
    principal = bootstrap.container().token_verifier.verify(session.tokens.access)
    assert (session.subject, principal.subject, principal.role.value) == (username, username, "clinician")


def test_after_signing_in_the_browser_goes_to_the_console_page_it_asked_for(api: Api) -> None:
    browser = Browser(api.client)

    response = browser.sign_in(staff_user(), next_path="/console/patients/p-1?window=30")

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/patients/p-1?window=30"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/console/",
        "//evil.example/console/",
        "/\\evil.example",
        "\\\\evil.example",
        "/console/../_local/token",
        "/console/%2e%2e/%2e%2e/health",
        "/console//evil.example",
        "javascript:alert(1)",
        "/consolex",
        "/patients/p-1",
        "/console/\r\nSet-Cookie: x=1",
        "/console/sign-in?next=https://evil.example",
    ],
)
def test_next_is_never_an_open_redirect(api: Api, target: str) -> None:
    browser = Browser(api.client)

    response = browser.sign_in(staff_user(), next_path=target)

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/"


def test_next_keeps_console_paths_and_their_query() -> None:
    assert safe_next("/console") == "/console"
    assert safe_next("/console/alerts") == "/console/alerts"
    assert safe_next("/console/patients/p-1?window=30&page=2") == "/console/patients/p-1?window=30&page=2"
    assert safe_next("/console/patients/p%2D1") == "/console/patients/p%2D1"
    assert safe_next(None) == "/console/" and safe_next("") == "/console/"


def test_a_refused_sign_in_says_one_generic_thing_whatever_the_reason_and_starts_no_session(api: Api) -> None:
    from chalicelib import bootstrap

    pool, _ = staff_pool()
    disabled = staff_user()
    cognito().admin_disable_user(UserPoolId=pool, Username=disabled)
    wrong_password = staff_user()
    pages = {}
    for case, username in (("unknown", "c-si-nobody"), ("disabled", disabled), ("wrong", wrong_password)):
        browser = Browser(api.client)
        client = bootstrap.container().client("cognito-idp")
        hook = _refuse_password_verifier if case == "wrong" else None
        with _hooked(client, "before-call.cognito-idp.RespondToAuthChallenge", hook):
            response = browser.sign_in(username, password="Wr0ng!" + PASSWORD)

        assert response.status_code == 401, case
        assert GENERIC in text(response)
        assert "__Host-carewire" not in browser.cookies and session_subject(browser) is None
        assert PASSWORD not in text(response)
        pages[case] = text(response).replace(username, "USER").replace(browser.cookies["__Host-carewire-pre"], "T")
    assert pages["unknown"] == pages["disabled"] == pages["wrong"]


def _refuse_password_verifier(params: dict[str, Any], model: Any, **_: Any) -> None:
    """What Cognito answers a PASSWORD_VERIFIER whose signature does not match the user's verifier."""
    error = {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}
    raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, model.name)


@contextlib.contextmanager
def _hooked(client: Any, event: str, hook: Any) -> Iterator[None]:
    if hook is None:
        yield
        return
    client.meta.events.register(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)


def test_a_user_without_a_console_role_is_told_so_and_their_fresh_tokens_are_revoked(api: Api) -> None:
    browser = Browser(api.client)
    username = staff_user(group=None)

    response = browser.sign_in(username)

    assert response.status_code == 403
    assert "cannot use the console" in text(response)
    assert session_subject(browser) is None


# -- CSRF before a session ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["no pre-session cookie", "no token in the form", "another token", "other origin"])
def test_a_sign_in_post_without_the_pre_session_token_or_from_another_origin_is_403(api: Api, case: str) -> None:
    browser = Browser(api.client)
    token = browser.form_token()
    fields = {"csrf_token": token, "username": staff_user(), "password": PASSWORD}
    origin = ORIGIN
    if case == "no pre-session cookie":
        browser.cookies.clear()
    elif case == "no token in the form":
        del fields["csrf_token"]
    elif case == "another token":
        fields["csrf_token"] = Browser(api.client).form_token()
    else:
        origin = "https://evil.example"

    response = browser.post(SIGN_IN, fields, origin=origin)

    assert response.status_code == 403
    assert "__Host-carewire" not in browser.cookies


def test_a_sign_in_post_with_neither_origin_nor_referer_is_403(api: Api) -> None:
    browser = Browser(api.client)
    token = browser.form_token()

    response = browser.post(SIGN_IN, {"csrf_token": token, "username": staff_user(), "password": PASSWORD}, None)

    assert response.status_code == 403


# -- MFA ---------------------------------------------------------------------------------------------------


def test_a_user_with_totp_signs_in_through_the_password_form_then_the_code_form(api: Api) -> None:
    browser = Browser(api.client)
    username = staff_user()
    secret = enable_totp(username)

    first = browser.sign_in(username, next_path="/console/alerts")
    assert first.status_code == 303 and first.headers["Location"] == f"{SIGN_IN}/mfa"
    assert "__Host-carewire" not in browser.cookies
    form = browser.get(f"{SIGN_IN}/mfa")
    assert form.status_code == 200
    assert '<label for="code">Authentication code</label>' in text(form)
    assert '<button type="submit">Verify</button>' in text(form)
    assert username not in text(form), "the username stays on the server between the steps"
    response = browser.answer(f"{SIGN_IN}/mfa", {"code": totp_code(secret)})

    assert response.status_code == 303
    assert response.headers["Location"] == "/console/alerts"
    assert session_subject(browser) == username
    session = cookie_line(browser, "__Host-carewire")
    assert re.fullmatch(r"__Host-carewire=\S+; Secure; HttpOnly; SameSite=Lax; Path=/", session)


def test_a_wrong_code_says_so_and_the_right_one_then_signs_in(api: Api, moto_checks_codes: bool) -> None:
    if not moto_checks_codes:
        pytest.skip("moto server runs without MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP=true: it accepts any code")
    browser = Browser(api.client)
    username = staff_user()
    secret = enable_totp(username)
    browser.sign_in(username)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"

    refused = browser.answer(f"{SIGN_IN}/mfa", {"code": wrong})
    assert refused.status_code == 401
    assert "That code did not work" in text(refused)
    assert session_subject(browser) is None
    response = browser.answer(f"{SIGN_IN}/mfa", {"code": totp_code(secret)})

    assert response.status_code == 303 and session_subject(browser) == username


def test_a_code_that_is_not_six_digits_is_a_wrong_code_without_asking_cognito(api: Api) -> None:
    browser = Browser(api.client)
    username = staff_user()
    enable_totp(username)
    browser.sign_in(username)

    response = browser.answer(f"{SIGN_IN}/mfa", {"code": "12345x"})

    assert response.status_code == 401 and "That code did not work" in text(response)


def test_a_first_sign_in_where_mfa_is_required_sets_up_the_authenticator_then_signs_in(
    api: Api, mfa_required: None
) -> None:
    browser = Browser(api.client)
    username = staff_user()

    first = browser.sign_in(username)
    assert first.status_code == 303 and first.headers["Location"] == f"{SIGN_IN}/mfa-setup"
    setup = browser.get(f"{SIGN_IN}/mfa-setup")
    page = text(setup)
    assert setup.status_code == 200
    secret = re.search(r"<dd><code>([A-Za-z2-7=]+)</code></dd>", page).group(1)  # type: ignore[union-attr]
    uri = f"otpauth://totp/Carewire%3A{username}?secret={secret}&amp;issuer=Carewire"
    assert f'<a href="{uri}">' in page
    assert '<label for="code">Authentication code</label>' in page
    response = browser.answer(f"{SIGN_IN}/mfa-setup", {"code": totp_code(secret)})

    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    assert session_subject(browser) == username


def test_a_temporary_password_is_replaced_through_the_new_password_form(api: Api) -> None:
    browser = Browser(api.client)
    username = staff_user(temporary=True)
    chosen = "Cw2!" + secrets.token_urlsafe(12)

    first = browser.sign_in(username)
    assert first.status_code == 303 and first.headers["Location"] == f"{SIGN_IN}/new-password"
    form = browser.get(f"{SIGN_IN}/new-password")
    assert '<label for="new_password">New password</label>' in text(form)
    differ = browser.answer(f"{SIGN_IN}/new-password", {"new_password": chosen, "new_password_again": chosen + "x"})
    assert differ.status_code == 422 and session_subject(browser) is None
    response = browser.answer(f"{SIGN_IN}/new-password", {"new_password": chosen, "new_password_again": chosen})

    assert response.status_code == 303 and session_subject(browser) == username
    pool, _ = staff_pool()
    assert cognito().admin_get_user(UserPoolId=pool, Username=username)["UserStatus"] == "CONFIRMED"


def test_a_step_page_without_a_pending_sign_in_sends_the_browser_back_to_the_start(api: Api) -> None:
    browser = Browser(api.client)
    browser.form_token()

    page = browser.get(f"{SIGN_IN}/mfa")
    post = browser.answer(f"{SIGN_IN}/mfa", {"code": "123456"})

    assert page.status_code == 303 and page.headers["Location"] == f"{SIGN_IN}?expired=1"
    assert post.status_code == 303 and post.headers["Location"] == f"{SIGN_IN}?expired=1"
    assert "expired" in text(browser.get(f"{SIGN_IN}?expired=1"))


def test_another_browsers_pre_session_token_opens_no_pending_sign_in(api: Api) -> None:
    victim, other = Browser(api.client), Browser(api.client)
    username = staff_user()
    enable_totp(username)
    victim.sign_in(username)
    other.form_token()

    response = other.answer(f"{SIGN_IN}/mfa", {"code": "123456"})

    assert response.status_code == 303 and response.headers["Location"] == f"{SIGN_IN}?expired=1"
    assert session_subject(other) is None


# -- signing out -------------------------------------------------------------------------------------------


def signed_in(api: Api) -> tuple[Browser, str]:
    browser = Browser(api.client)
    username = staff_user()
    assert browser.sign_in(username).status_code == 303
    return browser, username


def session_csrf(browser: Browser) -> str:
    from chalicelib import bootstrap

    session = bootstrap.container().console_sessions.resume(browser.cookies["__Host-carewire"])
    assert session is not None
    return session.csrf_token


def test_signing_out_ends_the_console_session_and_the_cognito_session(api: Api) -> None:
    from chalicelib import bootstrap

    browser, _ = signed_in(api)
    old_cookie = browser.cookies["__Host-carewire"]
    tokens = bootstrap.container().console_sessions.resume(old_cookie).tokens  # type: ignore[union-attr]

    response = browser.post("/console/sign-out", {"csrf_token": session_csrf(browser)})

    assert response.status_code == 303 and response.headers["Location"] == f"{SIGN_IN}?signed_out=1"
    assert cookie_line(browser, "__Host-carewire").endswith("Max-Age=0")
    assert "You are signed out" in text(browser.get(response.headers["Location"]))
    browser.cookies["__Host-carewire"] = old_cookie  # the old cookie opens nothing any more
    again = browser.get("/console/alerts")
    assert again.status_code == 303 and again.headers["Location"].startswith(f"{SIGN_IN}?next=")
    with pytest.raises(ClientError) as refused:
        cognito().initiate_auth(
            ClientId=staff_pool()[1], AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": tokens.refresh}
        )
    assert refused.value.response["Error"]["Code"] == "NotAuthorizedException"
    with pytest.raises(ClientError):
        cognito().get_user(AccessToken=tokens.access)


def test_signing_out_without_the_sessions_csrf_token_is_403_and_the_session_goes_on(api: Api) -> None:
    browser, username = signed_in(api)

    response = browser.post("/console/sign-out", {"csrf_token": "forged"})

    assert response.status_code == 403
    assert session_subject(browser) == username


def test_signing_out_from_another_origin_is_403_and_the_session_goes_on(api: Api) -> None:
    browser, username = signed_in(api)

    response = browser.post("/console/sign-out", {"csrf_token": session_csrf(browser)}, origin="https://evil.example")

    assert response.status_code == 403
    assert session_subject(browser) == username


def test_signing_out_with_no_session_left_just_lands_on_the_sign_in_page(api: Api) -> None:
    browser = Browser(api.client)

    response = browser.post("/console/sign-out", {})

    assert response.status_code == 303 and response.headers["Location"] == f"{SIGN_IN}?signed_out=1"
