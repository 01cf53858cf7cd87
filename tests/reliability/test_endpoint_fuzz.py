"""The served endpoint under generated and hostile input, over real HTTP: never a 5xx, every bad body a clear 4xx.

Schemathesis generates requests from the endpoint's own /openapi.json (valid and invalid bodies for every
operation); the explicit cases are the bodies a generator does not reach: bytes that are not JSON, nesting
deeper than a parser recurses, a body far larger than the record limit allows.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)


EXAMPLES = 50
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection, positive_data_acceptance]


@pytest.mark.timeout(300)
def test_generated_requests_never_get_a_server_error(endpoint):
    schema = schemathesis.openapi.from_url(f"{endpoint.url}/openapi.json", timeout=30)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} == {"POST /predict", "GET /healthz", "GET /model", "GET /drift"}
    cases = st.one_of([op.as_strategy(mode) for op in operations for mode in GenerationMode])
    statuses: Counter[int] = Counter()

    # Derandomized: the same 50 requests on every run, so a failure reproduces instead of flaking.
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def fuzz(case):
        response = case.call(base_url=endpoint.url, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    fuzz()
    print(f"\n{sum(statuses.values())} generated requests, statuses {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) >= EXAMPLES
    assert not any(code >= 500 for code in statuses), statuses
    # Both kinds really ran: answers, and bodies refused as the schema says.
    assert statuses[200] and statuses[422], statuses


def deep(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("body, status, says", [
    (b'{"distance": 12', 400, "not valid JSON"),
    (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    (b"", 400, "not valid JSON"),
    (b"null", 422, "got null"),
    (b'"a record"', 422, "got string"),
    (b"[1, 2]", 422, "must be a JSON object, got number"),
    (b"[]", 422, "empty"),
    (b'{"distance": 1e400}', 422, "finite number"),
    (b'{"distance": ' + b"9" * 5000 + b"}", 400, "not valid JSON"),
    (deep(100_000), 400, "nested"),
], ids=["truncated", "not utf-8", "empty body", "null", "a string", "numbers not records", "empty list",
        "overflowing float", "5000-digit integer", "nested 100k deep"])
def test_bad_bodies_are_a_clear_4xx(http, endpoint, body, status, says):
    response = http.post(endpoint.predict_url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text[:500]
    assert says in json.dumps(response.json())


def test_wrong_types_name_every_field(http, endpoint):
    record = {"distance": "far", "dep_hour": [9], "temp": {"c": 3}, "carrier": 7, "origin": True}
    response = http.post(endpoint.predict_url, json=record)
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {("body", k) for k in record}


def test_huge_finite_numbers_get_a_finite_answer(http, endpoint):
    # Valid JSON numbers far outside float32: the answer must still be a probability, not NaN (invalid JSON).
    records = [{**endpoint.example, "distance": 2e164, "dep_hour": -1e300, "temp": 1e38}, endpoint.example]
    response = http.post(endpoint.predict_url, json=records)
    assert response.status_code == 200
    assert all(0.0 <= a["probability"] <= 1.0 for a in response.json()["predictions"]), response.text


def test_too_many_records_is_413_naming_the_limit(http, endpoint, served_model):
    limit = served_model.spec.serve.max_records_per_request
    response = http.post(endpoint.predict_url, json=[endpoint.example] * (limit + 1))
    assert response.status_code == 413
    assert f"at most {limit}" in response.json()["detail"]
    assert "serve.max_records_per_request" in response.json()["detail"]


def test_an_oversized_body_is_413_and_the_endpoint_stays_up(http, endpoint):
    # One record whose string is 32 MiB: within the record limit, far beyond any real record.
    body = json.dumps({**endpoint.example, "carrier": "x" * (32 * 2**20)}).encode()
    response = http.post(endpoint.predict_url, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text[:500]
    assert "bytes" in response.json()["detail"]
    assert http.post(endpoint.predict_url, json=endpoint.example).status_code == 200
