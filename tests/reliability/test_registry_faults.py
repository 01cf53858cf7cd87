"""Registering processes SIGKILLed mid-copy, two at a time: every version is whole or absent, none is clobbered.

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


def artifacts(directory: Path, writer: int) -> dict[str, bytes]:
    files = {"model.pt": bytes([writer]) * (8 * 2**20), "preprocessor.json": f'{{"writer": {writer}}}'.encode()}
    files.update({f"extra/{i:04d}.bin": bytes([writer, i % 256]) * 512 for i in range(SMALL_FILES)})
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(content)
    return files


def test_killed_concurrent_registrations_leave_only_whole_versions(tmp_path):
    root = tmp_path / "models"
    expected = {w: artifacts(tmp_path / f"src{w}", w) for w in range(WRITERS)}
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
        caught_mid_copy = len(list((root / "m").glob(".staging-*")))
        if caught_mid_copy:
            break
    assert caught_mid_copy, "no kill landed inside a copy in 5 attempts"

    versions = ModelRegistry(root).list("m")
    numbers = [v.version for v in versions]
    assert numbers == list(range(1, len(numbers) + 1)), "numbers are consecutive: no version was lost or reused"
    for version in versions:
        files = expected[version.metadata["writer"]]
        stored = {str(p.relative_to(version.path)): p for p in version.path.rglob("*") if p.is_file()}
        assert set(stored) == {*files, "metadata.json"}, version.uri
        assert all(stored[name].read_bytes() == content for name, content in files.items()), version.uri
    seen = {(v.metadata["writer"], v.metadata["iteration"]) for v in versions}
    assert len(seen) == len(versions), "no registration was written twice or over another"
    assert {w for w, _ in seen} == set(range(WRITERS))

    # A leftover staging directory is invisible to the registry and takes no number.
    after = ModelRegistry(root).register("m", tmp_path / "src0", {"writer": 0, "iteration": -1})
    assert after.version == len(versions) + 1
