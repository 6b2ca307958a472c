"""Deployed stages sign cursors with the secret in Secrets Manager, read at first use and kept (moto server)."""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.bootstrap import Container
from chalicelib.domain.cursors import CursorCodec
from chalicelib.settings import Settings


def test_f8_a_container_given_the_secret_arn_signs_cursors_with_that_secret_fetched_once(
    environment: dict[str, str],
) -> None:
    value = secrets.token_hex(32)
    setup = Container(Settings.from_env(environment))
    arn = setup.client("secretsmanager").create_secret(Name=f"cursor-{value[:8]}", SecretString=value)["ARN"]
    deployed = {k: v for k, v in environment.items() if k != "CAREWIRE_CURSOR_SECRET"}
    container = Container(Settings.from_env({**deployed, "CAREWIRE_CURSOR_SECRET_ARN": arn}))
    fetches: list[Any] = []
    container.client("secretsmanager").meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **kwargs: fetches.append(kwargs)
    )

    codec = container.cursors
    untouched = len(fetches)
    first = codec.encode("patient:p-1", {"sk": "READING#1"})
    second = codec.encode("patient:p-1", {"sk": "READING#2"})

    assert untouched == 0  # building the container and its codec reads nothing
    assert len(fetches) == 1  # then once for the container's life
    assert CursorCodec(value.encode()).decode("patient:p-1", first) == {"sk": "READING#1"}
    assert codec.decode("patient:p-1", second) == {"sk": "READING#2"}
