"""Signing in to the console in a real browser: the cookie is the only credential the browser holds."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import sign_in


def test_the_session_cookie_is_host_prefixed_secure_httponly_and_lax(page: Any, context: Any) -> None:
    sign_in(page)

    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["__Host-carewire"]
    assert session["secure"] and session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/"
    assert "domain" not in session or not session["domain"].startswith(".")
    assert page.evaluate("document.cookie") == "", "the session cookie must be invisible to scripts"
