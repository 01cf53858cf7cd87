"""Writing a dataset's shards all at once or not at all, for workloads' prepare scripts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def has_parquet(directory: str | os.PathLike) -> bool:
    return any(Path(directory).rglob("*.parquet"))


@contextmanager
def atomic_directory(output_dir: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``output_dir`` to write into; rename it into place on success.

    An interrupted prepare leaves no half dataset at ``output_dir`` (only a ``.tmp-`` sibling, removed on
    error). When another process finished first, its complete output is kept and ours dropped.
    """
    target = Path(output_dir).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    work.chmod(0o755)  # mkdtemp's 0700 would hide the data from other users of a shared volume
    try:
        yield work
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        try:
            work.rename(target)
        except OSError:
            if not has_parquet(target):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
