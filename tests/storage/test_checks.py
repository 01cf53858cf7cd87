"""Fail before work: `rayplane validate` and the start of a run check that storage.root can be written and
data.path listed, against a real S3 API server, and say in one line which field is wrong and what to do.

(A local storage.root on a multi-node cluster: tests/cluster/test_no_shared_disk.py.)
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from rayplane.cli.main import main
from rayplane.storage import Location
from tests.data.datafiles import small_frame, write_frame
from tests_helpers import free_port


def write_spec(path: Path, data: str, root: str) -> Path:
    path.write_text(yaml.safe_dump({
        "name": "checks",
        "data": {"path": data, "task": "binary", "label": "y",
                 "features": {"numeric": ["a", "b"], "categorical": ["c"]}},
        "storage": {"root": root},
    }))
    return path


@pytest.fixture(scope="module")
def s3_data(s3, tmp_path_factory) -> str:
    """Two small Parquet shards on the S3 server."""
    bucket = s3.bucket("data")
    local = tmp_path_factory.mktemp("checks")
    write_frame(local / "raw", small_frame(200))
    pafs.copy_files(str(local / "raw"), f"{bucket[5:]}/raw", destination_filesystem=Location(bucket).filesystem)
    return f"{bucket}/raw"


def validate(spec: Path, capsys) -> tuple[int, str, str]:
    started = time.monotonic()
    code = main(["validate", str(spec)])
    out, err = capsys.readouterr()
    assert time.monotonic() - started < 45, "a check must fail within its deadline, not after SDK retries"
    return code, out, err


def test_data_and_storage_on_s3_pass_and_leave_nothing(tmp_path, s3_data, s3_bucket, capsys):
    code, out, err = validate(write_spec(tmp_path / "w.yaml", s3_data, f"{s3_bucket}/rp"), capsys)
    assert code == 0, err
    assert f"ok  storage.root {s3_bucket}/rp is writable" in out
    assert f"ok  data.path {s3_data}: 2 Parquet file(s) with the spec's columns" in out
    assert Location(s3_bucket).files() == {}, "the write probe is deleted"


def test_an_endpoint_that_does_not_answer(tmp_path, s3_data, monkeypatch, capsys):
    spec = write_spec(tmp_path / "w.yaml", s3_data, "s3://bucket/rp")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = validate(spec, capsys)
    assert code == 1
    [line] = err.strip().splitlines()
    assert line.startswith("error: storage.root: cannot write to s3://bucket/rp: ") and "does not answer" in line
    assert "AWS_ENDPOINT_URL" in line


def test_a_missing_bucket(tmp_path, s3_data, capsys):
    code, _, err = validate(write_spec(tmp_path / "w.yaml", s3_data, "s3://no-such-bucket-rp/rp"), capsys)
    assert code == 1
    assert "storage.root: cannot write to s3://no-such-bucket-rp/rp:" in err
    assert "the bucket does not exist: create it, or fix the name" in err


def test_data_in_a_missing_bucket(tmp_path, s3_bucket, capsys):
    code, _, err = validate(write_spec(tmp_path / "w.yaml", "s3://no-such-data-rp/raw/", s3_bucket), capsys)
    assert code == 1
    assert "data.path: " in err and "s3://no-such-data-rp/raw" in err and "storage.root" not in err


def test_read_only_credentials(tmp_path, read_only_s3, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", read_only_s3.endpoint)
    for key, value in read_only_s3.credentials.items():
        monkeypatch.setenv(key, value)
    local = tmp_path / "data"
    write_frame(local, small_frame(100))
    spec = write_spec(tmp_path / "w.yaml", str(local), f"{read_only_s3.bucket}/rp")
    code, _, err = validate(spec, capsys)
    assert code == 1
    assert f"storage.root: cannot write to {read_only_s3.bucket}/rp: " in err and "Access Denied" in err
    assert "the credentials in use cannot do this" in err
    # `train` stops at the same check, before it starts Ray or reads the data.
    started = time.monotonic()
    assert main(["train", str(spec)]) == 1
    out, err = capsys.readouterr()
    assert "Access Denied" in err and "embedded" not in out + err
    assert time.monotonic() - started < 45


def test_reading_the_registry_from_an_endpoint_that_does_not_answer(tmp_path, s3_data, monkeypatch, capsys):
    spec = write_spec(tmp_path / "w.yaml", s3_data, "s3://bucket/rp")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    for command in (["models", "list"], ["serve"]):
        assert main([*command, str(spec)]) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert line.startswith("error: storage.root: cannot list s3://bucket/rp/models") and "does not answer" in line
