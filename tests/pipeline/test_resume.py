"""An interrupted training run resumes from its last checkpoint when re-run under the same name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import rayplane
from rayplane.pipeline import registry_for
from tests_helpers import REPO, wait_for

pytestmark = pytest.mark.slow


def registered_checkpoints(run_dir: Path) -> int:
    """Checkpoints the run's controller has recorded in its snapshot, the list a re-run resumes from.

    A ``checkpoint_*`` directory appears before it is recorded: a kill in between leaves nothing to resume.
    """
    try:
        return len(json.loads((run_dir / "checkpoint_manager_snapshot.json").read_text())["checkpoint_results"])
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return 0


def test_killed_training_run_resumes_from_checkpoint(ray_session, tiny_workload, tmp_path):
    raw = yaml.safe_load(tiny_workload.read_text())
    raw["train"].update(epochs=8, batch_size=32, checkpoint_every=1)
    raw["storage"]["root"] = str(tmp_path / "home")
    spec_path = tmp_path / "workload.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "home" / "runs" / "interrupted"

    # The first attempt runs in its own process (and its own embedded Ray), killed once a checkpoint exists.
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayplane.cli.main", "train", str(spec_path), "--run-name", "interrupted"],
        cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: registered_checkpoints(run_dir) or proc.poll() is not None, timeout=300,
                 what="the first registered checkpoint of the interrupted run")
        assert proc.poll() is None, f"the run ended before it could be interrupted:\n{proc.stderr.read()[-2000:]}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert registered_checkpoints(run_dir) >= 1

    result = rayplane.train(rayplane.load_spec(spec_path), run_name="interrupted")
    assert result.metrics["epoch"] == 8
    assert 1 <= result.metrics["resumed_from_epoch"] < 8, result.metrics
    versions = registry_for(result.spec).list("tiny")
    assert [v.version for v in versions] == [1], "the killed attempt must not have registered a model"
    assert (versions[0].location / "model.pt").is_file()
