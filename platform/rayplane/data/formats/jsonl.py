"""JSON Lines input (one object per line): the schema is what Arrow infers from each file's first block."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.json as pajson

SUFFIXES = (".jsonl", ".ndjson")


def read_schema(file: str, filesystem: pafs.FileSystem) -> pa.Schema:
    with filesystem.open_input_stream(file) as stream:
        return pajson.open_json(stream).schema


def read(files: list[str], filesystem: pafs.FileSystem, columns: list[str]) -> Any:
    import ray.data

    ds = ray.data.read_json(files, filesystem=filesystem, partitioning=None, file_extensions=None)
    return ds.select_columns(columns)
