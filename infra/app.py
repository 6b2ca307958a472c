"""CDK entry point for the CLI: ``npx aws-cdk@latest deploy --all -c stage=prod`` from infra/.

See docs/deploy.md.  ``make package`` (python -m infra.synth) builds the
same app without the CLI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: chalicelib/ and infra/
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from infra.carewire_infra.app import build

if __name__ == "__main__":
    import aws_cdk as cdk

    stage = str(cdk.App().node.try_get_context("stage") or "dev")  # the CLI's -c stage=…
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", "us-east-1"))
    build(stage).synth()
