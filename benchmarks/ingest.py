"""Ingest rows/s into the training loop: Ray Data (rayplane's read + encode, as the loop iterates it) vs a
raw pyarrow scan of the same files with the same preprocessing in one process.

Both sides encode with ``rayplane.data.prepare.encode_split`` and the same fitted preprocessor (fitting is
not timed), and both end at float32 tensors of the training split; rayplane's side is the first, streaming
pass of an epoch (nothing cached).
"""

from __future__ import annotations

import time
from typing import Any

import pyarrow.dataset as pads
import torch

from benchmarks.common import Context, figure, synthetic_spec, write_result

NAME = "ingest"


def run(ctx: Context) -> dict[str, Any]:
    from rayplane.data import load_data
    from rayplane.training.loop import torch_batches

    started = time.perf_counter()
    spec = synthetic_spec(ctx, ctx.size.train_rows)
    data = load_data(spec)
    batch_size = spec.train.batch_size

    scan_started = time.perf_counter()
    scanned = pyarrow_scan(spec, data)
    scan_s = time.perf_counter() - scan_started

    ray_started = time.perf_counter()
    streamed = sum(len(y) for _, y in torch_batches(data.train, batch_size))
    ray_s = time.perf_counter() - ray_started

    if scanned != streamed:
        raise AssertionError(f"the two ingest paths disagree on the training rows: {scanned} vs {streamed}")
    ratio = (streamed / ray_s) / (scanned / scan_s)
    figures = [figure("ingest rows/s into the training loop", ratio,
                      baseline="raw pyarrow scan + the same preprocessing, one process", target=">= 0.7",
                      met=ratio >= 0.7)]
    measurements = {"rows": ctx.size.train_rows, "train_rows": streamed, "files": len(data.files),
                    "pyarrow_rows_per_s": scanned / scan_s, "rayplane_rows_per_s": streamed / ray_s,
                    "pyarrow_s": scan_s, "rayplane_s": ray_s,
                    # Ray Data's own per-operator profile of the timed pass (wall, CPU, rows, tasks).
                    "ray_data_stats": data.train.stats()}
    return write_result(ctx, NAME, figures, measurements, started)


def pyarrow_scan(spec, data) -> int:
    """Training rows encoded to tensors by a plain pyarrow batch scan."""
    from rayplane.data.prepare import encode_split
    from rayplane.data.split import SplitRule
    from rayplane.data.ingest import find_files

    split = SplitRule(spec.data)
    dataset = pads.dataset(find_files(spec.data_path).files, format="parquet")
    rows = 0
    for batch in dataset.to_batches(columns=[*spec.data.features.all, spec.data.label]):
        encoded = encode_split(batch.to_pandas(), data.preprocessor, split, validation=False)
        rows += len(torch.from_numpy(encoded["y"]))
    return rows
