"""Parquet input: the schema from each file's footer."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

SUFFIXES = (".parquet",)


def read_schema(file: str, filesystem: pafs.FileSystem) -> pa.Schema:
    return pq.read_schema(file, filesystem=filesystem)


def read(files: list[str], filesystem: pafs.FileSystem, columns: list[str]) -> Any:
    """``columns`` of ``files`` as a lazy Ray Dataset, one block per file (at least one per CPU)."""
    import ray.data

    # Ray 2.60's default (V2) Parquet reader starts 32 footer-reading actors, each a new worker process, every
    # time the dataset runs (each epoch): 10+ s on a busy 2-core box; on small files it also packs them all into
    # one read task, so one worker does everything. The V1 reader plans on the driver, once; the footers were
    # checked before anyway.
    context = ray.data.DataContext.get_current()
    v2, context.use_datasource_v2 = context.use_datasource_v2, False
    try:
        return ray.data.read_parquet(
            files,
            filesystem=filesystem,
            columns=columns,
            # Columns come from the files only: a directory named like 'month=1' must not add one.
            partitioning=None,
            # One block per file (at least one per CPU), not Ray's default of several per file: encoding pays a
            # fixed cost per block (pandas conversion, one-hot set-up), which at ~20k-row blocks doubled its
            # CPU time (benchmarks/ingest.py: 0.28x -> 0.5x a plain pyarrow scan on 2 CPUs).
            override_num_blocks=max(len(files), int(ray.cluster_resources().get("CPU", 1))),
        )
    finally:
        context.use_datasource_v2 = v2
