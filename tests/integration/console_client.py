"""A browser's view of the console for the integration tier: a session cookie, its CSRF token, same-origin POSTs.

Sessions start the way ``/_local/console-login`` starts them (tokens from the
emulated user pool, then ``SessionService.start``), since the integration
tier's app is a deployed stage's, without local routes.  The browser tests
(tests/browser) drive the real sign-in form.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

HOST = "console.test"
ORIGIN = f"http://{HOST}"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Console:
    def __init__(self, client: Any, issuer: Any, role: str, subject: str) -> None:
        from chalicelib import bootstrap
        from chalicelib.console.web import COOKIE
        from chalicelib.services.console_sessions import Tokens

        result = issuer.sign_in(role, subject)
        self.cookie, self.session = bootstrap.container().console_sessions.start(
            subject, Tokens(result["AccessToken"], result.get("RefreshToken"))
        )
        self.client = client
        self.cookie_header = f"{COOKIE}={self.cookie}"

    @property
    def csrf_token(self) -> str:
        return self.session.csrf_token

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        sent = {"Host": HOST, "Cookie": self.cookie_header, **(headers or {})}
        return self.client.http.get(path, headers=sent)

    def post(
        self,
        path: str,
        fields: dict[str, str] | None = None,
        csrf: bool = True,
        origin: str | None = ORIGIN,
        headers: dict[str, str] | None = None,
    ) -> Any:
        form = dict(fields or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf_token)
        sent = {
            "Host": HOST,
            "Cookie": self.cookie_header,
            "Content-Type": "application/x-www-form-urlencoded",
            **({"Origin": origin} if origin else {}),
            **(headers or {}),
        }
        return self.client.http.post(path, headers=sent, body=urllib.parse.urlencode(form))


def text(response: Any) -> str:
    return response.body.decode() if isinstance(response.body, bytes) else str(response.body)
