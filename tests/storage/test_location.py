"""Locations: the user's string kept for other processes, the filesystem opened from it (with the S3 endpoint
from the environment, which pyarrow ignores), and the one layout of runs and versions under a root."""

from __future__ import annotations

import pickle

import pyarrow.fs as pafs
import pytest

from rayplane.errors import StorageError
from rayplane.storage import Location, Storage


def test_a_local_root_expands_and_joins(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    storage = Storage("~/.rayplane/")
    version = storage.version("flights", 3)
    assert version.uri == version.display == f"{tmp_path}/.rayplane/models/flights/v3"
    assert version.is_local and version.path == version.display
    assert storage.run("r1").display == f"{tmp_path}/.rayplane/runs/r1"
    assert storage.ray_storage()["storage_path"] == f"{tmp_path}/.rayplane/runs"


def test_s3_takes_its_endpoint_from_the_environment_but_never_writes_it_into_the_uri(s3, s3_bucket):
    root = Location(f"{s3_bucket}/prefix")
    assert isinstance(root.filesystem, pafs.S3FileSystem)
    assert root.path == f"{s3_bucket[5:]}/prefix"
    assert (root / "models" / "m").uri == f"{s3_bucket}/prefix/models/m"
    (root / "a.txt").write_bytes(b"hello")
    assert (root / "a.txt").read_bytes() == b"hello" and root.files() == {"a.txt": 5}
    # Handed to another process, a location opens its own filesystem from the same string.
    assert pickle.loads(pickle.dumps(root / "a.txt")).read_bytes() == b"hello"


def test_an_endpoint_in_the_uri_wins_over_the_environment(s3, s3_bucket, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    port = s3.endpoint.rsplit(":", 1)[1]
    root = Location(f"{s3_bucket}/x?endpoint_override=127.0.0.1:{port}&scheme=http")
    (root / "b.txt").write_bytes(b"!")
    assert (root / "b.txt").uri == f"{s3_bucket}/x/b.txt?endpoint_override=127.0.0.1:{port}&scheme=http"
    assert (root / "b.txt").display == f"{s3_bucket}/x/b.txt"
    assert (root / "b.txt").read_bytes() == b"!"


def test_a_path_reported_by_ray_maps_back_under_its_root(s3_bucket):
    runs = Storage(f"{s3_bucket}/rp").runs()
    checkpoint = runs.at(f"{s3_bucket[5:]}/rp/runs/r1/checkpoint_000001")
    assert checkpoint.display == f"{s3_bucket}/rp/runs/r1/checkpoint_000001"
    with pytest.raises(StorageError, match="not under"):
        runs.at("elsewhere/r1")


def test_an_unknown_scheme_names_the_uri():
    with pytest.raises(StorageError, match=r"nope://bucket/x: cannot open this filesystem"):
        Location("nope://bucket/x").filesystem
