"""Batch scoring: input files -> the version's own preprocessing and network on an actor pool -> Parquet.

Everything that can be checked is checked before Ray does any work: the version, the input files and their
schemas against the version's input schema, the ``--keep`` columns, and that the output location is empty and
writable. Ray Data then streams the input through actors that each load the model once, and writes the shards
to a hidden staging prefix under the output (``.staging-<token>/``; readers skip names starting with '.').
Only a finished write is published: the shards are moved up to ``part-NNNNN.parquet`` and ``_SUCCESS``
(rows, files, version) is written last, so the output is complete exactly when ``_SUCCESS`` exists. A failure
deletes the staging prefix and leaves the output as it was.

Order: the input's order holds within each output file and across files in name order (``part-00000`` first),
because the dataset runs with ``preserve_order``.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from rayplane.data.formats import InputFiles, find_input, schema_columns
from rayplane.errors import DataError, RayplaneError, StorageError
from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.runtime import connect
from rayplane.spec import WorkloadSpec
from rayplane.storage import Location, Storage, check_writable, within
from rayplane.storage.checks import gist

SUCCESS = "_SUCCESS"
# A --keep column is copied as it is, whatever its type.
ANY_TYPE = (lambda kind: True,)
PREDICTION_COLUMNS = {"binary": ("label", "probability"), "multiclass": ("label", "probabilities"),
                      "regression": ("prediction",)}


@dataclass(frozen=True)
class BatchResult:
    version: ModelVersion
    input: InputFiles
    output: Location
    files: list[str]
    rows: int
    seconds: float


def predict(spec: WorkloadSpec, *, input: str, output: str, version: int | None = None,
            keep: tuple[str, ...] | list[str] = (), format: str | None = None,
            address: str | None = None) -> BatchResult:
    """Score ``input`` with version ``version`` (default: the latest) of the spec's model into ``output``."""
    started = time.perf_counter()
    model = ModelRegistry(Storage.for_spec(spec).models()).get(spec.name, version)
    inputs = find_input(input, format)
    predicted = PREDICTION_COLUMNS[model.metadata["task"]]
    keep = list(dict.fromkeys(keep))
    clash = [k for k in keep if k in predicted]
    if clash:
        raise DataError(f"--keep: column {clash[0]!r} would clash with the prediction column of the same name "
                        f"({', '.join(predicted)})")
    features = [c["name"] for c in model.metadata["input_schema"]]
    inputs.check(schema_columns(model.metadata["input_schema"], f"the input schema of {model.uri}")
                 + [(k, "--keep", ANY_TYPE) for k in keep if k not in features])
    target = _empty_output(output)

    import ray
    import ray.data
    from ray.data import ActorPoolStrategy

    from rayplane.batch.sink import StagedParquet

    runtime = connect(address)
    # Ray Data's per-operator bars interleave with the command's output; the summary line says what was done.
    ray.data.DataContext.get_current().enable_progress_bars = False
    workers = max(1, int(runtime.cpus))
    staging = target / f".staging-{uuid.uuid4().hex}"
    options = ray.data.DataContext.get_current().execution_options
    ordered, options.preserve_order = options.preserve_order, True
    try:
        ds = inputs.read(list(dict.fromkeys([*features, *keep])))
        scored = ds.map_batches(_Scorer, batch_format="pandas", fn_constructor_kwargs={"version": model, "keep": keep},
                                compute=ActorPoolStrategy(min_size=1, max_size=workers), num_cpus=1)
        scored.write_datasink(StagedParquet(staging))
        files, rows = _publish(staging, target, model)
    except ray.exceptions.RayError as exc:
        raise DataError(f"--input: scoring {inputs.uri} failed, nothing was published under {target.display}: "
                        f"{_cause(exc)}") from None
    except OSError as exc:  # publishing: the output has no _SUCCESS, so it never reads as complete
        raise StorageError(f"--output: cannot publish under {target.display}: {gist(exc)}") from None
    finally:
        options.preserve_order = ordered
        try:
            staging.delete()
        except OSError:
            pass  # a hidden staging prefix never reads as output
    return BatchResult(model, inputs, target, files, rows, time.perf_counter() - started)


def _empty_output(output: str) -> Location:
    try:
        target = Location(output)
        existing = within(target.files, f"--output: cannot list {target.display}")
    except StorageError as exc:
        raise DataError(str(exc) if str(exc).startswith("--output") else f"--output: {exc}") from None
    if existing:
        raise DataError(f"--output: {target.display} already holds {len(existing)} file(s) (e.g. "
                        f"{sorted(existing)[0]}); choose a new or empty location")
    check_writable(target, "--output")
    return target


class _Scorer:
    """One actor of the pool: loads the version once (straight from storage), then scores batch after batch."""

    def __init__(self, version: ModelVersion, keep: list[str]) -> None:
        import torch

        from rayplane.modeling.predictor import Predictor

        # One thread per actor: the pool has one actor per CPU, and torch's default of a thread per core
        # in every actor would oversubscribe them.
        torch.set_num_threads(1)
        self.predictor = Predictor(version)
        self.keep = keep

    def __call__(self, batch: Any) -> Any:
        import pandas as pd

        answers = self.predictor.predict_columns(batch)
        columns = {k: batch[k].to_numpy() for k in self.keep}
        columns.update({k: list(v) if v.ndim > 1 else v for k, v in answers.items()})
        return pd.DataFrame(columns)


def _publish(staging: Location, target: Location, version: ModelVersion) -> tuple[list[str], int]:
    """Move the staged shards up as ``part-NNNNN.parquet`` in input order, then write ``_SUCCESS`` last."""
    staged = sorted(f for f in staging.files() if f.endswith(".parquet"))
    rows = sum(pq.read_metadata((staging / f).path, filesystem=staging.filesystem).num_rows for f in staged)
    files = [f"part-{i:05d}.parquet" for i in range(len(staged))]
    for source, file in zip(staged, files):
        (staging / source).move_to(target / file)
    (target / SUCCESS).write_bytes(json.dumps({"version": version.uri, "rows": rows, "files": files}).encode())
    return files, rows


def _cause(exc: Exception) -> str:
    cause = getattr(exc, "cause", None) or exc
    if isinstance(cause, RayplaneError):
        return str(cause)
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__
