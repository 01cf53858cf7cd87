"""Data-stage fixtures: real Parquet shards written by the workloads' own prepare scripts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import yaml

from rayplane.spec import WorkloadSpec, load_spec
from tests.data.datafiles import WORKLOADS, load_module


@pytest.fixture(scope="session")
def flights_module() -> ModuleType:
    return load_module(WORKLOADS / "flights_delay" / "prepare.py")


@pytest.fixture(scope="session")
def flights_dir(tmp_path_factory, flights_module) -> Path:
    """3,000 real flights in 3 shards, written by the workload's own prepare script."""
    out = tmp_path_factory.mktemp("flights") / "data"
    flights_module.prepare(str(out), shards=3, rows=3000, seed=0)
    return out


@pytest.fixture(scope="session")
def flights_spec(flights_dir) -> WorkloadSpec:
    raw = yaml.safe_load((WORKLOADS / "flights_delay" / "workload.yaml").read_text())
    raw["data"]["path"] = str(flights_dir)
    return load_spec(raw, base_dir=WORKLOADS / "flights_delay")


@pytest.fixture(scope="session")
def flights_data(ray_session, flights_spec):
    from rayplane.data import load_data

    return load_data(flights_spec)


@pytest.fixture(scope="session")
def flights_encoded(flights_data) -> dict:
    """Both encoded splits as pandas, read once: every Ray Data pass costs seconds on a busy 2-core box."""
    return {"train": flights_data.train.to_pandas(), "validation": flights_data.validation.to_pandas()}
