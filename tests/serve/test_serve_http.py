"""The served model over real HTTP: one real Serve deployment on the session's Ray for the whole module."""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import urllib.request

import httpx
import pytest

from rayplane.errors import ServeError
from rayplane.modeling.predictor import Predictor
from rayplane.pipeline import registry_for
from rayplane.serve import deploy
from rayplane.spec import override
from tests_helpers import wait_for

FEATURES = ["distance", "dep_hour", "temp", "carrier", "origin"]


@pytest.fixture(scope="module")
def predictor(served_model):
    return Predictor(served_model.version)


def records(served_model, start: int, count: int) -> list[dict]:
    rows = served_model.frame[FEATURES].iloc[start:start + count].to_dict(orient="records")
    # JSON has no NaN: a missing temperature is sent as null.
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()} for row in rows]


def assert_same_answers(served: list[dict], direct: list[dict]) -> None:
    """Equal up to float noise: a matrix product's last bits depend on how many rows it multiplies at once."""
    assert [a["label"] for a in served] == [a["label"] for a in direct]
    assert [a["probability"] for a in served] == pytest.approx([a["probability"] for a in direct], abs=2e-6)


def post(http, endpoint, body) -> httpx.Response:
    return http.post(endpoint.predict_url, json=body)


def test_healthz_names_the_version(http, endpoint, served_model):
    response = http.get(endpoint.health_url)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "model": {"name": "serve_demo", "version": served_model.version.version}}


def test_one_record(http, endpoint, served_model):
    [record] = records(served_model, 0, 1)
    response = post(http, endpoint, record)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == {"name": "serve_demo", "version": served_model.version.version}
    [answer] = body["predictions"]
    assert set(answer) == {"label", "probability"} and 0.0 <= answer["probability"] <= 1.0
    assert answer["label"] == int(answer["probability"] >= 0.5)


def test_a_list_is_answered_in_order_as_the_predictor_answers(http, endpoint, served_model, predictor):
    sent = records(served_model, 10, 40)  # more than max_batch_size (16): split into batches and joined again
    assert any(r["temp"] is None for r in sent)
    response = post(http, endpoint, sent)
    assert response.status_code == 200, response.text
    assert_same_answers(response.json()["predictions"], predictor.predict(sent))
    # Not all the same answer: the order is really checked.
    assert len({a["probability"] for a in response.json()["predictions"]}) > 10


def test_concurrent_requests_are_batched_and_each_gets_its_own_answers(endpoint, served_model, predictor):
    bodies = [records(served_model, 100 + 7 * i, 1 + i % 7) for i in range(24)]

    async def send_all():
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(*(client.post(endpoint.predict_url, json=b) for b in bodies))

    responses = asyncio.run(send_all())
    assert [r.status_code for r in responses] == [200] * len(bodies)
    for body, response in zip(bodies, responses):
        assert_same_answers(response.json()["predictions"], predictor.predict(body))


def test_the_curl_example_works(endpoint):
    out = subprocess.run(endpoint.curl_example(), shell=True, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["predictions"]) == 1


@pytest.mark.parametrize("change, loc, text", [
    ({"distance": "1200"}, ["body", "distance"], "field 'distance': Input should be a valid number"),
    ({"carrier": 7}, ["body", "carrier"], "field 'carrier': Input should be a valid string"),
    ({"distanse": 1200.0}, ["body", "distanse"], "unknown field 'distanse'; did you mean 'distance'?"),
])
def test_bad_fields_are_422_naming_them(http, endpoint, change, loc, text):
    record = {**endpoint.example, **change}
    response = post(http, endpoint, record)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == loc and text in error["msg"]


def test_a_missing_field_is_422_naming_it(http, endpoint):
    # Nullable columns take null but must be sent: a misspelt key is not silently imputed.
    assert post(http, endpoint, {**endpoint.example, "temp": None}).status_code == 200
    response = post(http, endpoint, {k: v for k, v in endpoint.example.items() if k != "temp"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "temp"] and error["msg"] == "required field 'temp' is missing"


def test_a_wrong_record_in_a_list_is_named(http, endpoint):
    response = post(http, endpoint, [endpoint.example, {**endpoint.example, "dep_hour": True}])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "dep_hour"]


