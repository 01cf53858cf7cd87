"""CSV input (with a header line): the schema is what Arrow infers from each file's first block."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.fs as pafs

SUFFIXES = (".csv",)


def read_schema(file: str, filesystem: pafs.FileSystem) -> pa.Schema:
    with filesystem.open_input_stream(file) as stream:
        return pacsv.open_csv(stream).schema


def read(files: list[str], filesystem: pafs.FileSystem, columns: list[str]) -> Any:
    import ray.data

    return ray.data.read_csv(files, filesystem=filesystem, partitioning=None, file_extensions=None,
                             convert_options=pacsv.ConvertOptions(include_columns=columns))
