"""The whole path on small data: tune -> register -> serve, then real HTTP calls to the endpoint."""

from __future__ import annotations

import httpx
import pytest

import rayplane
from rayplane.spec import override

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(ray_session, tiny_workload, serve_port, tmp_path_factory):
    home = tmp_path_factory.mktemp("e2e-home")
    spec = override(rayplane.load_spec(tiny_workload), {"serve.port": serve_port, "storage.root": str(home)})
    result = rayplane.run(spec, serve=True)
    yield result
    result.endpoint.undeploy()


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
