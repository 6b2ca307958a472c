"""The local stage never runs in AWS: its routes mint tokens, travel the clock and fake inbound SMS (F19).

Those routes are devstack's (``devstack.local_routes``), added to the app by
``devstack.serve``; the app itself has none in any stage, and the Lambda
package holds no devstack (``tests/infra/test_package.py``).  Each probe runs
in a fresh interpreter, as a Lambda cold start or ``make run`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ROUTES = "print(sorted(r for r in app.app.routes if r.startswith('/_local')))"
APP_ALONE = f"import app; {LOCAL_ROUTES}"
LOCAL_STAGE = (
    "import app; from chalicelib import bootstrap; from devstack import local_routes; "
    f"local_routes.register(app.app); {LOCAL_ROUTES}; print(type(bootstrap.container().clock).__module__)"
)
# What devstack.Stack gives the local stage, short of the emulators (registering reaches none of them).
WORKSTATION = {"CAREWIRE_USER_POOL_ID": "us-east-1_local", "CAREWIRE_CURSOR_SECRET": "0" * 64}
IN_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "carewire-dev-APIHandler"}


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME" and not k.startswith("CAREWIRE_")}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=60)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-c", code], **env)


def test_f19_the_local_stage_refuses_to_start_inside_aws_lambda() -> None:
    refused = _python(LOCAL_STAGE, CAREWIRE_STAGE="local", **WORKSTATION, **IN_LAMBDA)

    assert refused.returncode != 0
    assert "RuntimeError: CAREWIRE_STAGE=local inside AWS Lambda" in refused.stderr
    assert "/_local" not in refused.stdout


def test_f19_the_local_server_exits_inside_aws_lambda_before_it_serves() -> None:
    try:
        refused = _run(
            [sys.executable, "-m", "devstack.serve", "--stage", "local", "--port", "0"],
            CAREWIRE_STAGE="local",
            **WORKSTATION,
            **IN_LAMBDA,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("devstack.serve kept running inside AWS Lambda")

    assert refused.returncode != 0
    assert "RuntimeError: CAREWIRE_STAGE=local inside AWS Lambda" in refused.stderr


def test_f19_the_local_stage_has_its_routes_and_travel_clock_on_a_workstation() -> None:
    local = _python(LOCAL_STAGE, CAREWIRE_STAGE="local", **WORKSTATION)

    assert local.returncode == 0, local.stderr
    routes, clock_module = local.stdout.splitlines()
    assert "/_local/token" in routes
    assert clock_module == "devstack.clock"


@pytest.mark.parametrize("stage", ["local", "dev", "prod"])
def test_f19_the_app_alone_has_no_local_routes_in_any_stage(stage: str) -> None:
    deployed = _python(APP_ALONE, CAREWIRE_STAGE=stage, **IN_LAMBDA)

    assert deployed.returncode == 0, deployed.stderr
    assert deployed.stdout.strip() == "[]"
