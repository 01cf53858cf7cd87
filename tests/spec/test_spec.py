"""The workload spec: good specs load, every bad one names the field (and suggests the key)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests_helpers import DELETE, REPO, with_changes
from rayplane.cli.main import cli, main
from rayplane.errors import SpecError
from rayplane.spec import load_spec, override, spec_hash

GOOD = {
    "name": "demo",
    "data": {"path": "data", "task": "binary", "label": "y", "features": {"numeric": ["a", "b"], "categorical": ["c"]}},
    "model": {"params": {"hidden": 8}},
    "tune": {"search_space": {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2},
                              "hidden": {"type": "choice", "values": [8, 16]}}},
}


def mutate(path: str, value):
    return with_changes(GOOD, {path: value})


BAD = [
    # (field path, value, the message must contain all of these)
    ("trian", {}, ["trian", "unknown field", "did you mean 'train'"]),
    ("data.lable", "y", ["data.lable", "did you mean 'label'"]),
    ("data.features.numerc", ["a"], ["data.features.numerc", "did you mean 'numeric'"]),
    ("train.num_workers", {"mn": 1, "max": 2}, ["train.num_workers.mn", "did you mean 'min'"]),
    ("train.num_workers", {"min": 3, "max": 2}, ["train.num_workers", "min (3) is greater than max (2)"]),
    ("train.num_workers", {"min": 0, "max": 2}, ["train.num_workers.min", "greater than or equal to 1"]),
    ("train.epochs", "three", ["train.epochs", "valid integer", "'three'"]),
    ("train.cpus_per_worker", -1, ["train.cpus_per_worker"]),
    ("train.optimizer", "adamm", ["train.optimizer", "did you mean 'adam'"]),
    ("data.task", "binar", ["data.task", "did you mean 'binary'"]),
    ("data.label", DELETE, ["data.label", "required field is missing"]),
    ("data.path", DELETE, ["data.path", "required field is missing"]),
    ("name", "Bad Name!", ["name", "pattern"]),
    ("data.validation_fraction", 1.5, ["data.validation_fraction", "less than 1"]),
    ("data.features", {"numeric": [], "categorical": []}, ["data.features", "at least one column"]),
    ("data.features", {"numeric": ["y"]}, ["data", "label 'y' is also listed as a feature"]),
    ("data.num_classes", 4, ["data", "num_classes applies only to task 'multiclass'"]),
    ("tune.search_space", {"lr": {"type": "loguniform", "low": 1e-2, "high": 1e-4}},
     ["tune.search_space.lr", "low (0.01) must be below high (0.0001)"]),
    ("tune.search_space", {"lr": {"type": "logunifrom", "low": 1e-4, "high": 1e-2}},
     ["tune.search_space.lr", "unknown type 'logunifrom'", "did you mean 'loguniform'"]),
    ("tune.search_space", {"lr": {"type": "loguniform", "low": 1e-4, "hihg": 1e-2}},
     ["tune.search_space.lr.hihg", "did you mean 'high'"]),
    ("tune.search_space", {"hiden": {"type": "choice", "values": [8]}},
     ["tune.search_space.hiden", "did you mean 'hidden'"]),
    ("tune.metric", "val_acuracy", ["tune.metric", "'val_acuracy' is not reported", "did you mean 'val_accuracy'"]),
    ("tune.num_samples", 0, ["tune.num_samples", "greater than or equal to 1"]),
    ("tune.max_concurrent_trials", 0, ["tune.max_concurrent_trials"]),
    ("serve.port", 70000, ["serve.port", "less than or equal to 65535"]),
    ("serve.prot", 8000, ["serve.prot", "did you mean 'port'"]),
    ("serve.route_prefix", "predict/", ["serve.route_prefix", "must start with '/'"]),
    ("serve.autoscaling", {"min_replicas": 3, "max_replicas": 1}, ["serve.autoscaling", "min_replicas (3)"]),
]


def test_good_spec_loads_with_defaults(tmp_path):
    spec = load_spec(GOOD, base_dir=tmp_path)
    assert spec.data_path == str(tmp_path / "data")
    assert spec.metric == ("val_auc", "max")
    assert spec.route_prefix == "/demo"
    assert spec.train.num_workers.min == 1 and spec.train.cpus_per_worker == "auto"


def test_flagship_workload_is_valid():
    spec = load_spec(REPO / "workloads" / "flights_delay" / "workload.yaml")
    assert spec.name == "flights_delay"
    assert Path(spec.data_path).is_relative_to(REPO / "workloads" / "flights_delay")


@pytest.mark.parametrize(("path", "value", "expected"), BAD, ids=[f"{p}={v!r}"[:60] for p, v, _ in BAD])
def test_bad_spec_names_the_field(path, value, expected):
    with pytest.raises(SpecError) as info:
        load_spec(mutate(path, value))
    message = str(info.value)
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in:\n{message}"


def test_all_problems_are_reported_at_once():
    spec = mutate("trian", {})
    spec["serve"] = {"prot": 1}
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert "2 problem(s)" in str(info.value)


def test_yaml_errors_name_the_file(tmp_path):
    bad = tmp_path / "w.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match=r"w\.yaml: not valid YAML"):
        load_spec(bad)
    listing = tmp_path / "l.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="expected a mapping"):
        load_spec(listing)
    with pytest.raises(SpecError, match="no such spec file"):
        load_spec(tmp_path / "missing.yaml")


def test_override_revalidates_and_hash_tracks_content(tmp_path):
    spec = load_spec(GOOD, base_dir=tmp_path)
    more = override(spec, {"tune.num_samples": 9})
    assert more.tune.num_samples == 9 and more.base_dir == spec.base_dir
    assert spec_hash(more) != spec_hash(spec) and spec_hash(load_spec(GOOD, base_dir=tmp_path)) == spec_hash(spec)
    with pytest.raises(SpecError, match="train.epochs"):
        override(spec, {"train.epochs": 0})


def test_cli_validate_good_and_bad(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(GOOD))
    assert CliRunner().invoke(cli, ["validate", "--offline", str(good)]).exit_code == 0
    # Without --offline the data must be there too (tests/storage checks storage and data in depth).
    assert main(["validate", str(good)]) == 1
    assert f"data.path: no .parquet files at {tmp_path / 'data'}" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(mutate("train.epcohs", 2)))
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "train.epcohs: unknown field; did you mean 'epochs'?" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("field", "uri"), [
    ("data.path", "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/raw/"),
    ("storage.root", "s3://bucket/rayplane?endpoint_override=minio:9000&secret_key=wJalrXUtnFEMI"),
    ("storage.root", "abfs://models@account.dfs.core.windows.net/x?account_key=wJalrXUtnFEMI"),
])
def test_credentials_in_a_uri_are_refused_and_never_echoed(field, uri):
    with pytest.raises(SpecError) as info:
        load_spec(mutate(field, uri))
    message = str(info.value)
    assert f"{field}: holds credentials" in message and "AWS_ACCESS_KEY_ID" in message
    assert "wJalrXUtnFEMI" not in message


def test_a_uri_with_a_user_but_no_secret_is_fine():
    assert load_spec(mutate("storage.root", "abfs://models@account.dfs.core.windows.net/x")).storage.root
