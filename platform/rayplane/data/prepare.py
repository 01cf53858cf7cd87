"""The data stage: generate the shards when a workload says how, then read, split and preprocess them.

``load_data`` makes one streaming pass over the files to fit the preprocessing on the training split (and to
count and check everything); the datasets it returns are lazy pipelines that read, split and encode on the
fly each epoch, so no step holds the dataset in memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rayplane.data import ingest
from rayplane.data.preprocess import Preprocessor
from rayplane.data.shards import has_parquet
from rayplane.data.split import SplitRule
from rayplane.data.stats import summarize
from rayplane.errors import DataError
from rayplane.spec.models import WorkloadSpec
from rayplane.storage import Location


@dataclass
class PreparedData:
    train: Any  # ray.data.Dataset with columns "x" (float32, input_dim) and "y"
    validation: Any
    preprocessor: Preprocessor
    files: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def needs_preparing(spec: WorkloadSpec) -> bool:
    """Whether the workload's prepare script will generate its data (its path holds no Parquet yet)."""
    path = spec.data_path
    # Globs are read as they are: there is no one place to generate into.
    if spec.data.prepare is None or any(c in path.split("://", 1)[-1] for c in ingest.GLOB_CHARS):
        return False
    location = Location(path)
    if location.is_local:
        return not (Path(location.path).is_file() or has_parquet(location.path))
    return not any(ingest.visible_parquet(rel) for rel in location.files())


def ensure_data(spec: WorkloadSpec) -> str:
    """The data path, after running the workload's prepare script if the path holds no Parquet yet.

    On an object store the script writes into a local temporary directory, removed afterwards, and the shards
    are uploaded under a hidden name and then published under their own, so readers never list a half upload.
    """
    path = spec.data_path
    if not needs_preparing(spec):
        return path
    prepare = spec.data.prepare
    script = Path(spec.resolve(prepare.script))
    location = Location(path)
    print(f"preparing {spec.name} data: {script.name} -> {location.display} ({prepare.shards} shards)", flush=True)
    started = time.monotonic()
    if location.is_local:
        count = _run_prepare(script, prepare, Path(location.path))
    else:
        with tempfile.TemporaryDirectory(prefix="rayplane-prepare-") as work:
            count = _run_prepare(script, prepare, Path(work) / "data")
            _publish(Path(work) / "data", location)
    print(f"prepared {count} files in {time.monotonic() - started:.1f}s", flush=True)
    return path


def _run_prepare(script: Path, prepare, output: Path) -> int:
    run_prepare = _load_prepare(script)
    try:
        run_prepare(output_dir=str(output), shards=prepare.shards, rows=prepare.rows, seed=prepare.seed)
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"data.prepare.script: {script} failed: {type(exc).__name__}: {exc}") from exc
    if not (output.is_dir() and has_parquet(output)):
        raise DataError(f"data.prepare.script: {script} wrote no .parquet files into {output}")
    return sum(1 for _ in output.rglob("*.parquet"))


def _publish(local: Path, location: Location) -> None:
    incoming = location / f".incoming-{uuid.uuid4().hex}"
    files = [p.relative_to(local).as_posix() for p in sorted(local.rglob("*")) if p.is_file()]
    try:
        for rel in files:
            (incoming / rel).copy_from(Location(local / rel))
        for rel in files:
            (incoming / rel).move_to(location / rel)
    finally:
        incoming.delete()


def _load_prepare(script: Path):
    if not script.is_file():
        raise DataError(f"data.prepare.script: {script} does not exist")
    # A name from the path's digest keeps two workloads' prepare.py files apart in one process.
    name = "rayplane_prepare_" + hashlib.sha1(str(script.resolve()).encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(name, script)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise DataError(f"data.prepare.script: importing {script} failed: {type(exc).__name__}: {exc}") from exc
    prepare = getattr(module, "prepare", None)
    if not callable(prepare):
        raise DataError(f"data.prepare.script: {script} defines no prepare(output_dir, shards, rows, seed)")
    return prepare


def load_data(spec: WorkloadSpec, preprocessor: Preprocessor | None = None) -> PreparedData:
    """Check and read the shards, fit the preprocessing on the training split, and encode both splits.

    With ``preprocessor`` (a warm start keeps its parent's) the rows are encoded with it instead; the one pass
    over the training split still counts and checks them, and the refit is kept in ``info["fitted"]``.
    """
    data_spec = spec.data
    source = ingest.find_files(spec.data_path)
    ingest.check_schemas(source, data_spec)
    raw = ingest.read(source, data_spec)
    split = SplitRule(data_spec)
    try:
        summary = summarize(raw, data_spec, split)
    except Exception as exc:  # a RayTaskError; Ray is not imported at module level here
        # A shard whose footer reads but whose pages do not fails only now, inside a Ray read task.
        error = ingest.read_error(exc, source, data_spec)
        if error is None:
            raise
        raise error from None
    fitted = Preprocessor.from_summary(summary, data_spec)
    preprocessor = preprocessor or fitted
    if summary["validation_rows"] == 0:
        raise DataError(
            f"data.validation_fraction: no rows of {spec.data_path} fell into validation "
            f"({summary['rows']} training rows); raise the fraction or add data"
        )

    def encoded(validation: bool) -> Any:
        return raw.map_batches(
            encode_split, batch_format="pandas",
            fn_kwargs={"preprocessor": preprocessor, "split": split, "validation": validation},
        )

    files = [source.display(f) for f in source.files]
    info = {
        "path": spec.data_path,
        "files": len(files),
        "train_rows": summary["rows"],
        "validation_rows": summary["validation_rows"],
        "missing_label_rows_dropped": summary["missing_labels"],
        "validation_fraction": data_spec.validation_fraction,
        "split_seed": data_spec.split_seed,
        "input_dim": preprocessor.input_dim,
    }
    return PreparedData(encoded(False), encoded(True), preprocessor, files, info)


def encode_split(
    batch: pd.DataFrame, preprocessor: Preprocessor, split: SplitRule, validation: bool
) -> dict[str, Any]:
    """The batch's labelled rows on one side of the split, encoded to x and y."""
    labels = batch[preprocessor.label]
    keep = (split.is_validation(batch) == validation) & labels.notna().to_numpy()
    # Encoding every row and selecting from the matrix is cheaper than selecting from Arrow-backed columns.
    return {"x": preprocessor.transform_features(batch)[keep], "y": preprocessor.transform_labels(labels[keep])}
