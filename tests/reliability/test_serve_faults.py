"""The endpoint under a steady load while a replica is SIGKILLed, and while a new version replaces the old one.

Load: a few HTTP clients on 127.0.0.1, each sending one-record predictions back to back, bounded in time
(tests/load.py); every answer is kept, so failures are counted, not sampled.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from rayplane.registry import ModelRegistry
from rayplane.serve import deploy
from rayplane.spec import override
from load import Loaded
from tests_helpers import alive_actor_pids, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

CLIENTS = 4
REPLICAS = 2
LOAD_BOUND_S = 300
AFTER = 200  # answers still collected once the fault is over
# Answers a run collects at least, so that the few requests in flight on a killed replica are a stable share.
MIN_ANSWERS = 1000


def loaded(url: str, body: dict) -> Loaded:
    return Loaded(url, body, clients=CLIENTS, bound_s=LOAD_BOUND_S, after=AFTER, min_answers=MIN_ANSWERS)


@pytest.fixture(scope="module")
def versions(served_model, tmp_path_factory):
    """Two versions of the served model in a registry of this module (the session's registry stays as it is)."""
    registry = ModelRegistry(tmp_path_factory.mktemp("faults") / "models")
    return [registry.register(served_model.version.name, served_model.version.files(), served_model.version.metadata)
            for _ in range(2)]


@pytest.fixture(scope="module")
def spec(served_model, serve_port):
    return override(served_model.spec, {"serve.port": serve_port, "serve.autoscaling.min_replicas": REPLICAS,
                                        "serve.autoscaling.max_replicas": REPLICAS})


@pytest.fixture(scope="module")
def endpoint(spec, versions):
    endpoint = deploy(spec, versions[0], timeout_s=300)
    yield endpoint
    endpoint.undeploy()


def replicas(app: str, without: int | None = None) -> list[int] | None:
    """The app's replica pids once REPLICAS of them are alive, none of them ``without``; else None."""
    pids = alive_actor_pids(f"ServeReplica:{app}:")
    return sorted(pids) if len(pids) == REPLICAS and without not in pids else None


def test_a_killed_replica_costs_few_requests_and_is_replaced(endpoint):
    [victim, survivor] = wait_for(lambda: replicas(endpoint.app), timeout=120, what=f"{REPLICAS} replicas")
    with loaded(endpoint.predict_url, endpoint.example) as load:
        load.wait_for_answers(200)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(lambda: replicas(endpoint.app, without=victim), timeout=240,
                            what="a new replica in place of the killed one", interval=0.25)
        recovered_s = time.monotonic() - killed_at
        answers = load.finish()

    failed = [a for a in answers if a.status != 200]
    share = len(failed) / len(answers)
    around_kill = [a for a in answers if a.sent >= killed_at - 1]
    print(f"\nreplica killed: {len(failed)} of {len(answers)} requests failed ({share:.2%}; "
          f"statuses {sorted({str(a.status) for a in failed})}); replaced in {recovered_s:.1f} s")
    assert survivor in replaced
    assert share < 0.01, f"{len(failed)} of {len(answers)} requests failed"
    # The load went on while the replica was replaced, and ends healthy.
    assert len(around_kill) >= AFTER and all(a.status == 200 for a in answers[-AFTER // 2:])


def test_a_new_version_under_load_loses_no_request(spec, endpoint, versions):
    with loaded(endpoint.predict_url, endpoint.example) as load:
        load.wait_for_answers(100)
        started = time.monotonic()
        updated = deploy(spec, versions[1], timeout_s=300)  # returns once the health check answers as v2
        update_s = time.monotonic() - started
        answers = load.finish()

    statuses = {str(a.status) for a in answers}
    served = [a.version for a in answers]
    print(f"\nupdate under load: {len(answers)} requests, statuses {sorted(statuses)}, switched to "
          f"v{updated.version} in {update_s:.1f} s")
    assert statuses == {"200"}, [a for a in answers if a.status != 200][:5]
    assert served[0] == versions[0].version and served[-AFTER:] == [versions[1].version] * AFTER
    assert set(served) == {versions[0].version, versions[1].version}
