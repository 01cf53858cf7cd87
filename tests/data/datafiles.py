"""Helpers for the data tests: small real Parquet shards and specs that point at them."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rayplane.spec import WorkloadSpec, load_spec

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = REPO / "workloads"


def load_module(path: Path) -> ModuleType:
    """Import a workload script by path (they are files beside a spec, not a package)."""
    spec = importlib.util.spec_from_file_location(f"workload_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_frame(directory: Path, frame: pd.DataFrame, shards: int = 2) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = []
    for i, part in enumerate(np.array_split(np.arange(len(frame)), shards)):
        files.append(directory / f"part-{i:05d}.parquet")
        pq.write_table(pa.Table.from_pandas(frame.iloc[part], preserve_index=False), files[-1])
    return files


def make_spec(path: str | Path, **data) -> WorkloadSpec:
    """A workload spec over ``path`` with columns a, b (numeric), c (categorical) and label y by default."""
    section = {"path": str(path), "task": "binary", "label": "y",
               "features": {"numeric": ["a", "b"], "categorical": ["c"]}, **data}
    return load_spec({"name": "datatest", "data": section}, base_dir=Path(path).parent)


def small_frame(rows: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(10.0, 2.0, rows)
    return pd.DataFrame({
        "a": a,
        "b": rng.integers(0, 100, rows).astype(np.int64),
        "c": rng.choice(["red", "green", "blue", "teal"], rows, p=[0.5, 0.3, 0.15, 0.05]),
        "y": (a + rng.normal(0, 1, rows) > 10).astype(np.int64),
    })
