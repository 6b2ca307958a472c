"""Synthesize the CDK app (cdk-nag runs as part of it) and report what `make package` promises.

    python -m infra.synth [--stage dev] [--outdir infra/cdk.out] [-c key=value ...]

Prints the stacks, the zipped Lambda package size and the cdk-nag outcome;
exits non-zero when synth or cdk-nag fails.  The same entry point serves
``make package`` and the infra test tier (which runs it in a subprocess so the
app's import-time environment stays out of the test process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAMBDA_LIMIT_MB = 15.0


def lambda_package(outdir: Path, stacks: list[str]) -> Path | None:
    """The zip the API handler runs: its CodeUri's key (the stack has other assets, e.g. CDK's AWS CLI layer)."""
    for stack in stacks:
        resources = json.loads((outdir / f"{stack}.template.json").read_text())["Resources"]
        handler = resources.get("APIHandler", {}).get("Properties", {})
        key = (handler.get("CodeUri") or {}).get("Key")
        if key:
            path = outdir / f"asset.{key}"
            return path if path.exists() else None
    return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--outdir", default=str(ROOT / "infra" / "cdk.out"))
    parser.add_argument("-c", "--context", action="append", default=[], help="key=value")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # chalice package resolves the partition
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # chalice.cdk writes its package under ./chalice.out

    from infra.carewire_infra.app import build

    context = dict(item.split("=", 1) for item in args.context)
    assembly = build(args.stage, context, args.outdir).synth()
    package = lambda_package(Path(args.outdir), [s.stack_name for s in assembly.stacks])
    size_mb = round(package.stat().st_size / 1e6, 2) if package else None
    summary = {
        "stacks": [s.stack_name for s in assembly.stacks],
        "templates": [str(Path(args.outdir) / f"{s.stack_name}.template.json") for s in assembly.stacks],
        "lambda_package": str(package) if package else None,
        "lambda_package_mb": size_mb,
        "lambda_package_limit_mb": LAMBDA_LIMIT_MB,
        "cdk_nag": "AwsSolutions + HIPAA Security: no unacknowledged findings",
    }
    print(json.dumps(summary, indent=2))
    if size_mb is None or size_mb > LAMBDA_LIMIT_MB:
        print(f"FAIL: Lambda package {size_mb} MB (target <= {LAMBDA_LIMIT_MB} MB)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
