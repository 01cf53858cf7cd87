"""A really trained, really registered model version to serve: small Parquet data, the real Preprocessor
fitted with Ray Data, a tiny MLP trained for a few steps, registered as the training pipeline registers.

A pytest plugin (``pytest_plugins`` in tests/conftest.py), so its fixtures reach every test folder: tests/serve
and tests/reliability share one trained model per session, and each module that asks for ``endpoint`` gets it
deployed once."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.storage import Storage
from rayplane.spec import WorkloadSpec, load_spec, override

NAME = "serve_demo"
ROWS = 600


@dataclass(frozen=True)
class Served:
    spec_path: Path
    spec: WorkloadSpec
    version: ModelVersion
    frame: pd.DataFrame  # the rows the model was fitted on, features and label


def write_flights(directory: Path, rows: int = ROWS, shards: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "distance": rng.uniform(100, 2500, rows).round(1),
        "dep_hour": rng.integers(5, 23, rows).astype(float),
        "temp": np.where(rng.random(rows) < 0.1, np.nan, rng.normal(55, 15, rows).round(1)),
        "carrier": rng.choice(["AA", "B6", "DL", "UA", "WN"], rows),
        "origin": rng.choice(["EWR", "JFK", "LGA"], rows),
    })
    score = 0.002 * frame["distance"] / 10 + 0.25 * (frame["dep_hour"] - 14) + (frame["carrier"] == "B6") * 1.5
    frame["delayed"] = (score + rng.normal(0, 1, rows) > 0.5).astype(int)
    directory.mkdir(parents=True)
    for i, rows_of_shard in enumerate(np.array_split(np.arange(rows), shards)):
        frame.iloc[rows_of_shard].to_parquet(directory / f"part-{i}.parquet", index=False)
    return frame


def train_and_register(spec: WorkloadSpec, frame: pd.DataFrame) -> ModelVersion:
    import ray.data

    from rayplane.data.preprocess import Preprocessor
    from rayplane.modeling.mlp import build_model
    from rayplane.modeling.tasks import as_target, loss_fn

    preprocessor = Preprocessor.fit(ray.data.read_parquet(spec.data_path), spec.data)
    batch = preprocessor.transform_batch(frame)
    x, y = torch.from_numpy(batch["x"]), as_target("binary", torch.from_numpy(batch["y"]))
    params = {"hidden": 8, "layers": 1}
    torch.manual_seed(0)
    model = build_model(preprocessor.input_dim, 1, **params)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn("binary")(model(x), y)
        loss.backward()
        optimizer.step()
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    metadata = {
        "task": "binary",
        "output_dim": 1,
        "model_params": params,
        "params": {"lr": 0.05, **params},
        "metrics": {"loss": loss.item()},
        "input_schema": preprocessor.input_schema,
        "label_stats": preprocessor.label_stats,
    }
    files = {"model.pt": weights.getvalue(), "preprocessor.json": preprocessor.dumps().encode()}
    return ModelRegistry(Storage.for_spec(spec).models()).register(spec.name, files, metadata)


@pytest.fixture(scope="session")
def served_model(ray_session, tmp_path_factory) -> Served:
    root = tmp_path_factory.mktemp("serve")
    frame = write_flights(root / "flights")
    spec_path = root / "workload.yaml"
    spec_path.write_text(yaml.safe_dump({
        "name": NAME,
        "data": {"path": "flights", "label": "delayed", "task": "binary",
                 "features": {"numeric": ["distance", "dep_hour", "temp"], "categorical": ["carrier", "origin"]}},
        "serve": {"max_records_per_request": 50, "max_batch_size": 16, "cpus_per_replica": 0.25},
        "storage": {"root": "home"},
    }))
    spec = load_spec(spec_path)
    return Served(spec_path, spec, train_and_register(spec, frame), frame)


@pytest.fixture(scope="module")
def endpoint(served_model, serve_port):
    """The served model deployed on the session's Serve, for the tests of one module."""
    from rayplane.serve import deploy

    endpoint = deploy(override(served_model.spec, {"serve.port": serve_port}), served_model.version, timeout_s=240)
    yield endpoint
    endpoint.undeploy()


@pytest.fixture(scope="module")
def http(endpoint):
    with httpx.Client(timeout=60) as client:
        yield client
