"""A tiny real workload (Parquet shards + spec) shared by the pipeline tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml


def write_shards(directory: Path, rows: int = 3000, shards: int = 3, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    color = rng.choice(["red", "green", "blue"], size=rows)
    logit = 2.0 * x[:, 0] - 1.5 * x[:, 1] * x[:, 2] + np.where(color == "red", 1.0, -0.5)
    label = (logit + rng.normal(scale=0.5, size=rows) > 0).astype(np.int64)
    directory.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(rows), shards)):
        table = pa.table({"x1": x[part, 0], "x2": x[part, 1], "x3": x[part, 2], "color": color[part],
                          "label": label[part]})
        pq.write_table(table, directory / f"part-{i:05d}.parquet")
    return directory


def tiny_spec(root: Path, **sections) -> dict:
    spec = {
        "name": "tiny",
        "data": {"path": str(root / "data"), "task": "binary", "label": "label",
                 "features": {"numeric": ["x1", "x2", "x3"], "categorical": ["color"]}},
        "model": {"params": {"hidden": 16, "layers": 1}},
        "train": {"num_workers": {"min": 1, "max": 1}, "epochs": 2, "batch_size": 256, "lr": 0.01},
        "tune": {"num_samples": 2, "n_startup_trials": 1,
                 "search_space": {"lr": {"type": "loguniform", "low": 0.003, "high": 0.03}}},
        "storage": {"root": str(root / "home")},
    }
    for key, value in sections.items():
        spec[key] = {**spec.get(key, {}), **value}
    return spec


@pytest.fixture(scope="session")
def tiny_workload(tmp_path_factory) -> Path:
    """A spec file beside 3 Parquet shards of 3,000 rows; returns the spec path."""
    root = tmp_path_factory.mktemp("tiny")
    write_shards(root / "data")
    path = root / "workload.yaml"
    path.write_text(yaml.safe_dump(tiny_spec(root)))
    return path
