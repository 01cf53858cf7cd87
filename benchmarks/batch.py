"""Batch scoring rows/s: ``rayplane.predict`` (Ray Data, an actor pool that loads the model once per actor,
staged Parquet output) vs a plain single-process loop over the same files with the same model: pyarrow reads
each file, pandas + torch score it (``Predictor.predict_columns``, torch on every core), pyarrow writes it.

The version is the synthetic workload's built-in MLP with its fitted preprocessing and untrained weights:
throughput does not depend on what the weights learned. Both sides write the same columns (predictions); each
side's figure is its faster of two passes.
"""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.common import Context, figure, synthetic_spec, write_result
from benchmarks.ingest import best_of

NAME = "batch"


def run(ctx: Context) -> dict[str, Any]:
    import rayplane

    started = time.perf_counter()
    spec = synthetic_spec(ctx, ctx.size.train_rows)
    version = register_untrained(spec)
    outputs = ctx.work_dir / "batch-out"

    def rayplane_pass() -> int:
        return rayplane.predict(spec, version=version.version, input=spec.data_path,
                                output=str(outputs / uuid.uuid4().hex)).rows

    def plain_pass() -> int:
        return plain_loop(spec, version, outputs / uuid.uuid4().hex)

    plain_s, plain_rows = best_of(plain_pass)
    rayplane_s, rayplane_rows = best_of(rayplane_pass)
    if plain_rows != rayplane_rows:
        raise AssertionError(f"the scoring paths disagree on the rows: plain {plain_rows}, rayplane {rayplane_rows}")
    ratio = plain_s / rayplane_s
    figures = [figure("batch scoring rows/s", ratio, target=">= 1.5", met=ratio >= 1.5,
                      baseline="one process: pyarrow read + pandas/torch scoring + pyarrow write, file by file")]
    measurements = {"rows": plain_rows, "plain_rows_per_s": plain_rows / plain_s,
                    "rayplane_rows_per_s": rayplane_rows / rayplane_s, "plain_s": plain_s, "rayplane_s": rayplane_s}
    return write_result(ctx, NAME, figures, measurements, started)


def plain_loop(spec, version, out) -> int:
    from rayplane.data.ingest import find_files
    from rayplane.modeling.predictor import Predictor

    predictor = Predictor(version)
    out.mkdir(parents=True)
    rows = 0
    for i, file in enumerate(find_files(spec.data_path).files):
        frame = pq.read_table(file, columns=predictor.preprocessor.feature_columns).to_pandas()
        pq.write_table(pa.table(predictor.predict_columns(frame)), out / f"part-{i:05d}.parquet")
        rows += len(frame)
    return rows


def register_untrained(spec):
    """The spec's model with its preprocessing fitted on the data (Ray Data) and initial weights, registered."""
    import torch

    from rayplane.data import ingest
    from rayplane.data.preprocess import Preprocessor
    from rayplane.modeling.builder import build_model
    from rayplane.pipeline import registry_for

    preprocessor = Preprocessor.fit(ingest.read(ingest.find_files(spec.data_path), spec.data), spec.data)
    model = build_model(None, preprocessor.input_dim, spec.data.output_dim, spec.model.params)
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    metadata = {"task": spec.data.task, "output_dim": spec.data.output_dim, "model_params": spec.model.params,
                "input_schema": preprocessor.input_schema, "label_stats": preprocessor.label_stats}
    files = {"model.pt": weights.getvalue(), "preprocessor.json": preprocessor.dumps().encode()}
    return registry_for(spec).register(spec.name, files, metadata)
