"""Ingest rows/s into the training loop: Ray Data (rayplane's read + encode, as the loop iterates it) vs a
raw pyarrow scan of the same files with the same preprocessing in one process.

Both sides encode with ``rayplane.data.prepare.encode_split`` and the same fitted preprocessor (fitting is
not timed), and both end at float32 tensors of the training split. rayplane's side is timed two ways, each
from the Parquet files: as a training run reads a split that fits in the object store (the default at this
size: materialised once, ``rayplane.data.ingest.materialize``, then iterated: the target's figure), and as
it streams a split too large for that cache (reported). Each side's figure is its fastest of two passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pyarrow.dataset as pads
import torch

from benchmarks.common import Context, figure, synthetic_spec, write_result

NAME = "ingest"
REPEATS = 2


def run(ctx: Context) -> dict[str, Any]:
    from rayplane.data import load_data
    from rayplane.data.ingest import materialize
    from rayplane.training.loop import torch_batches

    started = time.perf_counter()
    spec = synthetic_spec(ctx, ctx.size.train_rows)
    data = load_data(spec)
    batch_size = spec.train.batch_size

    scan_s, scanned = best_of(lambda: pyarrow_scan(spec, data))
    stream_s, streamed = best_of(lambda: sum(len(y) for _, y in torch_batches(data.train, batch_size)))
    stream_stats = data.train.stats()

    def cache_and_iterate() -> int:
        nonlocal cached
        cached = materialize(data.train)
        return sum(len(y) for _, y in torch_batches(cached, batch_size))

    cached = None
    cache_s, cached_rows = best_of(cache_and_iterate)

    if not scanned == streamed == cached_rows:
        raise AssertionError(f"the ingest paths disagree on the training rows: pyarrow {scanned}, streamed "
                             f"{streamed}, cached {cached_rows}")
    baseline = "raw pyarrow scan + the same preprocessing, one process"
    ratio, stream_ratio = scan_s / cache_s, scan_s / stream_s
    figures = [figure("ingest rows/s into the training loop", ratio, baseline=baseline, target=">= 0.7",
                      met=ratio >= 0.7),
               figure("ingest rows/s, streamed (a split too large to cache)", stream_ratio, baseline=baseline,
                      target=None, met=None)]
    measurements = {"rows": ctx.size.train_rows, "train_rows": streamed, "files": len(data.files),
                    "pyarrow_rows_per_s": scanned / scan_s, "rayplane_rows_per_s": cached_rows / cache_s,
                    "rayplane_streamed_rows_per_s": streamed / stream_s,
                    "pyarrow_s": scan_s, "rayplane_s": cache_s, "rayplane_streamed_s": stream_s,
                    # Ray Data's own per-operator profile of each timed pass (wall, CPU, rows, tasks).
                    "ray_data_stats": cached.stats(), "ray_data_streamed_stats": stream_stats}
    return write_result(ctx, NAME, figures, measurements, started)


def best_of(timed: Callable[[], int]) -> tuple[float, int]:
    """(fastest seconds, rows) of ``REPEATS`` runs: the first pass of either side also warms the page cache."""
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        rows = timed()
        runs.append((time.perf_counter() - started, rows))
    return min(runs)


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
