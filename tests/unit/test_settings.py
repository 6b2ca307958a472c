"""The environment model: what a stage must and must not configure."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chalicelib.settings import Settings

BASE = {"CAREWIRE_USER_POOL_ID": "us-east-1_pool"}
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:carewire-prod/cursor-secret-AbCdEf"


def test_the_cursor_secret_comes_from_the_environment_or_from_secrets_manager() -> None:
    local = Settings.from_env({**BASE, "CAREWIRE_CURSOR_SECRET": "s3cret"})
    deployed = Settings.from_env({**BASE, "CAREWIRE_CURSOR_SECRET_ARN": ARN})

    assert local.cursor_secret is not None and local.cursor_secret_arn is None
    assert deployed.cursor_secret is None and deployed.cursor_secret_arn == ARN


@pytest.mark.parametrize("cursor", [{}, {"CAREWIRE_CURSOR_SECRET": "s3cret", "CAREWIRE_CURSOR_SECRET_ARN": ARN}])
def test_a_stage_sets_exactly_one_cursor_secret(cursor: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        Settings.from_env({**BASE, **cursor})
