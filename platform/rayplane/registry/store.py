"""A file-system model registry: ``<root>/<name>/v<N>/``, written atomically, never overwritten.

A version directory holds what serving needs and what a reviewer asks about:
``model.pt`` (state dict), ``model_code.py`` (the builder, when the workload has its own),
``preprocessor.json`` (fitted on the training split) and ``metadata.json`` (metrics, params, input schema,
spec and its hash, trial id, data, created time).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rayplane.errors import RegistryError

METADATA = "metadata.json"
REQUIRED_FILES = ("model.pt", "preprocessor.json", METADATA)


@dataclass(frozen=True)
class ModelVersion:
    """One registered version: plain data that serving and the CLI read."""

    name: str
    version: int
    path: Path
    metadata: dict[str, Any] = field(repr=False)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.metadata.get("metrics", {})

    @property
    def uri(self) -> str:
        return f"{self.name}:v{self.version}"

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> ModelVersion:
        """The version stored in one ``<root>/<name>/v<N>`` directory (what a serving replica is handed)."""
        path = Path(path)
        metadata = _read_metadata(path)
        try:
            return cls(metadata["name"], int(metadata["version"]), path, metadata)
        except (KeyError, TypeError, ValueError):
            raise RegistryError(f"{path / METADATA}: not a registered version (no name and version)") from None


class ModelRegistry:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root).expanduser()

    def register(self, name: str, artifacts: str | os.PathLike, metadata: dict[str, Any]) -> ModelVersion:
        """Copy ``artifacts`` (a directory) in as the next version of ``name``.

        The copy is staged beside the versions and renamed into place, so a version appears whole or not at
        all; two registrations at once get different numbers because a rename onto an existing (non-empty)
        version fails and the loser takes the next number.
        """
        src = Path(artifacts)
        missing = [f for f in REQUIRED_FILES if f != METADATA and not (src / f).is_file()]
        if missing:
            raise RegistryError(f"{src}: cannot register {name!r}, missing {', '.join(missing)}")
        model_dir = self.root / name
        model_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
        try:
            shutil.copytree(src, staging, dirs_exist_ok=True)
            number = self._next_number(name)
            while True:
                meta = {**metadata, "name": name, "version": number,
                        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
                _write_json(staging / METADATA, meta)
                target = model_dir / f"v{number}"
                try:
                    os.rename(staging, target)
                    return ModelVersion(name, number, target, meta)
                except OSError as exc:
                    if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                        raise
                    number += 1
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def list(self, name: str | None = None) -> list[ModelVersion]:
        names = [name] if name else self.names()
        return [self._load(n, v) for n in names for v in self._numbers(n)]

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self._numbers(p.name))

    def get(self, name: str, version: int | None = None) -> ModelVersion:
        numbers = self._numbers(name)
        if not numbers:
            known = ", ".join(self.names()) or "none"
            raise RegistryError(f"no versions of model {name!r} under {self.root} (registered models: {known})")
        if version is None:
            return self._load(name, numbers[-1])
        if version not in numbers:
            raise RegistryError(
                f"model {name!r} has no version {version} under {self.root} "
                f"(versions: {', '.join(map(str, numbers))})"
            )
        return self._load(name, version)

    def _numbers(self, name: str) -> list[int]:
        model_dir = self.root / name
        if not model_dir.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in model_dir.iterdir() if p.name[:1] == "v" and p.name[1:].isdigit())

    def _next_number(self, name: str) -> int:
        numbers = self._numbers(name)
        return numbers[-1] + 1 if numbers else 1

    def _load(self, name: str, number: int) -> ModelVersion:
        path = self.root / name / f"v{number}"
        return ModelVersion(name, number, path, _read_metadata(path))


def _read_metadata(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / METADATA).read_text())
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path / METADATA}: unreadable version metadata ({exc})") from None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
