"""The registry on a local disk and on a real S3 API server alike: versions numbered in order, never overwritten,
written whole or not at all, and read back by any process from the location alone."""

from __future__ import annotations

import multiprocessing
import pickle

import pytest

from rayplane.errors import RegistryError
from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.storage import Location


@pytest.fixture(params=["local", "s3"])
def models(request, tmp_path) -> str:
    """The ``models`` root of a fresh registry, on each backend."""
    if request.param == "local":
        return str(tmp_path / "models")
    return request.getfixturevalue("s3_bucket") + "/rayplane/models"


def files(payload: str) -> dict[str, bytes]:
    return {"model.pt": payload.encode(), "preprocessor.json": b"{}"}


def test_versions_count_up_and_are_never_overwritten(models):
    registry = ModelRegistry(models)
    first = registry.register("m", files("one"), {"metrics": {"val_auc": 0.7}})
    second = registry.register("m", files("two"), {"metrics": {"val_auc": 0.8}})
    assert (first.version, second.version) == (1, 2)
    assert first.read("model.pt") == b"one" and second.read("model.pt") == b"two"
    assert registry.get("m").version == 2 and registry.get("m", 1).metrics == {"val_auc": 0.7}
    assert [v.uri for v in registry.list()] == ["m:v1", "m:v2"]
    assert first.metadata["version"] == 1 and first.metadata["name"] == "m" and first.metadata["created_at"]
    assert first.metadata["files"] == {"model.pt": 3, "preprocessor.json": 2}
    assert first.location.display == f"{Location(models).display}/m/v1"


def test_a_version_is_read_back_from_its_location_alone(models):
    """What a serving replica gets: the location string (or the pickled version), nothing local."""
    version = ModelRegistry(models).register("m", {**files("w"), "model_code.py": b"# code"}, {"task": "binary"})
    again = ModelVersion.at(version.location.uri)
    assert (again.uri, again.metadata) == (version.uri, version.metadata)
    assert again.has("model_code.py") and not again.has("nope.txt")
    assert pickle.loads(pickle.dumps(version)).read("model_code.py") == b"# code"


def test_missing_model_and_version_are_named(models):
    registry = ModelRegistry(models)
    with pytest.raises(RegistryError, match=r"no versions of model 'nope'.*registered models: none"):
        registry.get("nope")
    registry.register("m", files("x"), {})
    with pytest.raises(RegistryError, match=r"model 'm' has no version 7 .*versions: 1\)"):
        registry.get("m", 7)
    with pytest.raises(RegistryError, match=r"m/v7/metadata.json: unreadable version metadata"):
        ModelVersion.at(Location(models) / "m" / "v7")


def test_incomplete_artifacts_are_refused_and_leave_nothing(models):
    registry = ModelRegistry(models)
    with pytest.raises(RegistryError, match="missing preprocessor.json"):
        registry.register("m", {"model.pt": b"x"}, {})
    assert registry.list("m") == [] and Location(models).files() == {}


def test_a_failure_mid_commit_leaves_no_version_and_takes_the_number(models, monkeypatch):
    registry = ModelRegistry(models)
    moves = []
    real_move = Location.move_to

    def second_move_fails(self, target):
        moves.append(target)
        if len(moves) == 2:
            raise OSError("connection reset")
        real_move(self, target)

    monkeypatch.setattr(Location, "move_to", second_move_fails)
    with pytest.raises(RegistryError, match=r"cannot register 'm' under .*models: connection reset"):
        registry.register("m", files("x"), {})
    monkeypatch.undo()
    assert registry.list("m") == []
    leftovers = Location(models).files()
    assert not [f for f in leftovers if f.startswith("m/.staging/")], "the staging copy is cleaned up"
    assert "m/v1/metadata.json" not in leftovers
    # The claimed number is never reused: a half-moved v1 is never overwritten.
    assert registry.register("m", files("y"), {}).version == 2


def _register(args) -> int:
    root, index = args
    return ModelRegistry(root).register("m", files(str(index)), {"writer": index}).version


def test_concurrent_registrations_get_distinct_whole_versions(models):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        numbers = pool.map(_register, [(models, i) for i in range(12)])
    assert len(set(numbers)) == 12
    versions = ModelRegistry(models).list("m")
    assert sorted(v.version for v in versions) == sorted(numbers)
    assert sorted(v.metadata["writer"] for v in versions) == list(range(12))
    assert all(v.read("model.pt") == str(v.metadata["writer"]).encode() for v in versions)
