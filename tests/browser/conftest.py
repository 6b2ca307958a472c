"""Browser tier: the console in Debian's chromium, driven by Playwright, against a whole local stack.

The stack is ``make run``'s (DynamoDB Local, moto server, the app served by
``devstack.serve`` with its event runner) on free ports.  Playwright launches
the system browser (``executable_path``; no browser download: this machine
reaches only package registries).  axe-core comes bundled with
``axe-playwright-python``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.stack import Stack, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    running = Stack(api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def base_url(stack: Stack) -> str:
    return stack.api_url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: `make setup` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Any, base_url: str) -> Iterator[Any]:
    created = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    yield created
    created.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    opened = context.new_page()
    yield opened
    opened.close()


def sign_in(page: Any, role: str = "clinician", subject: str = "c-1") -> None:
    """The local shortcut (``/_local/console-login``); the sign-in form has its own tests."""
    page.goto(f"/_local/console-login?role={role}&subject={subject}")


class Api:
    """The JSON API with local tokens, to seed what the pages show."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, role: str, subject: str) -> str:
        if (role, subject) not in self._tokens:
            answer = self.http.post(f"{self.base}/_local/token", json={"role": role, "subject": subject}, timeout=30)
            answer.raise_for_status()
            self._tokens[(role, subject)] = answer.json()["token"]
        return self._tokens[(role, subject)]

    def call(self, method: str, path: str, body: Any = None, as_: tuple[str, str] = ("admin", "a-1")) -> Any:
        headers = {"Authorization": f"Bearer {self.token(*as_)}"}
        answer = self.http.request(method, f"{self.base}{path}", json=body, headers=headers, timeout=30)
        assert answer.status_code < 400, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None

    def drain(self) -> None:
        self.http.post(f"{self.base}/_local/drain", timeout=60).raise_for_status()


@pytest.fixture(scope="session")
def api(base_url: str) -> Api:
    return Api(base_url)


@pytest.fixture(scope="session")
def showcase(api: Api) -> Any:
    """c-1's panel, seeded once per session through the API (tests/browser/seed.py); tests only read it."""
    from tests.browser import seed

    return seed.showcase(api)
