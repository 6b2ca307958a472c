"""The local stage never runs in AWS: its routes mint tokens, travel the clock and fake inbound SMS (F19)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import app; print(sorted(r for r in app.app.routes if r.startswith('/_local')))"


def _import_app(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("AWS_LAMBDA_FUNCTION_NAME", "CAREWIRE_LOCAL_EVENT_RUNNER")
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60
    )


def test_f19_the_local_stage_refuses_to_start_inside_aws_lambda() -> None:
    refused = _import_app(CAREWIRE_STAGE="local", AWS_LAMBDA_FUNCTION_NAME="carewire-dev-APIHandler")

    assert refused.returncode != 0
    assert "RuntimeError: CAREWIRE_STAGE=local inside AWS Lambda" in refused.stderr
    assert "/_local" not in refused.stdout


def test_f19_the_local_stage_keeps_its_routes_on_a_workstation_and_deployed_stages_have_none() -> None:
    local = _import_app(CAREWIRE_STAGE="local")
    deployed = _import_app(CAREWIRE_STAGE="dev", AWS_LAMBDA_FUNCTION_NAME="carewire-dev-APIHandler")

    assert local.returncode == 0, local.stderr
    assert "/_local/token" in local.stdout
    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.strip() == "[]"
