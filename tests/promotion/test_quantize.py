"""`rayplane models quantize`: an int8 variant registered beside its parent, with its size, metric and latency,
whose predictions agree with the full model's on the validation split; it is served and gated like any version."""

from __future__ import annotations

import re

import pytest

import rayplane
from rayplane.cli.main import main
from rayplane.data.split import SplitRule
from rayplane.errors import RegistryError
from rayplane.modeling.predictor import Predictor
from rayplane.pipeline import serving_version
from rayplane.registry import ModelRegistry


def test_an_int8_variant_agrees_with_its_parent_and_records_what_it_costs(local_workload, capsys):
    workload = local_workload
    parent = workload.fit(hidden=128, layers=2)  # large enough for int8 weights to outweigh their overhead
    args = [str(workload.spec_path), "--set", f"storage.root={workload.spec.storage.root}"]
    assert main(["models", "quantize", args[0], "1", *args[1:]]) == 0
    out = capsys.readouterr().out
    assert out.startswith("registered gate_demo:v2: the int8 variant of gate_demo:v1")
    assert re.search(r"val_auc +0\.\d{4} \(full model 0\.\d{4}\) on .*flights \(validation split\), \d+ rows", out)

    variant = ModelRegistry.for_spec(workload.spec).get("gate_demo", 2)
    meta = variant.metadata["variant"]
    assert (meta["kind"], meta["parent"]) == ("int8", 1)
    assert 0 < meta["size_bytes"] < meta["parent_size_bytes"] == parent.metadata["files"]["model.pt"]
    assert abs(meta["value"] - meta["parent_value"]) < 0.02 and variant.metrics == {"val_auc": meta["value"]}
    for who in ("variant", "parent"):
        timing = meta["latency_ms"][who]
        assert timing["single_record"] > 0 and timing["batch"] > 0 and timing["batch_records"] > 100
    # Everything serving needs comes along (preprocessing, input schema); only the weights differ.
    assert variant.read("preprocessor.json") == parent.read("preprocessor.json")
    assert variant.metadata["input_schema"] == parent.metadata["input_schema"]

    # Predictions agree with the full model's on at least 99% of the validation rows.
    frame = workload.frame[SplitRule(workload.spec.data).is_validation(workload.frame)]
    records = frame.drop(columns="delayed").to_dict("records")
    full, small = Predictor(parent).predict(records), Predictor(variant).predict(records)
    agree = sum(a["label"] == b["label"] for a, b in zip(full, small)) / len(records)
    with capsys.disabled():
        print(f"\nint8 variant: {meta['size_bytes']} bytes vs {meta['parent_size_bytes']}; labels agree on {agree:.2%} of "
              f"{len(records)} validation rows; latency {meta['latency_ms']}")
    assert len(records) > 400 and agree >= 0.99

    # `serve --version 1 --variant int8` serves it; the gate compares it with its parent when that is champion.
    assert serving_version(workload.spec, 1, "int8") == (variant, "the int8 variant of version 1")
    rayplane.promote(workload.spec, 1)
    decision = rayplane.promote(workload.spec, 2, force=True).decision
    assert (decision.challenger, decision.champion) == ("gate_demo:v2", "gate_demo:v1")
    assert abs(decision.challenger_value - meta["value"]) < 1e-9

    with pytest.raises(RegistryError, match=r"no int8 variant of version 2.*is itself|has no int8 variant of version 2"):
        serving_version(workload.spec, 2, "int8")
    assert main(["models", "quantize", args[0], "2", *args[1:]]) == 1
    assert "gate_demo:v2 is itself the int8 variant of v1: quantize v1 instead" in capsys.readouterr().err
    with pytest.raises(RegistryError, match=r"--variant int8: give the version it is a variant of with --version"):
        serving_version(workload.spec, None, "int8")
