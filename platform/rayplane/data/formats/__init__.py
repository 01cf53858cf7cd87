"""Input file formats for scoring and drift checks: one small module per format, registered in ``FORMATS``.

Each module gives ``SUFFIXES`` (how its files are named), ``read_schema(file, filesystem)`` (a cheap look at
one file: the Parquet footer, the first block of a CSV or JSON Lines file; raises ``pa.ArrowException`` or
``OSError`` on a file it cannot read) and ``read(files, filesystem, columns)`` (a lazy Ray Dataset of those
columns). Adding a format is one module and one entry here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs

from rayplane.data.formats import csv, jsonl, parquet
from rayplane.data.ingest import CATEGORY, FOOTER_READERS, NUMBER, check_column, list_files
from rayplane.errors import DataError, StorageError
from rayplane.spec.models import URI_RE
from rayplane.spec.suggest import did_you_mean
from rayplane.storage import Location, within
from rayplane.storage.location import display

FORMATS: dict[str, ModuleType] = {"parquet": parquet, "csv": csv, "jsonl": jsonl}


@dataclass(frozen=True)
class InputFiles:
    """The files of one format at a user's path, as paths on ``filesystem``."""

    uri: str
    format: str
    filesystem: pafs.FileSystem
    files: list[str]
    uri_prefix: str  # what turns a filesystem path back into the name the user knows

    def display(self, file: str) -> str:
        return self.uri_prefix + file

    def schemas(self) -> list[pa.Schema]:
        """Every file's schema (read in parallel); DataError naming the first file that cannot be read."""
        module = FORMATS[self.format]

        def schema(file: str) -> pa.Schema:
            try:
                return module.read_schema(file, self.filesystem)
            except (pa.ArrowException, OSError, ValueError) as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise DataError(f"{self.display(file)}: not a readable {self.format} file ({first})") from None

        with ThreadPoolExecutor(max_workers=min(FOOTER_READERS, len(self.files))) as pool:
            return list(pool.map(schema, self.files))

    def check(self, expected: list[tuple[str, str, tuple]]) -> None:
        """Check each file has the ``(column, role, accepted types)`` columns (``ingest.check_column``)."""
        for file, schema in zip(self.files, self.schemas()):
            for column, role, accepts in expected:
                check_column(self.display(file), schema, column, role, accepts)

    def read(self, columns: list[str]) -> Any:
        return FORMATS[self.format].read(self.files, self.filesystem, columns)


def schema_columns(input_schema: list[dict[str, Any]], role: str) -> list[tuple[str, str, tuple]]:
    """What a registered input schema asks of a file, as ``InputFiles.check`` takes it."""
    return [(c["name"], role, NUMBER if c["dtype"] == "float" else CATEGORY) for c in input_schema]


def find_input(uri: str, format: str | None = None, *, field: str = "--input") -> InputFiles:
    """The files at ``uri`` (a file, a directory or a glob) in ``format``, or in the one format their names show."""
    if format is not None and format not in FORMATS:
        raise DataError(f"--format: unknown format {format!r}, expected one of {', '.join(FORMATS)}"
                        f"{did_you_mean(format, list(FORMATS))}")
    try:
        location = Location(uri)
        fs, root = location.filesystem, location.path
    except StorageError as exc:
        raise DataError(f"{field}: {exc}") from None
    names = [format] if format else list(FORMATS)
    suffixes = tuple(s for name in names for s in FORMATS[name].SUFFIXES)
    files = within(lambda: list_files(fs, root, suffixes), f"{field}: cannot list {display(uri)}", DataError,
                   deadline_s=900)
    if not files:
        raise DataError(f"{field}: no {' or '.join(suffixes)} files at {display(uri)}")
    found = [format] if format else sorted({n for n in names for f in files if f.endswith(FORMATS[n].SUFFIXES)})
    if not found:  # a single file named by the user, whatever its name: only --format can say what it is
        raise DataError(f"{field}: cannot tell the format of {display(uri)} from its name "
                        f"(expected {', '.join(suffixes)}); name it with --format")
    if len(found) > 1:
        raise DataError(f"{field}: {display(uri)} holds {' and '.join(found)} files; choose one with --format")
    scheme = uri.split("://", 1)[0] if URI_RE.match(uri) else "file"
    return InputFiles(uri, found[0], fs, files, f"{scheme}://" if scheme != "file" else "")
