"""Shared fixtures: one real local Ray for the session, and small real Parquet data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Fixtures that more than one test folder uses (a plain module on the ``tests`` pythonpath).
pytest_plugins = ["object_store", "served_model", "local_cluster"]


@pytest.fixture(scope="session")
def ray_session():
    """A real local Ray cluster shared by the whole test session (2 CPUs, like CI)."""
    import ray

    from rayplane.serve.ingress import local_ingress_env
    from tests_helpers import free_port

    # A short private temp dir: Ray's socket paths must stay under 107 bytes, and a private dir keeps this
    # cluster apart from any `ray start` cluster on the machine.
    temp_dir = tempfile.mkdtemp(prefix="rp-", dir="/tmp")
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    # Serve as rayplane's own embedded Ray runs it: behind HAProxy (rayplane.serve.ingress).
    os.environ.update(local_ingress_env(os.environ))
    # With the dashboard, as users get it: Train V2's PlacementGroupCleaner asks the State API (served by the
    # dashboard) whether a run's controller is gone, and a Tune trial stopped by ASHA or at its last epoch
    # leaves its workers' placement group behind for the cleaner. Without it every such group keeps its CPUs.
    ray.init(address="local", num_cpus=2, include_dashboard=True, dashboard_host="127.0.0.1",
             dashboard_port=free_port(), _temp_dir=temp_dir, log_to_driver=True, configure_logging=False)
    yield ray
    try:
        from ray import serve

        serve.shutdown()
    finally:
        ray.shutdown()


@pytest.fixture()
def rayplane_home(tmp_path, monkeypatch) -> Path:
    """A private storage root (runs and models) for one test."""
    monkeypatch.setenv("RAYPLANE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="session")
def serve_port() -> int:
    """The one HTTP port Ray Serve uses in this test session (Serve's address is fixed once it starts)."""
    from tests_helpers import free_port

    return free_port()
