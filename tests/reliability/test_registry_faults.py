"""Registering processes SIGKILLed mid-upload, two at a time, on a local disk and on a real S3 API server:
every version is whole or absent, none is clobbered, no number is given twice.

tests/registry covers a copy that raises and concurrent registrations that finish; here the writers are killed
at whatever point they reached, and every surviving version is compared byte for byte with its writer's files.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rayplane.registry import ModelRegistry
from rayplane.storage import Location
from tests_helpers import wait_for

pytestmark = pytest.mark.timeout(240)

WRITERS = 2
SMALL_FILES = 200
# Registers the same artifacts over and over, so that a kill at any moment lands mostly inside a copy.
WRITER = textwrap.dedent("""
    import sys
    from rayplane.registry import ModelRegistry

    root, source, writer = sys.argv[1], sys.argv[2], int(sys.argv[3])
    registry = ModelRegistry(root)
    for i in range(10_000):
        registry.register("m", source, {"writer": writer, "iteration": i})
""")


def artifacts(directory: Path, writer: int, small_files: int) -> dict[str, bytes]:
    files = {"model.pt": bytes([writer]) * (8 * 2**20), "preprocessor.json": f'{{"writer": {writer}}}'.encode()}
    files.update({f"extra/{i:04d}.bin": bytes([writer, i % 256]) * 512 for i in range(small_files)})
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    return files


@pytest.fixture(params=["local", "s3"])
def root(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "models")
    return request.getfixturevalue("s3_bucket") + "/models"


def staged_uploads(root: str) -> set[str]:
    return {f.split("/")[2] for f in (Location(root) / "m").files() if f.startswith(".staging/")}


def test_killed_concurrent_registrations_leave_only_whole_versions(tmp_path, root):
    # Each upload to the S3 server is a request: fewer files keep its round as long as the local one.
    small_files = SMALL_FILES if not root.startswith("s3://") else SMALL_FILES // 10
    expected = {w: artifacts(tmp_path / f"src{w}", w, small_files) for w in range(WRITERS)}
    caught_mid_copy = 0
    for _ in range(5):  # until a kill has landed inside a copy (the first one almost always does)
        procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(tmp_path / f"src{w}"), str(w)])
                 for w in range(WRITERS)]
        # Both writers busy: a few more versions registered, each writer's among them, so the kill comes
        # mid-stream, not at start-up (one writer can start seconds before the other on a loaded machine).
        before = len(ModelRegistry(root).list("m"))

        def both_writing() -> bool:
            versions = ModelRegistry(root).list("m")[before:]
            return len(versions) >= 4 and {v.metadata["writer"] for v in versions} == set(range(WRITERS))

        wait_for(lambda: both_writing() or any(p.poll() is not None for p in procs),
                 timeout=120, what="both writers to register versions", interval=0.05)
        for proc in procs:
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=30) == -signal.SIGKILL, "a writer ended before it was killed"
        caught_mid_copy = len(staged_uploads(root))
        if caught_mid_copy:
            break
    assert caught_mid_copy, "no kill landed inside a copy in 5 attempts"

    versions = ModelRegistry(root).list("m")
    numbers = [v.version for v in versions]
    # A writer killed after claiming its number leaves a gap, never a reuse.
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1
    for version in versions:
        files = expected[version.metadata["writer"]]
        assert set(version.location.files()) == {*files, "metadata.json"}, version.uri
        assert all(version.read(name) == content for name, content in files.items()), version.uri
    seen = {(v.metadata["writer"], v.metadata["iteration"]) for v in versions}
    assert len(seen) == len(versions), "no registration was written twice or over another"
    assert {w for w, _ in seen} == set(range(WRITERS))

    # A leftover upload is invisible to the registry; the next version comes after every claimed number.
    after = ModelRegistry(root).register("m", tmp_path / "src0", {"writer": 0, "iteration": -1})
    claimed = [int(f.split("/")[1].split(".")[0]) for f in (Location(root) / "m").files() if f.startswith(".claims/")]
    assert after.version == max(claimed) and after.version > numbers[-1]
    assert ModelRegistry(root).list("m")[-1].read("model.pt") == expected[0]["model.pt"]
