"""Fail before work: is ``storage.root`` writable, can ``data.path`` be listed, does every node see the root?

Each check costs one small request (a probe object written and deleted), runs under a deadline (an endpoint that
drops packets would otherwise hold the command for minutes of SDK retries) and fails with one line that names
the field and what to do.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import TypeVar

from rayplane.errors import RayplaneError, StorageError
from rayplane.storage.layout import Storage
from rayplane.storage.location import ENDPOINT_VARIABLES, Location

DEADLINE_S = 30.0
T = TypeVar("T")

HINTS = (
    ("NO_SUCH_BUCKET", "the bucket does not exist: create it, or fix the name"),
    ("ACCESS_DENIED", "the credentials in use cannot do this (check AWS_ACCESS_KEY_ID / the role's policy)"),
    ("Permission denied", "this user may not write there: choose another path or fix its permissions"),
    ("NETWORK_CONNECTION", "the endpoint does not answer: is it up, and is "
                           f"{' or '.join(ENDPOINT_VARIABLES)} (or ?endpoint_override=) right?"),
    ("Read-only file system", "the volume is mounted read-only"),
)


def check_writable(location: Location, field: str) -> None:
    probe = location / f".rayplane-probe-{uuid.uuid4().hex}"

    def write_and_delete() -> None:
        probe.write_bytes(b"rayplane write probe\n")
        probe.delete()

    within(write_and_delete, f"{field}: cannot write to {location.display}")


def check_shared(storage: Storage, nodes: int, field: str = "storage.root") -> None:
    """A local root on a multi-node cluster must be a mount every node shares, declared as such."""
    if nodes > 1 and storage.root.is_local and not storage.shared:
        raise StorageError(
            f"{field}: {storage.root.display} is a local path, but the Ray cluster has {nodes} nodes that would "
            "each write their own copy; use an object store URI (s3://, gs://, abfs://) or, if it is a volume every "
            "node mounts (NFS, a ReadWriteMany PVC), set storage.shared: true (or RAYPLANE_STORAGE_SHARED=1)"
        )


def within(action: Callable[[], T], what: str, error: type[RayplaneError] = StorageError,
           deadline_s: float = DEADLINE_S) -> T:
    """``action()`` under the deadline; ``error`` saying ``what`` failed, and a hint, when it raises."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = action()
        except Exception as exc:  # pyarrow raises OSError, ArrowInvalid and friends
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="rayplane-storage-check", daemon=True)
    worker.start()
    worker.join(deadline_s)
    if worker.is_alive():
        raise error(f"{what}: no answer within {deadline_s:.0f} s; {HINTS[3][1]}")
    failure = outcome.get("error")
    if isinstance(failure, RayplaneError):
        raise failure
    if failure is not None:
        text = " ".join(str(failure).split())
        hint = next((h for key, h in HINTS if key.lower() in text.lower()), "")
        raise error(f"{what}: {gist(failure)}" + (f"; {hint}" if hint else "")) from None
    return outcome.get("value")  # type: ignore[return-value]


def gist(error: BaseException) -> str:
    # pyarrow's S3 errors end with a request id and repeat the operation: the first sentence says it.
    return " ".join(str(error).split()).split(" (Request ID")[0][:300]
