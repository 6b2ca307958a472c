"""e2e tier: a whole local stack (DynamoDB Local, moto server, chalice local) on free ports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.stack import Stack, free_port


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    running = Stack(api_port=free_port(), dynamodb_port=free_port(), moto_port=free_port(), data_dir=None).start()
    yield running
    running.stop()


class Http:
    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self._tokens: dict[tuple[str, str], str] = {}

    def token(self, role: str, subject: str) -> str:
        if (role, subject) not in self._tokens:
            response = self.session.post(f"{self.base}/_local/token", json={"role": role, "subject": subject})
            response.raise_for_status()
            self._tokens[(role, subject)] = response.json()["token"]
        return self._tokens[(role, subject)]

    def call(self, method: str, path: str, body: Any = None, as_: tuple[str, str] | None = None, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if as_:
            headers["Authorization"] = f"Bearer {self.token(*as_)}"
        data = kw.pop("data", None)
        if body is not None:
            data = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        return self.session.request(method, f"{self.base}{path}", data=data, headers=headers, timeout=30, **kw)


@pytest.fixture(scope="session")
def http(stack: Stack) -> Http:
    return Http(stack.api_url)


@pytest.fixture(scope="session")
def clinic(http: Http) -> dict[str, Any]:
    admin = ("admin", "a-1")
    for cid in ("c-1", "c-2"):
        response = http.call(
            "PUT", f"/clinicians/{cid}", {"given_name": "Rui", "email": f"{cid}@clinic.example"}, as_=admin
        )
        assert response.status_code == 200, response.text
    response = http.call(
        "POST",
        "/patients",
        {
            "patient_id": "p-1",
            "given_name": "Ana",
            "family_name": "Silva",
            "phone": "+15551230001",
            "email": "ana@example.org",
            "timezone": "America/Sao_Paulo",
            "language": "pt-BR",
            "channels": ["push", "sms", "email"],
        },
        as_=("clinician", "c-1"),
    )
    assert response.status_code == 201, response.text
    return {"admin": admin, "c1": ("clinician", "c-1"), "c2": ("clinician", "c-2"), "p1": ("patient", "p-1")}
