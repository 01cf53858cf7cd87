"""The model registry: ``<storage root>/models/<name>/v<N>/``, on a local disk or an object store alike.

A version holds what serving needs and what a reviewer asks about: ``model.pt`` (state dict), ``model_code.py``
(the builder, when the workload has its own), ``preprocessor.json`` (fitted on the training split) and
``metadata.json`` (metrics, params, input schema, spec and its hash, run, data, created time, file manifest).

Commit protocol (object stores have no atomic rename and pyarrow cannot send a conditional put, so the same
steps run everywhere): a writer uploads its files to ``.staging/<token>/``, then claims the next number N by
creating ``.claims/<N>.<token>`` and listing the claims for N; it owns N only if its claim is the only one (two
writers that both see each other both withdraw and retry after a random pause; with strongly consistent
listing, as S3, GCS, Azure and local disks give, two writers can never both see only their own). The owner
moves its files into ``v<N>/`` and writes ``v<N>/metadata.json`` last: that file is the commit marker, and
readers list only versions that have it. So a reader never sees a partial version, no number is given twice,
nothing is overwritten, and a writer killed at any step leaves at most a staging directory, an unlisted
``v<N>/`` without metadata and a claim; numbers are never reused, so a killed writer may leave a gap.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rayplane.errors import RegistryError
from rayplane.registry.aliases import ALIAS_NAME, ALIASES, AliasLog
from rayplane.registry.claims import claim_next, scan
from rayplane.storage import Location, Storage, within
from rayplane.storage.checks import gist

METADATA = "metadata.json"
REQUIRED_FILES = ("model.pt", "preprocessor.json")
STAGING = ".staging"
VERSION_MARKER = re.compile(r"^v(\d+)/" + re.escape(METADATA) + "$")

Artifact = bytes | Location


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: plain data that serving and the CLI read."""

    name: str
    version: int
    location: Location
    metadata: dict[str, Any] = field(repr=False)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.metadata.get("metrics", {})

    @property
    def uri(self) -> str:
        return f"{self.name}:v{self.version}"

    def files(self) -> dict[str, Location]:
        """The version's files but its metadata (what registering a copy of it takes)."""
        names = self.metadata.get("files") or [f for f in self.location.files() if f != METADATA]
        return {name: self.location / name for name in names}

    def has(self, file: str) -> bool:
        return file in self.files()

    def read(self, file: str) -> bytes:
        try:
            return (self.location / file).read_bytes()
        except OSError as exc:
            raise RegistryError(f"{(self.location / file).display}: cannot read {file} of {self.uri}: {exc}") from None

    @classmethod
    def at(cls, location: str | os.PathLike | Location) -> ModelVersion:
        """The version stored at one ``.../models/<name>/v<N>`` location (what a serving replica is handed)."""
        location = location if isinstance(location, Location) else Location(location)
        metadata = _read_metadata(location)
        try:
            return cls(metadata["name"], int(metadata["version"]), location, metadata)
        except (KeyError, TypeError, ValueError):
            raise RegistryError(f"{(location / METADATA).display}: not a registered version (no name and version)") from None


