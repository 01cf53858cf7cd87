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
from rayplane.cluster.processes import MARKER_ENV, cluster_processes
from rayplane.pipeline import registry_for
from tests_helpers import REPO, alive_actor_pids, checkpointed_epochs, wait_for

pytestmark = pytest.mark.slow


def registered_epochs(run_dir: Path) -> list[int]:
    """Epochs of the checkpoints the run's controller has recorded in its snapshot, the list a re-run resumes from.

    A ``checkpoint_*`` directory appears before it is recorded: a kill in between leaves nothing to resume.
    """
    try:
        snapshot = json.loads((run_dir / "checkpoint_manager_snapshot.json").read_text())
        return sorted(result["metrics"]["epoch"] for result in snapshot["checkpoint_results"])
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return []


def kill_run(tag: str) -> None:
    """SIGKILL the run's driver and every Ray process it started, all at once, and wait until they are gone.

    Ray's workers need not share the driver's process group: a Train controller left alive for a moment can
    register one more checkpoint after this test has read what the re-run will resume from.
    """
    procs = cluster_processes(tag)
    for proc in procs:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    gone = {p.pid for p in procs}
    wait_for(lambda: not {p.pid for p in cluster_processes(tag)} & gone, timeout=30, what="the killed run's processes")


# Both on the one tiny dataset; with 2 the odd epochs have no checkpoint, so a kill after one is redone.
@pytest.mark.parametrize("checkpoint_every", [1, 2])
def test_killed_training_run_resumes_from_checkpoint(ray_session, tiny_workload, tmp_path, checkpoint_every):
    epochs = 8
    raw = yaml.safe_load(tiny_workload.read_text())
    raw["train"].update(epochs=epochs, batch_size=32, checkpoint_every=checkpoint_every)
    raw["storage"]["root"] = str(tmp_path / "home")
    spec_path = tmp_path / "workload.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    run_dir = tmp_path / "home" / "runs" / "interrupted"

    # The first attempt runs in its own process (and its own embedded Ray), killed once a checkpoint exists.
    # Tagged as rayplane tags the clusters it starts, so the driver and all its Ray processes can be found.
    tag = f"resume-test-{os.getpid()}-{checkpoint_every}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "rayplane.cli.main", "train", str(spec_path), "--run-name", "interrupted"],
        cwd=REPO, env={**os.environ, MARKER_ENV: tag}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for(lambda: registered_epochs(run_dir) or proc.poll() is not None, timeout=300,
                 what="the first registered checkpoint of the interrupted run")
        assert proc.poll() is None, f"the run ended before it could be interrupted:\n{proc.stderr.read()[-2000:]}"
    finally:
        kill_run(tag)
        proc.wait(timeout=60)
    registered = registered_epochs(run_dir)
    on_disk = checkpointed_epochs(run_dir)
    assert registered and all(epoch % checkpoint_every == 0 for epoch in registered), registered

    result = rayplane.train(rayplane.load_spec(spec_path), run_name="interrupted")
    assert result.metrics["epoch"] == epochs
    resumed = result.metrics["resumed_from_epoch"]
    # From the newest checkpoint the killed run had registered: nothing it recorded is trained again.
    assert resumed == registered[-1] >= checkpoint_every, (registered, result.metrics)
    # Redone: the epochs the killed attempt had finished past the resume point. Its newest checkpoint on disk
    # may not have been registered yet (a worker hands over one report at a time), so up to checkpoint_every + 1.
    assert 0 <= on_disk - resumed <= checkpoint_every + 1, (on_disk, resumed)
    versions = registry_for(result.spec).list("tiny")
    assert [v.version for v in versions] == [1], "the killed attempt must not have registered a model"
    assert versions[0].read("model.pt")
    # The run is over in this process too: its controller and the CPUs of its worker group are released, not kept
    # until the process ends (Ray Train's Ctrl-C handler held the controller; rayplane puts the old one back).
    wait_for(lambda: not alive_actor_pids("TrainController"), timeout=60, what="the run's controller to exit")
