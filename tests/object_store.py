"""A real S3 API server for the session: the standalone server of PyPI's ``moto[server]`` on 127.0.0.1.

``.ci/setup`` installs it into its own venv (``.venv-moto``: its pins clash with the project's). The endpoint
and dummy credentials go into this process's environment when the plugin loads, before the session's Ray
starts, so every Ray worker and CLI subprocess reaches the same server the way users configure theirs
(``AWS_ENDPOINT_URL``); nothing can reach AWS (no instance metadata, no shared config files).
A pytest plugin registered in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from tests_helpers import REPO, free_port, wait_for

MOTO_VENV = REPO / ".venv-moto"
PORT = free_port()
ENDPOINT = f"http://127.0.0.1:{PORT}"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rayplane-test", "AWS_SECRET_ACCESS_KEY": "rayplane-test-secret"}
os.environ.update({
    **CREDENTIALS,
    "AWS_ENDPOINT_URL": ENDPOINT,
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
})
for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
    os.environ.pop(variable, None)


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def bucket(self, prefix: str = "rp") -> str:
        """A new empty bucket; returns ``s3://<name>``."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        fs = pafs.S3FileSystem(endpoint_override=self.endpoint.split("://")[1], scheme="http",
                               allow_bucket_creation=True)
        fs.create_dir(name)
        return f"s3://{name}"


def start_moto(port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    server = MOTO_VENV / "bin" / "moto_server"
    assert server.exists(), f"{server} is missing: run .ci/setup (it installs moto[server] into .venv-moto)"
    with log.open("wb") as out:
        process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    def answers() -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1):
                return True
        except OSError:
            assert process.poll() is None, f"moto_server exited: {log.read_text()[-2000:]}"
            return False

    wait_for(answers, timeout=60, what="the S3 server to answer")
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def s3(tmp_path_factory) -> S3Server:
    process = start_moto(PORT, tmp_path_factory.mktemp("moto") / "moto.log")
    yield S3Server(ENDPOINT, process)
    stop(process)


@pytest.fixture()
def s3_bucket(s3) -> str:
    return s3.bucket()


# Sets up, with the server's auth still off for exactly these four requests, a bucket and a user that may only
# read it; then the server checks every request's credentials against its IAM policies.
READ_ONLY_SETUP = textwrap.dedent("""
    import json, sys
    import boto3
    endpoint, bucket = sys.argv[1], sys.argv[2]
    options = dict(endpoint_url=endpoint, region_name="us-east-1")
    boto3.client("s3", **options).create_bucket(Bucket=bucket)
    iam = boto3.client("iam", **options)
    iam.create_user(UserName="reader")
    policy = {"Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    print(json.dumps({"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}))
""")


@dataclass
class ReadOnlyStore:
    endpoint: str
    bucket: str  # s3://name
    credentials: dict[str, str]


@pytest.fixture(scope="module")
def read_only_s3(tmp_path_factory) -> ReadOnlyStore:
    """A second S3 server that enforces IAM, with one bucket and read-only credentials for it."""
    port = free_port()
    process = start_moto(port, tmp_path_factory.mktemp("moto-iam") / "moto.log",
                         env={"INITIAL_NO_AUTH_ACTION_COUNT": "4"})
    try:
        endpoint = f"http://127.0.0.1:{port}"
        out = subprocess.run([str(MOTO_VENV / "bin" / "python"), "-c", READ_ONLY_SETUP, endpoint, "readonly-bucket"],
                             capture_output=True, text=True, timeout=60, check=True)
        yield ReadOnlyStore(endpoint, "s3://readonly-bucket", json.loads(out.stdout))
    finally:
        stop(process)