def test_body_errors(http, endpoint):
    malformed = http.post(endpoint.predict_url, content=b'{"distance": 12',
                          headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and "not valid JSON" in malformed.json()["detail"]
    empty = post(http, endpoint, [])
    assert empty.status_code == 422 and "empty" in empty.json()["detail"][0]["msg"]
    too_many = post(http, endpoint, [endpoint.example] * 51)
    assert too_many.status_code == 413 and "at most 50" in too_many.json()["detail"]


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_422(http, endpoint, token):
    body = json.dumps({**endpoint.example, "distance": 0.5}).replace("0.5", token)
    response = http.post(endpoint.predict_url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "distance"] and "finite number" in error["msg"]


def test_model_card(http, endpoint, served_model):
    card = http.get(endpoint.model_url).json()
    meta = served_model.version.metadata
    assert card["name"] == "serve_demo" and card["version"] == served_model.version.version
    assert card["metrics"] == meta["metrics"] and card["params"] == meta["params"]
    assert card["created_at"] == meta["created_at"]
    assert card["input_schema"] == meta["input_schema"]


def test_openapi_shows_the_generated_request_schema(http, endpoint):
    docs = http.get(endpoint.docs_url)
    # The docs page loads the schema from under the route prefix.
    assert docs.status_code == 200 and "/serve_demo/openapi.json" in docs.text
    spec = http.get(f"{endpoint.url}/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record, many = body["schema"]["oneOf"]
    assert set(record["properties"]) == set(FEATURES) and record["additionalProperties"] is False
    assert record["properties"]["distance"]["anyOf"][0]["type"] == "number"
    assert many["items"] == record
    assert body["example"] == record["examples"][0]
    answer = spec["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/PredictResponse")
    assert {"400", "413", "422"} <= set(spec["paths"]["/predict"]["post"]["responses"])


@pytest.mark.slow
def test_a_version_that_cannot_load_fails_the_deploy_with_the_replica_error(endpoint, served_model, tmp_path,
                                                                             http):
    registry = registry_for(served_model.spec)
    files = {**served_model.version.files(), "model.pt": b"not a state dict"}
    broken = registry.register("serve_broken", files, served_model.version.metadata)
    spec = override(served_model.spec, {"name": "serve_broken", "serve.port": httpx.URL(endpoint.url).port})
    with pytest.raises(ServeError) as info:
        deploy(spec, broken, timeout_s=180)
    message = str(info.value)
    assert "'serve_broken'" in message and "failed to deploy" in message
    assert "UnpicklingError" in message or "model.pt" in message, message
    from ray import serve

    assert "serve_broken" not in serve.status().applications
    # The other application is untouched.
    assert http.get(endpoint.health_url).status_code == 200


def test_drift_over_the_window_of_live_requests(http, endpoint, served_model, ray_session):
    drift_url = endpoint.predict_url.rpartition("/")[0] + "/drift"

    def send(batch: list[dict]) -> None:
        for start in range(0, len(batch), 50):  # the spec's max_records_per_request
            assert post(http, endpoint, batch[start:start + 50]).status_code == 200

    send(records(served_model, 0, 300))
    calm = http.get(drift_url).json()
    assert calm["available"] and calm["measure"] == "psi" and calm["window_records"] >= 300
    assert [f["feature"] for f in calm["features"]] == FEATURES
    assert calm["drifted"] == [], calm["drifted"]
    # A heat wave: every temperature 40 degrees up in the next 300 requests' records.
    send([{**r, "temp": None if r["temp"] is None else r["temp"] + 40} for r in records(served_model, 300, 300)])
    hot = http.get(drift_url).json()
    assert hot["drifted"] == ["temp"], hot["drifted"]
    assert hot["window_records"] == calm["window_records"] + 300
    # The same PSI reaches Prometheus through the node's Ray metrics endpoint.
    port = ray_session._private.worker.global_worker.node.metrics_export_port
    series = re.compile(r'^ray_rayplane_feature_drift\{[^}]*feature="temp",model="serve_demo"[^}]*\} (\S+)$', re.M)

    def exported() -> float | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as page:
            found = series.search(page.read().decode())
        return float(found.group(1)) if found and float(found.group(1)) > 0.2 else None

    temp = next(f for f in hot["features"] if f["feature"] == "temp")
    assert wait_for(exported, timeout=60, what="the temp drift gauge") == pytest.approx(temp["psi"], rel=1e-3)
