"""Find a workload's Parquet shards, check their footers against the spec, and hand them to Ray Data.

``data.path`` may be a local directory, a single file, a glob, or any URI pyarrow knows (``file://``,
``s3://``, ``gs://``, ``hdfs://``). Every file's schema is read from its footer (a few KB each, in parallel)
before Ray starts, so a corrupt shard, a missing column or a wrong type fails fast with the file's name
instead of deep inside a Ray task.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from rayplane.errors import DataError, StorageError
from rayplane.spec.models import URI_RE, DataSpec
from rayplane.spec.suggest import did_you_mean
from rayplane.storage import Location, within
from rayplane.storage.location import display

GLOB_CHARS = "*?["
FOOTER_READERS = 16


@dataclass(frozen=True)
class Source:
    """The Parquet files behind ``data.path``, as paths on ``filesystem``."""

    path: str
    filesystem: pafs.FileSystem
    files: list[str]
    uri_prefix: str  # what turns a filesystem path back into the name the user knows

    def display(self, file: str) -> str:
        return self.uri_prefix + file


def find_files(path: str, field: str = "data.path") -> Source:
    """List the ``.parquet`` files at ``path`` (sorted); DataError naming ``field`` if there are none."""
    try:
        location = Location(path)
        fs, root = location.filesystem, location.path
    except StorageError as exc:
        raise DataError(f"{field}: {exc}") from None
    scheme = path.split("://", 1)[0] if URI_RE.match(path) else "file"
    prefix = f"{scheme}://" if scheme != "file" else ""
    # A listing of many shards may take minutes; the deadline only catches an endpoint that never answers.
    files = within(lambda: list_files(fs, root), f"{field}: cannot list {display(path)}", DataError,
                   deadline_s=900)
    if not files:
        raise DataError(f"{field}: no .parquet files at {display(path)}")
    return Source(path=path, filesystem=fs, files=files, uri_prefix=prefix)


def list_files(fs: pafs.FileSystem, root: str, suffixes: tuple[str, ...] = (".parquet",)) -> list[str]:
    """The visible files ending in one of ``suffixes`` at ``root`` (a file, a directory or a glob), sorted."""
    if any(c in root for c in GLOB_CHARS):
        base = root[: min(root.find(c) for c in GLOB_CHARS if c in root)].rpartition("/")[0] or "/"
        return sorted(f for f in _files_under(fs, base, suffixes) if fnmatch.fnmatchcase(f, root))
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.File:
        return [root]
    if info.type == pafs.FileType.Directory:
        return sorted(_files_under(fs, root, suffixes))
    return []


def _files_under(fs: pafs.FileSystem, base: str, suffixes: tuple[str, ...]) -> list[str]:
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return [i.path for i in infos if i.type == pafs.FileType.File and visible(i.path[len(base):], suffixes)]


def visible_parquet(relative: str) -> bool:
    return visible(relative, (".parquet",))


def visible(relative: str, suffixes: tuple[str, ...]) -> bool:
    # Names starting with '.' or '_' are writers' temporaries and markers (_SUCCESS, .part files).
    return relative.endswith(suffixes) and not any(part[:1] in "._" for part in relative.split("/") if part)


def check_schemas(source: Source, data_spec: DataSpec) -> None:
    """Read every footer and check the spec's columns are there with usable types."""
    with ThreadPoolExecutor(max_workers=min(FOOTER_READERS, len(source.files))) as pool:
        schemas = list(pool.map(lambda f: _read_schema(source, f), source.files))
    for file, schema in zip(source.files, schemas):
        for column, role, accepts in _expected_columns(data_spec):
            check_column(source.display(file), schema, column, role, accepts)


def _read_schema(source: Source, file: str) -> pa.Schema:
    try:
        return pq.read_schema(file, filesystem=source.filesystem)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{source.display(file)}: not a readable Parquet file ({exc})") from None


NUMBER = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_decimal, pa.types.is_null)
CATEGORY = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view, pa.types.is_integer,
            pa.types.is_boolean, pa.types.is_dictionary, pa.types.is_null)


def _expected_columns(data_spec: DataSpec) -> list[tuple[str, str, tuple]]:
    return (
        [(c, "data.features.numeric", NUMBER) for c in data_spec.features.numeric]
        + [(c, "data.features.categorical", CATEGORY) for c in data_spec.features.categorical]
        + [(data_spec.label, "data.label", NUMBER)]
    )


def check_column(file: str, schema: pa.Schema, column: str, role: str, accepts: tuple) -> None:
    if column not in schema.names:
        raise DataError(f"{file}: no column {column!r} (named in {role}){did_you_mean(column, schema.names)}")
    kind = schema.field(column).type
    if not any(test(kind) for test in accepts):
        wanted = "a number or bool" if accepts is NUMBER else "strings, integers or bools"
        raise DataError(f"{file}: column {column!r} has type {kind}, but {role} needs {wanted}")


def read_error(exc: Exception, source: Source, data_spec: DataSpec) -> DataError | None:
    """The DataError naming the shard behind a Ray read task's I/O failure (None for any other failure).

    Ray's error does not say which file failed, so the files are read again here, one by one, until one fails:
    slow for big data, but only ever on this error path.
    """
    cause = getattr(exc, "cause", None)
    if not isinstance(cause, (OSError, pa.ArrowException)):
        return None
    for file in source.files:
        try:
            with source.filesystem.open_input_file(file) as handle:
                for _ in pq.ParquetFile(handle).iter_batches(columns=[*data_spec.features.all, data_spec.label]):
                    pass
        except (pa.ArrowException, OSError) as bad:
            return DataError(f"{source.display(file)}: not a readable Parquet file ({_first_line(bad)})")
    return DataError(f"data.path: a shard of {source.path} could not be read ({_first_line(cause)})")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read(source: Source, data_spec: DataSpec) -> Any:
    """The spec's columns of every file as a lazy Ray Dataset."""
    from rayplane.data.formats import parquet

    return parquet.read(source.files, source.filesystem, [*data_spec.features.all, data_spec.label])


@contextmanager
def every_cpu(ds: Any) -> Iterator[Any]:
    """Run ``ds`` (and the datasets it shares a plan context with) with Ray Data's operator reservation off.

    Ray 2.60's reservation allocator leaves a one-operator pipeline such as rayplane's fused read -> encode
    one task at a time on 2 CPUs: 8 tasks of 145 ms ran back to back, 1.5 s; 0.98 s with it off. It also
    bounds how far a stream runs ahead of its consumer in the object store, so streamed epochs keep it; this
    is for passes that keep little (the fit pass's one summary per block) or keep every block anyway (a split
    materialised because it fits in the object store).
    """
    context, options = ds.context, ds.context.execution_options
    reserved, context.op_resource_reservation_enabled = context.op_resource_reservation_enabled, False
    # Tasks now finish out of order: keep the blocks in file order, so a seeded run reads its rows as before.
    ordered, options.preserve_order = options.preserve_order, True
    try:
        yield ds
    finally:
        context.op_resource_reservation_enabled, options.preserve_order = reserved, ordered


def materialize(ds: Any) -> Any:
    """``ds.materialize()`` on every CPU (``every_cpu``)."""
    with every_cpu(ds):
        return ds.materialize()
