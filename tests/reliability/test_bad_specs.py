"""Bad specs are rejected before any work starts, by the API and the CLI alike, with a message naming the field.

Complements tests/spec/test_spec.py (which has the first typos, ranges and search-space errors): these add more
typos, wrong types, impossible resources, unknown search-space kinds, and the checks that need the file system
(data path, model code, prepare script) or the cluster (CPUs per worker), each of which must fail before Ray
does any work.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from rayplane.cli.main import main
from rayplane.errors import SpecError
from rayplane.spec import load_spec
from tests_helpers import DELETE, REPO, with_changes

GOOD = {
    "name": "demo",
    "data": {"path": "data", "task": "binary", "label": "y",
             "features": {"numeric": ["a", "b"], "categorical": ["c"]}},
    "model": {"params": {"hidden": 8}},
    "tune": {"search_space": {"lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}},
}


def changed(changes: dict) -> dict:
    return with_changes(GOOD, changes)


def dim(**kwargs) -> dict:
    return {"tune.search_space": {kwargs.pop("key", "lr"): kwargs}}


# (id, changes, fragments the message must contain: the first is always the field path)
CASES = [
    # typos
    ("typo-features", {"data.featurs": {"numeric": ["a"]}}, ["data.featurs", "did you mean 'features'"]),
    ("typo-params", {"model.parms": {}}, ["model.parms", "did you mean 'params'"]),
    ("typo-batch-size", {"train.batchsize": 8}, ["train.batchsize", "did you mean 'batch_size'"]),
    ("typo-search-space", {"tune.searchspace": {}}, ["tune.searchspace", "did you mean 'search_space'"]),
    ("typo-asha-key", {"tune.early_stopping": {"grace": 1}}, ["tune.early_stopping.grace", "unknown field"]),
    ("typo-replicas", {"serve.autoscaling": {"max_replica": 2}},
     ["serve.autoscaling.max_replica", "did you mean 'max_replicas'"]),
    ("typo-storage-root", {"storage": {"rooot": "x"}}, ["storage.rooot", "did you mean 'root'"]),
    ("typo-scaling-key", {"data.preprocessing": {"scalling": "none"}},
     ["data.preprocessing.scalling", "did you mean 'scaling'"]),
    ("typo-scaling-value", {"data.preprocessing": {"scaling": "standart"}},
     ["data.preprocessing.scaling", "did you mean 'standard'"]),
    ("typo-search-key", dim(key="batchsize", type="choice", values=[8]),
     ["tune.search_space.batchsize", "did you mean 'batch_size'"]),
    # wrong types
    ("type-batch-size", {"train.batch_size": "big"}, ["train.batch_size", "valid integer", "'big'"]),
    ("type-lr", {"train.lr": [0.1]}, ["train.lr", "valid number"]),
    ("type-numeric-list", {"data.features": {"numeric": "a"}}, ["data.features.numeric", "valid list"]),
    ("type-num-workers", {"train.num_workers": 2}, ["train.num_workers", "valid dictionary"]),
    ("type-choice-values", dim(key="hidden", type="choice", values=8), ["tune.search_space.hidden.values", "valid list"]),
    ("type-max-batch", {"serve.max_batch_size": 1.5}, ["serve.max_batch_size", "fractional part"]),
    ("type-name", {"name": 123}, ["name", "valid string"]),
    ("type-cpus", {"train.cpus_per_worker": "half"}, ["train.cpus_per_worker: ", "'half'"]),
    ("type-asha", {"tune.early_stopping": 3}, ["tune.early_stopping", "valid dictionary"]),
    ("type-mode", {"tune.metric": "val_auc", "tune.mode": "maximize"}, ["tune.mode", "'min' or 'max'"]),
    ("type-search-space", {"tune.search_space": []}, ["tune.search_space", "valid dictionary"]),
    ("type-data-path", {"data.path": 5}, ["data.path", "valid string"]),
    ("empty-data-path", {"data.path": ""}, ["data.path", "at least 1 character"]),
    # impossible resources and ranges
    ("cpus-per-worker", {"train.cpus_per_worker": 1000}, ["train.cpus_per_worker", "(0, 512]"]),
    ("max-workers-zero", {"train.num_workers": {"min": 1, "max": 0}}, ["train.num_workers.max", "greater than or equal to 1"]),
    ("replica-cpus", {"serve.cpus_per_replica": 0}, ["serve.cpus_per_replica", "greater than 0"]),
    ("batch-size-zero", {"train.batch_size": 0}, ["train.batch_size", "greater than or equal to 1"]),
    ("max-records-zero", {"serve.max_records_per_request": 0}, ["serve.max_records_per_request", "greater than"]),
    ("lr-zero", {"train.lr": 0}, ["train.lr", "greater than 0"]),
    ("max-failures", {"train.max_failures": -2}, ["train.max_failures", "greater than or equal to -1"]),
    ("checkpoint-every", {"train.checkpoint_every": 0}, ["train.checkpoint_every", "greater than or equal to 1"]),
    ("batch-wait", {"serve.batch_wait_timeout_s": 60}, ["serve.batch_wait_timeout_s", "less than or equal to 10"]),
    ("max-categories", {"data.preprocessing": {"max_categories": 0}}, ["data.preprocessing.max_categories", "greater than or equal to 1"]),
    ("asha-factor", {"tune.early_stopping": {"reduction_factor": 1}},
     ["tune.early_stopping.reduction_factor", "greater than 1"]),
    # min > max and other bounds in the search space
    ("int-low-above-high", dim(key="hidden", type="int", low=5, high=2),
     ["tune.search_space.hidden", "low (5) must be below high (2)"]),
    ("uniform-empty", dim(key="dropout", type="uniform", low=0.2, high=0.2),
     ["tune.search_space.dropout", "low (0.2) must be below high (0.2)"]),
    ("log-int-from-zero", dim(key="hidden", type="int", low=0, high=4, log=True),
     ["tune.search_space.hidden", "log-scaled int ranges need low > 0"]),
    ("loguniform-zero", dim(type="loguniform", low=0, high=0.1), ["tune.search_space.lr.low", "greater than 0"]),
    ("choice-empty", dim(key="hidden", type="choice", values=[]), ["tune.search_space.hidden.values", "at least 1"]),
    # unknown search-space kinds
    ("kind-normal", dim(type="normal", mean=0.1), ["tune.search_space.lr", "unknown type 'normal'"]),
    ("kind-missing", dim(low=0.1, high=0.2), ["tune.search_space.lr", "'type'"]),
    ("kind-grid", dim(key="hidden", type="grid_search", values=[8, 16]),
     ["tune.search_space.hidden", "unknown type 'grid_search'"]),
    # task, metric and data sections
    ("multiclass-no-classes", {"data.task": "multiclass"}, ["data", "task 'multiclass' needs num_classes"]),
    ("two-classes", {"data.task": "multiclass", "data.num_classes": 2}, ["data.num_classes", "greater than or equal to 3"]),
    ("metric-other-task", {"tune.metric": "val_rmse"}, ["tune.metric", "'val_rmse' is not reported for task 'binary'"]),
    ("mode-without-metric", {"tune.mode": "min"}, ["tune.mode: ", "without tune.metric"]),
    ("column-twice", {"data.features": {"numeric": ["a", "a"]}}, ["data.features", "column 'a' is listed twice"]),
    ("prepare-shards", {"data.prepare": {"script": "p.py", "shards": 0}}, ["data.prepare.shards", "greater than"]),
    ("prepare-no-script", {"data.prepare": {"shards": 2}}, ["data.prepare.script", "required field is missing"]),
    ("no-data", {"data": DELETE}, ["data", "required field is missing"]),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_is_rejected_by_api_and_cli_naming_the_field(changes, expected, tmp_path, capsys):
    with pytest.raises(SpecError) as info:
        load_spec(changed(changes), base_dir=tmp_path)
    api_message = str(info.value)
    for fragment in expected:
        assert fragment in api_message, f"{fragment!r} not in:\n{api_message}"
    # Every problem reported is located at the changed field: nothing else in the spec is blamed.
    field = expected[0].removesuffix(": ")
    header, *problems = api_message.splitlines()
    assert header.endswith(f"{len(problems)} problem(s) in the workload spec:"), api_message
    assert problems and all(p.startswith(f"  - {field}: ") for p in problems), api_message
    # A tagged union's member name ("float", "literal[...]") is pydantic's, not a key the user wrote.
    assert ".float" not in api_message and "literal[" not in api_message

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(changed(changes)))
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: ") and "Traceback" not in err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


def test_the_spec_the_cases_change_is_valid(tmp_path, capsys):
    """Each case fails because of its one change: without it, the API and `rayplane validate` accept the spec."""
    assert load_spec(GOOD, base_dir=tmp_path).name == "demo"
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(GOOD))
    # --offline: the spec alone (there is no data behind it; tests/storage checks storage and data).
    assert main(["validate", "--offline", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path}: valid workload 'demo'")


@pytest.mark.parametrize("text", ["", "name: demo\ndata: data/\n", "name: demo\n\tdata: {}\n"],
                         ids=["empty-file", "data-not-a-mapping", "tab-indent"])
def test_unusable_files_are_named(tmp_path, capsys, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}" in err and "Traceback" not in err
    assert any(word in err for word in ("expected a mapping", "data:", "not valid YAML")), err


def rayplane(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rayplane.cli.main", *args], cwd=REPO, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture()
def workload_dir(tmp_path) -> Path:
    """A spec directory with one real, valid shard (so only the fault under test can fail)."""
    import pandas as pd

    (tmp_path / "data").mkdir()
    pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1, 2, 3, 4], "c": ["x", "y", "x", "y"], "y": [0, 1, 0, 1]}) \
        .to_parquet(tmp_path / "data" / "part-0.parquet", index=False)
    return tmp_path


# (id, changes, fragments of the error)
BEFORE_RAY = [
    ("bad-field", {"train.epochs": "two"}, ["train.epochs", "valid integer"]),
    ("missing-data-path", {"data.path": "no/such/dir"}, ["data.path: no .parquet files at", "no/such/dir"]),
    ("missing-model-code", {"model.code": "nope.py", "model.params": {}, "tune.search_space": {}},
     ["model.code:", "nope.py does not exist"]),
    ("missing-prepare-script", {"data.path": "fresh", "data.prepare": {"script": "gone.py"}},
     ["data.prepare.script:", "gone.py does not exist"]),
    ("missing-column", {"data.features": {"numeric": ["a", "bb"], "categorical": ["c"]}},
     ["part-0.parquet: no column 'bb' (named in data.features.numeric)"]),
]


@pytest.mark.parametrize(("changes", "expected"), [c[1:] for c in BEFORE_RAY], ids=[c[0] for c in BEFORE_RAY])
def test_run_fails_before_ray_starts(workload_dir, changes, expected):
    spec = workload_dir / "workload.yaml"
    spec.write_text(yaml.safe_dump(changed({**changes, "storage.root": "home"})))
    ray_tmp = workload_dir / "raytmp"
    started = time.monotonic()
    done = rayplane(["run", str(spec), "--no-serve"], {"RAY_TMPDIR": str(ray_tmp)}, timeout=120)
    seconds = time.monotonic() - started
    assert done.returncode == 1, done.stderr[-2000:]
    assert "error: " in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    message = done.stderr[done.stderr.index("error: "):]
    for fragment in expected:
        assert fragment in message, message
    # Nothing was started: no Ray session directory, no run directory.
    assert not (ray_tmp / "ray").exists(), f"Ray started before the bad input was caught ({seconds:.1f}s)"
    assert not (workload_dir / "home" / "runs").exists()


@pytest.mark.slow
def test_more_cpus_per_worker_than_the_cluster_has_fails_before_training(workload_dir):
    """Only knowable at run time: an embedded 2-CPU Ray cannot place a 64-CPU worker; waiting would hang."""
    spec = workload_dir / "workload.yaml"
    spec.write_text(yaml.safe_dump(changed({"train.cpus_per_worker": 64, "tune.search_space": {},
                                            "storage.root": "home"})))
    # A short private temp dir: Ray's socket paths must stay under 107 bytes.
    ray_tmp = tempfile.mkdtemp(prefix="rp-", dir="/tmp")
    try:
        done = rayplane(["train", str(spec)], {"RAY_TMPDIR": ray_tmp}, timeout=300)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 1, done.stderr[-2000:]
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: train.cpus_per_worker: 1 worker(s) x 64 CPU need 64 CPUs"), last
    assert not (workload_dir / "home" / "runs").exists()
