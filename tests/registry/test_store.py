"""The registry: versions numbered in order, never overwritten, written whole or not at all."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from rayplane.errors import RegistryError
from rayplane.registry import ModelRegistry


def artifacts(directory: Path, payload: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.pt").write_text(payload)
    (directory / "preprocessor.json").write_text("{}")
    return directory


def test_versions_count_up_and_are_never_overwritten(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    first = registry.register("m", artifacts(tmp_path / "a", "one"), {"metrics": {"val_auc": 0.7}})
    second = registry.register("m", artifacts(tmp_path / "b", "two"), {"metrics": {"val_auc": 0.8}})
    assert (first.version, second.version) == (1, 2)
    assert (first.path / "model.pt").read_text() == "one"
    assert (second.path / "model.pt").read_text() == "two"
    assert registry.get("m").version == 2 and registry.get("m", 1).metrics == {"val_auc": 0.7}
    assert [v.uri for v in registry.list()] == ["m:v1", "m:v2"]
    meta = json.loads((first.path / "metadata.json").read_text())
    assert meta["version"] == 1 and meta["name"] == "m" and meta["created_at"]


def test_missing_model_and_version_are_named(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    with pytest.raises(RegistryError, match=r"no versions of model 'nope'.*registered models: none"):
        registry.get("nope")
    registry.register("m", artifacts(tmp_path / "a", "x"), {})
    with pytest.raises(RegistryError, match=r"model 'm' has no version 7 .*versions: 1\)"):
        registry.get("m", 7)


def test_incomplete_artifacts_are_refused_and_leave_nothing(tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.pt").write_text("x")
    with pytest.raises(RegistryError, match="missing preprocessor.json"):
        registry.register("m", tmp_path / "a", {})
    assert registry.list("m") == []


def test_a_failed_copy_leaves_no_partial_version(tmp_path, monkeypatch):
    registry = ModelRegistry(tmp_path / "models")
    source = artifacts(tmp_path / "a", "x")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("rayplane.registry.store._write_json", broken)
    with pytest.raises(OSError, match="disk full"):
        registry.register("m", source, {})
    assert registry.list("m") == []
    assert list((tmp_path / "models" / "m").iterdir()) == []


def _register(args) -> int:
    root, source, index = args
    return ModelRegistry(root).register("m", source, {"writer": index}).version


def test_concurrent_registrations_get_distinct_versions(tmp_path):
    source = artifacts(tmp_path / "a", "x")
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        versions = pool.map(_register, [(tmp_path / "models", source, i) for i in range(12)])
    assert sorted(versions) == list(range(1, 13))
    registry = ModelRegistry(tmp_path / "models")
    writers = sorted(v.metadata["writer"] for v in registry.list("m"))
    assert writers == list(range(12))
