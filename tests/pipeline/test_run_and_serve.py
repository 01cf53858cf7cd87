"""The whole path on small data, with the data and all state on a real S3 API server: tune -> register ->
serve, real HTTP calls to the endpoint, and nothing of rayplane's on the local disk.

(The same path on a local storage root runs in tests/pipeline/test_resume.py, tests/reliability and
tests/cluster; tests/cluster/test_no_shared_disk.py runs it on a multi-node cluster.)
"""

from __future__ import annotations

import json

import httpx
import pyarrow.fs as pafs
import pytest

import rayplane
from rayplane.cli.main import main
from rayplane.spec import override
from rayplane.storage import Location

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_home(tmp_path_factory):
    """Where rayplane would write if anything still assumed a local disk (the default root's override)."""
    return tmp_path_factory.mktemp("e2e-local-home")


@pytest.fixture(scope="module")
def served(ray_session, tiny_workload, serve_port, s3, local_home):
    bucket = s3.bucket("e2e")
    pafs.copy_files(str(tiny_workload.parent / "data"), f"{bucket[5:]}/raw/tiny", destination_filesystem=Location(bucket).filesystem)
    spec = override(rayplane.load_spec(tiny_workload), {
        "serve.port": serve_port, "data.path": f"{bucket}/raw/tiny/", "storage.root": f"{bucket}/rayplane/"})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAYPLANE_HOME", str(local_home))
        result = rayplane.run(spec, run_name="e2e-s3", serve=True)
        yield result
        result.endpoint.undeploy()


def test_state_lives_on_the_object_store_only(served, local_home, capsys):
    bucket = served.spec.storage.root.split("/")[2]
    assert served.version.location.display == f"s3://{bucket}/rayplane/models/tiny/v1"
    assert served.version.metadata["checkpoint"].startswith(f"s3://{bucket}/rayplane/runs/e2e-s3-")
    stored = Location(f"s3://{bucket}/rayplane").files()
    assert "models/tiny/v1/metadata.json" in stored and "models/tiny/v1/model.pt" in stored
    assert any(f.startswith("runs/e2e-s3/experiment_state") for f in stored), "Tune's state, to resume by name"
    assert [f for f in stored if "/checkpoint_" in f and f.endswith("model.pt")], "Train's checkpoints"
    assert not [f for f in stored if ".rayplane-probe-" in f or "/.staging/" in f], "no probe or upload left"
    assert list(local_home.rglob("*")) == []
    assert main(["models", "show", str(served.spec.base_dir / "workload.yaml"),
                 "--set", f"storage.root=s3://{bucket}/rayplane"]) == 0
    assert json.loads(capsys.readouterr().out)["location"] == served.version.location.display


def test_a_rerun_of_the_run_name_restores_the_search_from_the_object_store(served):
    """Nothing is left to run: the restored search hands back its best trial, registered as the next version."""
    again = rayplane.tune(served.spec, run_name="e2e-s3")
    assert again.version.version == 2
    assert again.params == served.params and again.metrics["val_auc"] == served.metrics["val_auc"]


def record(**changes):
    return {"x1": 0.5, "x2": -1.0, "x3": 0.25, "color": "red", **changes}


def test_tuning_beats_the_majority_baseline_and_registers(served):
    metrics = served.metrics
    assert metrics["val_accuracy"] > metrics["val_baseline_accuracy"] + 0.1, metrics
    assert metrics["val_auc"] > 0.75
    assert served.version.version == 1 and set(served.params) == {"lr"}
    meta = served.version.metadata
    assert meta["spec_hash"] and meta["input_schema"] and meta["data"]["files"] == 3


def test_predict_one_record_and_a_batch(served):
    url = served.endpoint.predict_url
    one = httpx.post(url, json=record(), timeout=30)
    assert one.status_code == 200, one.text
    [answer] = one.json()["predictions"]
    assert answer["label"] in (0, 1) and 0.0 <= answer["probability"] <= 1.0
    batch = [record(x1=v) for v in (-2.0, 0.0, 2.0)]
    many = httpx.post(url, json=batch, timeout=30)
    assert many.status_code == 200, many.text
    probs = [p["probability"] for p in many.json()["predictions"]]
    assert len(probs) == 3 and probs[0] < probs[2], "x1 pushes towards the positive class in the data"
    assert many.json()["model"] == {"name": "tiny", "version": served.version.version}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (record(x1="not a number"), "x1"),
        ({k: v for k, v in record().items() if k != "x2"}, "x2"),
        (record(colour="red"), "colour"),
    ],
    ids=["bad-type", "missing-field", "unknown-field"],
)
def test_bad_records_are_422_naming_the_field(served, body, field):
    response = httpx.post(served.endpoint.predict_url, json=body, timeout=30)
    assert response.status_code == 422, response.text
    assert field in response.text


def test_health_and_model_card(served):
    assert httpx.get(served.endpoint.health_url, timeout=30).status_code == 200
    card = httpx.get(served.endpoint.model_url, timeout=30).json()
    assert card["version"] == served.version.version and "val_auc" in card["metrics"]
