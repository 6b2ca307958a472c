"""Importing the app stays light: boto3, Powertools, the JWT stack and pygal load on first use (cold start)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_loads_no_aws_sdk_powertools_or_crypto() -> None:
    heavy = ("boto3", "botocore", "aws_lambda_powertools", "jwt", "cryptography", "jinja2", "pygal")
    probe = f"import sys, app; print(sorted(m for m in {heavy!r} if m in sys.modules))"

    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "CAREWIRE_STAGE": "dev"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    assert out == "[]"