class ModelRegistry:
    def __init__(self, root: str | os.PathLike | Location) -> None:
        """``root`` is the ``models`` directory (``Storage.models()``)."""
        self.root = root if isinstance(root, Location) else Location(root)

    @classmethod
    def for_spec(cls, spec) -> ModelRegistry:
        return cls(Storage.for_spec(spec).models())

    def register(self, name: str, artifacts: str | os.PathLike | Mapping[str, Artifact],
                 metadata: dict[str, Any]) -> ModelVersion:
        """Store ``artifacts`` (file name -> bytes or a Location, or a local directory) as the next version."""
        files = _artifacts(artifacts)
        missing = [f for f in REQUIRED_FILES if f not in files]
        if missing:
            raise RegistryError(f"cannot register {name!r}: missing {', '.join(missing)}")
        model = self.root / name
        staging = model / STAGING / uuid.uuid4().hex
        try:
            return self._commit(name, files, metadata, model, staging)
        except OSError as exc:
            raise RegistryError(f"cannot register {name!r} under {self.root.display}: {gist(exc)}") from exc
        finally:
            try:
                staging.delete()
            except OSError:
                pass  # a leftover staging directory never lists as a version

    def _commit(self, name: str, files: dict[str, Artifact], metadata: dict[str, Any], model: Location,
                staging: Location) -> ModelVersion:
        sizes = {}
        for file, content in files.items():
            target = staging / file
            if isinstance(content, Location):
                target.copy_from(content)
            else:
                target.write_bytes(content)
            sizes[file] = target.filesystem.get_file_info(target.path).size
        number = claim_next(model, VERSION_MARKER, token=staging.name)
        version = model / f"v{number}"
        for file in files:
            (staging / file).move_to(version / file)
        meta = {**metadata, "name": name, "version": number, "files": sizes,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (version / METADATA).write_bytes(json.dumps(meta, indent=2, sort_keys=True, default=str).encode())
        return ModelVersion(name, number, version, meta)

    def list(self, name: str | None = None) -> list[ModelVersion]:
        names = [name] if name else self.names()
        return [self._load(n, v) for n in names for v in self._numbers(n)]

    def names(self) -> list[str]:
        children = within(self.root.children, f"storage.root: cannot list {self.root.display}")
        return [n for n in children if not n.startswith(".") and self._numbers(n)]

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        numbers = self._numbers(name)
        if not numbers:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(f"no versions of model {name!r} under {self.root.display} (registered models: {known})")
        if version is None:
            return self._load(name, numbers[-1])
        if version not in numbers:
            raise RegistryError(
                f"model {name!r} has no version {version} under {self.root.display} "
                f"(versions: {', '.join(map(str, numbers))})"
            )
        return self._load(name, version)

    def alias_log(self, name: str, alias: str) -> AliasLog:
        return AliasLog(self.root / name, alias)

    def aliases(self, name: str) -> dict[str, int]:
        """Every alias of the model -> the version it points at now."""
        model = self.root / name
        names = within(lambda: (model / ALIASES).children(), f"storage.root: cannot list {model.display}")
        current = {alias: AliasLog(model, alias).current() for alias in names if ALIAS_NAME.match(alias)}
        return {alias: event.version for alias, event in current.items() if event is not None}

    def resolve(self, name: str, alias: str) -> ModelVersion | None:
        """The version ``alias`` points at, or None while it points nowhere."""
        event = self.alias_log(name, alias).current()
        return None if event is None else self.get(name, event.version)

    def variant(self, name: str, parent: int, kind: str) -> ModelVersion:
        """The newest ``kind`` variant registered for version ``parent`` (``rayplane models quantize``)."""
        self.get(name, parent)
        found = [v for v in self.list(name) if v.metadata.get("variant", {}).get("parent") == parent
                 and v.metadata["variant"].get("kind") == kind]
        if not found:
            raise RegistryError(f"model {name!r} has no {kind} variant of version {parent}: create it with "
                                f"`rayplane models quantize SPEC {parent}`")
        return found[-1]

    def _numbers(self, name: str) -> list[int]:
        return scan(self.root / name, VERSION_MARKER)[0]

    def _load(self, name: str, number: int) -> ModelVersion:
        location = self.root / name / f"v{number}"
        return ModelVersion(name, number, location, _read_metadata(location))


def _artifacts(artifacts: str | os.PathLike | Mapping[str, Artifact]) -> dict[str, Artifact]:
    if isinstance(artifacts, Mapping):
        return dict(artifacts)
    directory = Path(artifacts)
    if not directory.is_dir():
        raise RegistryError(f"{directory}: not a directory of model files")
    return {p.relative_to(directory).as_posix(): Location(p) for p in sorted(directory.rglob("*"))
            if p.is_file() and p.name != METADATA}


def _read_metadata(location: Location) -> dict[str, Any]:
    marker = location / METADATA
    try:
        return json.loads(marker.read_bytes())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{marker.display}: unreadable version metadata ({exc})") from None
