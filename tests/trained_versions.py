"""Real versions to promote, trained in this process without Ray: the real Preprocessor fitted on the training
split (the same split rule as the pipeline), the built-in MLP, registered as the pipeline registers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.spec import WorkloadSpec, load_spec
from rayplane.storage import Storage
from served_model import write_flights

ROWS = 3000


@dataclass(frozen=True)
class Workload:
    spec_path: Path
    spec: WorkloadSpec
    frame: pd.DataFrame

    def fit(self, *, flip_labels: bool = False, **params) -> ModelVersion:
        """A trained version; with ``flip_labels`` one that learned the opposite (worse than chance)."""
        return fit_and_register(self.spec, self.frame, flip_labels=flip_labels, **params)


def fit_and_register(spec: WorkloadSpec, frame: pd.DataFrame, *, flip_labels: bool = False,
                     **params) -> ModelVersion:
    from rayplane.data.preprocess import Preprocessor
    from rayplane.data.split import SplitRule
    from rayplane.data.stats import summarize_frame
    from rayplane.modeling.mlp import build_model
    from rayplane.modeling.tasks import as_target, loss_fn

    split = SplitRule(spec.data)
    preprocessor = Preprocessor.from_summary(summarize_frame(frame, spec.data, split), spec.data)
    batch = preprocessor.transform_batch(frame[~split.is_validation(frame)])
    y = 1.0 - batch["y"] if flip_labels else batch["y"]
    x, y = torch.from_numpy(batch["x"]), as_target("binary", torch.from_numpy(y))
    params = {"hidden": 16, "layers": 1, "dropout": 0.0, **params}
    torch.manual_seed(0)
    torch.set_num_threads(1)  # the machine's cores are shared; more threads only contend for them
    model = build_model(preprocessor.input_dim, 1, **params)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(50):
        optimizer.zero_grad()
        loss_fn("binary")(model(x), y).backward()
        optimizer.step()
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    metadata = {"task": "binary", "output_dim": 1, "model_params": params, "params": params, "metrics": {},
                "input_schema": preprocessor.input_schema, "label_stats": preprocessor.label_stats}
    files = {"model.pt": weights.getvalue(), "preprocessor.json": preprocessor.dumps().encode()}
    return ModelRegistry(Storage.for_spec(spec).models()).register(spec.name, files, metadata)


def write_workload(directory: Path, storage_root: str, **sections) -> Workload:
    frame = write_flights(directory / "flights", rows=ROWS)
    raw = {
        "name": "gate_demo",
        "data": {"path": "flights", "label": "delayed", "task": "binary",
                 "features": {"numeric": ["distance", "dep_hour", "temp"], "categorical": ["carrier", "origin"]}},
        "storage": {"root": storage_root},
        **sections,
    }
    (directory / "workload.yaml").write_text(yaml.safe_dump(raw))
    return Workload(directory / "workload.yaml", load_spec(directory / "workload.yaml"), frame)


@pytest.fixture(params=["local", "s3"])
def workload(request, tmp_path) -> Workload:
    """A small binary workload whose registry is on each backend."""
    root = "home" if request.param == "local" else request.getfixturevalue("s3_bucket") + "/rayplane"
    return write_workload(tmp_path, root)


@pytest.fixture()
def local_workload(tmp_path) -> Workload:
    return write_workload(tmp_path, "home")


@pytest.fixture()
def s3_workload(tmp_path, s3_bucket) -> Workload:
    return write_workload(tmp_path, s3_bucket + "/rayplane")
