"""The one owner of rayplane's storage layout: ``storage.root`` -> where runs and model versions live.

    <root>/runs/<run>/                Ray Train and Tune run state and checkpoints (resumed by run name)
    <root>/models/<name>/v<N>/        registered versions (the commit protocol is in rayplane.registry.store)
    <root>/models/<name>/.aliases/    alias moves (champion, ...) as immutable events (rayplane.registry.aliases)

The root is a local path or any pyarrow filesystem URI (``s3://``, ``gs://``, ``abfs://``, ``hdfs://``); nothing
else in rayplane builds these paths or assumes a local disk.
"""

from __future__ import annotations

import os

import pyarrow.fs as pafs

from rayplane.storage.location import Location


class Storage:
    def __init__(self, root: str | os.PathLike | Location, *, shared: bool = False) -> None:
        self.root = root if isinstance(root, Location) else Location(root)
        # A local root that every node mounts (NFS, a ReadWriteMany volume), as the user declared.
        self.shared = shared

    @classmethod
    def for_spec(cls, spec) -> Storage:
        return cls(spec.storage_root, shared=spec.storage_shared)

    def runs(self) -> Location:
        return self.root / "runs"

    def run(self, name: str) -> Location:
        return self.runs() / name

    def models(self) -> Location:
        return self.root / "models"

    def model(self, name: str) -> Location:
        return self.models() / name

    def version(self, name: str, number: int) -> Location:
        return self.model(name) / f"v{number}"

    def ray_storage(self) -> dict[str, str | pafs.FileSystem]:
        """Ray Train/Tune ``RunConfig`` keywords that put run state and checkpoints under ``runs/``."""
        runs = self.runs()
        return {"storage_path": runs.path, "storage_filesystem": runs.filesystem}

    def __repr__(self) -> str:
        return f"Storage({self.root.display!r})"
