"""Signing in through the console's real form against the emulated staff pool, and signing out.

The user is made the way an administrator makes one: ``admin_create_user``
in the staff pool (moto), a permanent password, the ``clinicians`` group.
The browser types the username and password into the form; the server runs
Cognito's SRP against moto and starts the session.

moto's SRP does not check the password's signature (any password of an
existing, enabled user signs in), so a *wrong password* cannot be refused by
the emulator; the refusal this tier can drive is the one Cognito gives for an
unknown or a disabled user, which the console must show with the same generic
message (no user enumeration).  The password check itself is tested against a
verifier-holding server in tests/unit/test_srp.py and, with Cognito's answer
injected, in tests/integration/test_console_signin.py.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

PASSWORD = "Cw1!" + secrets.token_urlsafe(12)
GENERIC = "Sign-in failed: check your username and password"


def staff_pool(stack: Any) -> tuple[Any, str]:
    import boto3

    env = stack.env
    client = boto3.client(
        "cognito-idp",
        endpoint_url=stack.moto_url,
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    return client, env["CAREWIRE_STAFF_USER_POOL_ID"]


def staff_user(stack: Any, enabled: bool = True) -> str:
    """A clinician in the staff pool with ``PASSWORD``, as an administrator creates one."""
    client, pool = staff_pool(stack)
    username = f"c-si-{secrets.token_hex(4)}"
    client.admin_create_user(UserPoolId=pool, Username=username, TemporaryPassword=PASSWORD, MessageAction="SUPPRESS")
    client.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD, Permanent=True)
    client.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="clinicians")
    if not enabled:
        client.admin_disable_user(UserPoolId=pool, Username=username)
    return username


def fill_and_submit(page: Any, username: str, password: str) -> Any:
    """Type into the form as a person would; the answer to the form's POST."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/console/sign-in")) as posted:
        page.get_by_role("button", name="Sign in").click()
    return posted.value


def session_cookie(context: Any) -> dict[str, Any] | None:
    return next((c for c in context.cookies() if c["name"] == "__Host-carewire"), None)


def test_signing_in_through_the_form_lands_on_the_worklist_and_signing_out_ends_the_session(
    page: Any, context: Any, stack: Any, base_url: str
) -> None:
    username = staff_user(stack)

    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    answer = fill_and_submit(page, username, PASSWORD)

    assert answer.status == 303
    sent = answer.header_value("set-cookie") or ""
    session_line = next(line for line in sent.split("\n") if line.startswith("__Host-carewire="))
    assert {"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} <= {p.strip() for p in session_line.split(";")[1:]}
    assert "domain=" not in session_line.lower()
    expect(page.get_by_role("heading", level=1, name="Worklist")).to_be_visible()
    assert page.url == f"{base_url}/console/"
    cookie = session_cookie(context)
    assert cookie is not None

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(re.compile(r"/console/sign-in\?signed_out"))
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_text("You are signed out")).to_be_visible()
    assert session_cookie(context) is None
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    # The server ended the session: the old cookie, replayed, is signed out too.
    replay = {"Cookie": f"__Host-carewire={cookie['value']}"}
    replayed = requests.get(f"{base_url}/console/", headers=replay, allow_redirects=False, timeout=30)
    assert replayed.status_code == 303
    assert replayed.headers["Location"].startswith("/console/sign-in")


@pytest.mark.parametrize("who", ["unknown user", "disabled user"])
def test_a_refused_sign_in_shows_the_one_generic_message_and_starts_no_session(
    page: Any, context: Any, stack: Any, who: str
) -> None:
    username = f"c-si-{secrets.token_hex(4)}" if who == "unknown user" else staff_user(stack, enabled=False)

    page.goto("/console/sign-in")
    answer = fill_and_submit(page, username, "Wrong-password-1!")

    assert answer.status == 401
    expect(page.get_by_role("alert")).to_have_text(GENERIC)
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")  # the password is never echoed back
    assert session_cookie(context) is None
