"""A place in storage: a local path or any pyarrow filesystem URI, opened lazily, joined like a path.

A ``Location`` keeps the string the user wrote (``uri``, what other processes are handed) apart from the
filesystem it opens (``filesystem`` + ``path``). The filesystem is opened once per root and shared by every
location joined from it, so a registry listing or a run makes one connection setup, not one per file.

For ``s3://`` the endpoint of an S3-compatible store comes from ``?endpoint_override=`` in the URI or, as boto3
and the AWS CLI read it, from ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``: pyarrow itself ignores those
variables. The environment's endpoint is applied where the filesystem is opened and never written into ``uri``,
so each process (a laptop through a port-forward, a pod through the cluster's service) uses its own.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from rayplane.errors import StorageError
from rayplane.spec.models import URI_RE

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def s3_endpoint_query(query: str) -> str:
    """``query`` plus the environment's S3 endpoint, unless the URI names its own."""
    params = dict(parse_qsl(query))
    endpoint = next((os.environ[v] for v in ENDPOINT_VARIABLES if os.environ.get(v)), None)
    if endpoint and "endpoint_override" not in params:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        params.setdefault("scheme", parts.scheme or "https")
        params["endpoint_override"] = parts.netloc
    return urlencode(params)


@dataclass
class _Mount:
    """The root a location was joined from, and the filesystem it opens (once, thread-safely)."""

    uri: str
    _opened: tuple[pafs.FileSystem, str] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self) -> tuple[pafs.FileSystem, str]:
        with self._lock:
            if self._opened is None:
                self._opened = _open(self.uri)
            return self._opened


def _open(uri: str) -> tuple[pafs.FileSystem, str]:
    if not URI_RE.match(uri):
        return pafs.LocalFileSystem(), uri
    base, _, query = uri.partition("?")
    scheme = base.split("://", 1)[0].lower()
    if scheme == "s3":
        query = s3_endpoint_query(query)
    try:
        return pafs.FileSystem.from_uri(f"{base}?{query}" if query else base)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, ValueError) as exc:
        raise StorageError(f"{display(uri)}: cannot open this filesystem: {exc}") from None


def display(uri: str) -> str:
    """A URI without its query (endpoint options), for messages and tables."""
    return uri.partition("?")[0]


class Location:
    def __init__(self, uri: str | os.PathLike, *, _mount: _Mount | None = None, _rel: str = "") -> None:
        text = os.fspath(uri)
        if not URI_RE.match(text):
            text = str(Path(text).expanduser().absolute())
        base, sep, query = text.partition("?")
        self._base = base.rstrip("/") or "/"
        self._query = query
        self._mount = _mount or _Mount(self._base + (sep + query))
        self._rel = _rel

    # -- naming ----------------------------------------------------------------------------------------------

    @property
    def uri(self) -> str:
        """The full name, query included: what another process is handed to open the same place."""
        return self.display + (f"?{self._query}" if self._query else "")

    @property
    def display(self) -> str:
        return f"{self._base}/{self._rel}" if self._rel else self._base

    @property
    def name(self) -> str:
        return self.display.rstrip("/").rpartition("/")[2]

    @property
    def is_local(self) -> bool:
        return isinstance(self.filesystem, pafs.LocalFileSystem)

    def join(self, *parts: str) -> Location:
        return self._under_mount(*(self._rel, *parts))

    def at(self, path: str) -> Location:
        """The location of ``path`` (a path on this filesystem, as Ray Train reports it) under this root."""
        root = self._mount.open()[1].rstrip("/")
        if path != root and not path.startswith(root + "/"):
            raise StorageError(f"{path}: not under {display(self._mount.uri)}")
        return self._under_mount(path[len(root):])

    def _under_mount(self, *parts: str) -> Location:
        child = Location.__new__(Location)
        child._base, child._query, child._mount = self._base, self._query, self._mount
        child._rel = "/".join(p.strip("/") for p in parts if p.strip("/"))
        return child

    # -- the opened filesystem ------------------------------------------------------------------------------

    @property
    def filesystem(self) -> pafs.FileSystem:
        return self._mount.open()[0]

    @property
    def path(self) -> str:
        root = self._mount.open()[1].rstrip("/")
        return f"{root}/{self._rel}" if self._rel else (root or "/")

    # -- reading and writing ---------------------------------------------------------------------------------

    def read_bytes(self) -> bytes:
        with self.filesystem.open_input_stream(self.path) as stream:
            return stream.read()

    def write_bytes(self, data: bytes) -> None:
        """Write the whole object; on a local disk through a temporary file and a rename, so never half."""
        fs = self.filesystem
        if self.is_local:
            self._make_parent()
            tmp = f"{self.path}.{os.getpid()}.{threading.get_ident()}.tmp"
            with fs.open_output_stream(tmp) as stream:
                stream.write(data)
            fs.move(tmp, self.path)
        else:
            with fs.open_output_stream(self.path) as stream:
                stream.write(data)

    def files(self) -> dict[str, int]:
        """Every file under this location, recursively: path relative to it -> size in bytes."""
        infos = self.filesystem.get_file_info(pafs.FileSelector(self.path, recursive=True, allow_not_found=True))
        root = self.path.rstrip("/") + "/"
        return {i.path[len(root):]: i.size for i in infos if i.type == pafs.FileType.File}

    def children(self) -> list[str]:
        """Names of the directories right under this location."""
        infos = self.filesystem.get_file_info(pafs.FileSelector(self.path, recursive=False, allow_not_found=True))
        return sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory)

    def copy_from(self, source: Location) -> None:
        """Copy one file here; server-side when both are on the same object store."""
        if source.filesystem.equals(self.filesystem):
            self._make_parent()
            self.filesystem.copy_file(source.path, self.path)
        else:
            self.write_bytes(source.read_bytes())

    def move_to(self, target: Location) -> None:
        target._make_parent()
        self.filesystem.move(self.path, target.path)

    def _make_parent(self) -> None:
        # A local disk needs the directory before the file; object stores have no directories to make.
        if self.is_local:
            self.filesystem.create_dir(self.path.rpartition("/")[0], recursive=True)

    def delete(self) -> None:
        """Delete a file or a whole directory; nothing to delete is not an error."""
        fs = self.filesystem
        kind = fs.get_file_info(self.path).type
        if kind == pafs.FileType.Directory:
            fs.delete_dir(self.path)
        elif kind == pafs.FileType.File:
            fs.delete_file(self.path)

    def __truediv__(self, part: str) -> Location:
        return self.join(part)

    def __repr__(self) -> str:
        return f"Location({self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    def __reduce__(self):
        # The opened filesystem stays behind: the receiving process opens its own, with its own credentials.
        return (Location, (self.uri,))
