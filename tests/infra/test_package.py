"""The Lambda package holds the product only: no devstack, no local-only routes, event runner, sign-in or clock.

The local stage's plumbing is developer tooling (devstack/); in a function in
AWS its routes would mint tokens, travel the clock and fake inbound SMS (F19).
The package is built as ``make package`` builds it (``python -m infra.synth``,
in a subprocess, into a temporary directory) and read from its zip: every
entry's name, and the text of every ``.py`` file in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What only the local wing's code says: its route prefix, its classes, an import of devstack.
LOCAL_TEXT = ("/_local", "TravelClock", "LocalEventRunner", "CognitoLocalIssuer", "import devstack", "from devstack")


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("cdk.out")
    done = subprocess.run(
        [sys.executable, "-m", "infra.synth", "--stage", "test", "--outdir", str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads(done.stdout[done.stdout.index("{") :])
    assert summary["lambda_package_mb"] is not None
    # The API handler's code asset, as infra.synth finds it (the stack has other assets: CDK's AWS CLI layer).
    return Path(summary["lambda_package"])


def local_wing_entries(names: list[str]) -> list[str]:
    """devstack/, and any module of ours named for the local stage, as the local wing's were in chalicelib."""
    return sorted(
        name
        for name in names
        if name.startswith("devstack/") or (name.startswith("chalicelib/") and "local" in name.rpartition("/")[2])
    )


def local_wing_text(archive: zipfile.ZipFile) -> dict[str, list[str]]:
    """Python file -> the local-wing markers in its text."""
    found = {}
    for name in archive.namelist():
        if name.endswith(".py"):
            text = archive.read(name).decode("utf-8", errors="replace")
            markers = [m for m in LOCAL_TEXT if m in text]
            if markers:
                found[name] = markers
    return found


def test_the_lambda_package_holds_the_app_and_no_local_wing_module(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()

    assert {"app.py", "chalicelib/api/http.py", "chalicelib/bootstrap.py"} <= set(names)
    assert local_wing_entries(names) == []


def test_no_python_file_in_the_lambda_package_knows_the_local_routes_runner_sign_in_or_clock(package: Path) -> None:
    with zipfile.ZipFile(package) as archive:
        found = local_wing_text(archive)

    assert found == {}


def test_the_package_checks_find_a_local_wing_where_there_is_one(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "package.zip", "w") as archive:
        archive.writestr("app.py", "from chalicelib.api import local\napp.register_blueprint(local.bp)\n")
        archive.writestr("chalicelib/api/local.py", '@endpoint(bp, "/_local/token", methods=["POST"])\n')
        archive.writestr("devstack/clock.py", "class TravelClock: ...\n")
        archive.writestr("chalicelib/api/http.py", '"""Nothing local here."""\n')

    with zipfile.ZipFile(tmp_path / "package.zip") as archive:
        entries = local_wing_entries(archive.namelist())
        text = local_wing_text(archive)

    assert entries == ["chalicelib/api/local.py", "devstack/clock.py"]
    assert text == {"chalicelib/api/local.py": ["/_local"], "devstack/clock.py": ["TravelClock"]}
