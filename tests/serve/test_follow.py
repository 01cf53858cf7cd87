"""A running endpoint follows the champion: a promotion and a rollback each roll the replicas over under a
bounded load with zero failed requests, and the answers and GET /<name>/model switch to the right version."""

from __future__ import annotations

import time

import httpx
import pytest

import rayplane
from load import Loaded
from rayplane.pipeline import serving_version
from rayplane.registry import ModelRegistry
from rayplane.serve import AliasFollower, deploy
from rayplane.spec import override
from rayplane.storage import Storage
from tests_helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

NAME = "follow_demo"


@pytest.fixture(scope="module")
def spec(served_model, serve_port, tmp_path_factory):
    """The served model's workload under its own name and registry, with two versions of the served model."""
    spec = override(served_model.spec, {"name": NAME, "serve.port": serve_port,
                                        "storage.root": str(tmp_path_factory.mktemp("follow") / "home")})
    registry = ModelRegistry(Storage.for_spec(spec).models())
    for _ in range(2):
        registry.register(NAME, served_model.version.files(), served_model.version.metadata)
    return spec


def model_version(url: str) -> int:
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, (response.status_code, response.headers, response.text[:300])
    return response.json()["version"]


def rolled_over(said: list[tuple[float, str]], version: int) -> bool:
    return any(line.startswith(f"now serving {NAME}:v{version} ") for _, line in said)


def test_serve_picks_the_champion_else_the_latest_and_says_so(spec):
    assert serving_version(spec) == (serving_version(spec, 2)[0], "the latest version: no version is champion yet")
    rayplane.promote(spec, 1, reason="first")
    version, why = serving_version(spec)
    assert (version.version, why) == (1, "champion")


def test_promotion_and_rollback_roll_the_endpoint_over_under_load(spec):
    champion, _ = serving_version(spec)
    endpoint = deploy(spec, champion, timeout_s=240)
    said: list[tuple[float, str]] = []
    follower = AliasFollower(spec, endpoint, poll_s=0.5, say=lambda line: said.append((time.monotonic(), line)))
    follower.start()
    try:
        with Loaded(endpoint.predict_url, endpoint.example, clients=2, bound_s=240, after=50,
                    min_answers=200) as load:
            load.wait_for_answers(30)
            # The gate runs (both versions have the same weights: no worse, so promoted).
            assert rayplane.promote(spec, 2, reason="roll out").decision.passed
            wait_for(lambda: rolled_over(said, 2), timeout=240, what="the follower's rollover to v2")
            assert model_version(endpoint.model_url) == 2
            load.wait_for_answers(len(load.answers) + 30)
            rolled_back_at = time.monotonic()
            rayplane.rollback(spec, reason="roll back")
            wait_for(lambda: rolled_over(said, 1), timeout=240, what="the follower's rollover back to v1")
            assert model_version(endpoint.model_url) == 1
            answers = load.finish()
    finally:
        follower.stop().undeploy()

    failed = [a for a in answers if a.status != 200]
    switches = [line for _, line in said if line.startswith("now serving")]
    print(f"\n{len(answers)} requests through a promotion and a rollback, {len(failed)} failed; follower: {said}")
    assert failed == [], failed[:5]
    assert switches == [f"now serving {NAME}:v2 at {endpoint.url}", f"now serving {NAME}:v1 at {endpoint.url}"]
    # Once the rollover to v2 was complete and until the rollback began, only v2 answered; v1 before and after.
    v2_done = next(t for t, line in said if line.startswith(f"now serving {NAME}:v2"))
    between = [a.version for a in answers if v2_done < a.sent < rolled_back_at]
    assert between and set(between) == {2}
    assert answers[0].version == 1 and answers[-1].version == 1


def test_an_int8_variant_is_served_like_any_version(spec):
    from rayplane.variants import quantize_version

    variant = quantize_version(spec, 1)
    version, why = serving_version(spec, 1, "int8")
    assert version == variant and why == "the int8 variant of version 1"
    endpoint = deploy(spec, version, timeout_s=240)
    try:
        card = httpx.get(endpoint.model_url, timeout=30).json()
        answer = httpx.post(endpoint.predict_url, json=endpoint.example, timeout=30).json()
    finally:
        endpoint.undeploy()
    assert card["version"] == variant.version and answer["model"]["version"] == variant.version
    assert (card["variant"]["kind"], card["variant"]["parent"]) == ("int8", 1)
    assert answer["predictions"][0]["label"] in (0, 1)
