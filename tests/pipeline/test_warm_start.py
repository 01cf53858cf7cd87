"""Warm start (`rayplane train --from N [--data URI] [--refit-preprocessing]`) on the tiny workload: the new
version starts from its parent's weights, keeps its preprocessing, records its lineage; a mismatch is one line."""

from __future__ import annotations

import io
import json

import pytest
import torch
import yaml

import rayplane
from rayplane.cli.main import main
from rayplane.pipeline import registry_for

BOUND = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def parent(ray_session, tiny_workload, tmp_path_factory):
    """v1 of the tiny workload trained from scratch on its first two shards, in a private storage root."""
    raw = yaml.safe_load(tiny_workload.read_text())
    raw["storage"]["root"] = str(tmp_path_factory.mktemp("warm") / "home")
    raw["train"]["epochs"] = 1
    spec_path = tiny_workload.parent / f"warm-{tmp_path_factory.getbasetemp().name}.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    spec = rayplane.load_spec(spec_path)
    data = tiny_workload.parent / "data"
    result = rayplane.train(spec, data=f"{data}/part-0000[01].parquet")
    return spec_path, spec, result.version, data


def weights(version) -> dict[str, torch.Tensor]:
    return torch.load(io.BytesIO(version.read("model.pt")), weights_only=True)


@BOUND
def test_warm_start_begins_from_the_parent_keeps_its_preprocessing_and_records_lineage(parent, capsys):
    spec_path, spec, v1, data = parent
    # A learning rate of ~0 leaves the weights where they started: the parent's, if the run started from them.
    code = main(["train", str(spec_path), "--from", str(v1.version), "--data", str(data / "part-00002.parquet"),
                 "--set", "train.lr=1e-12"])
    assert code == 0
    v2 = registry_for(spec).get(spec.name)
    assert v2.version == v1.version + 1
    for name, tensor in weights(v1).items():
        torch.testing.assert_close(weights(v2)[name], tensor, atol=1e-6, rtol=0)
    assert v2.read("preprocessor.json") == v1.read("preprocessor.json")
    assert v2.metadata["parent"] == v1.uri and v2.metadata["preprocessing"] == f"inherited from {v1.uri}, unchanged"
    assert v2.metadata["data"]["path"].endswith("part-00002.parquet") and v2.metadata["data"]["files"] == 1
    capsys.readouterr()
    assert main(["models", "show", str(spec_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["lineage"] == f"{v2.uri} <- {v1.uri}"


@BOUND
def test_refit_preprocessing_says_what_changed(parent, capsys):
    spec_path, spec, v1, data = parent
    result = rayplane.train(spec, warm_start=v1.version, data=str(data / "part-00002.parquet"),
                            refit_preprocessing=True)
    preprocessing = result.version.metadata["preprocessing"]
    assert preprocessing.startswith("refit (x1: shift "), preprocessing
    assert result.version.read("preprocessor.json") != v1.read("preprocessor.json")


@pytest.mark.parametrize("case", ["architecture", "features", "refit alone", "no such version"])
def test_a_bad_warm_start_is_one_error_line_before_any_training(parent, capsys, case):
    spec_path, spec, v1, _ = parent
    before = [v.version for v in registry_for(spec).list(spec.name)]
    args = {
        "architecture": ["--from", "1", "--set", "model.params.hidden=32"],
        "features": ["--from", "1", "--set", "data.features.numeric=[x1, x2]"],
        "refit alone": ["--refit-preprocessing"],
        "no such version": ["--from", "9"],
    }[case]
    code = main(["train", str(spec_path), *args])
    [line] = capsys.readouterr().err.strip().splitlines()
    expected = {
        "architecture": "error: --from 1: the weights of tiny:v1 do not fit the spec's model (its model params are "
                        '{"hidden": 16, "layers": 1}, the spec\'s {"hidden": 32, "layers": 1}): ',
        "features": "error: --from 1: tiny:v1 was trained with numeric features ['x1', 'x2', 'x3'], the spec has "
                    "['x1', 'x2']; a warm start needs the same inputs",
        "refit alone": "error: --refit-preprocessing: only with --from N",
        "no such version": "error: model 'tiny' has no version 9",
    }[case]
    assert code == 1
    assert line.startswith(expected), line
    assert [v.version for v in registry_for(spec).list(spec.name)] == before
