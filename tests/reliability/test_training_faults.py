"""Training and tuning interrupted by a kill: the run finishes from its checkpoints and nothing finished is redone.

tests/pipeline/test_resume.py kills a training driver and re-runs it; here a Train worker dies under a live
run (Ray Train restarts the worker group by itself, within ``train.max_failures``), and a tuning driver dies
between trials (the re-run restores the experiment and keeps the trials that had finished).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

import rayplane
from rayplane.pipeline import registry_for
from tests.data.datafiles import small_frame, write_frame
from tests_helpers import REPO, alive_actor_pids, checkpointed_epochs, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def write_workload(root: Path, train: dict, tune: dict | None = None) -> Path:
    """3,000 rows in 3 shards and a one-worker spec beside them; returns the spec path."""
    write_frame(root / "data", small_frame(3000), shards=3)
    spec = {
        "name": "faults",
        "data": {"path": "data", "task": "binary", "label": "y",
                 "features": {"numeric": ["a", "b"], "categorical": ["c"]}},
        "model": {"params": {"hidden": 16, "layers": 1}},
        "train": {"num_workers": {"min": 1, "max": 1}, "batch_size": 16, "checkpoint_every": 1, **train},
        "tune": tune or {"num_samples": 1},
        "storage": {"root": str(root / "home")},
    }
    path = root / "workload.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_worker_killed_mid_run_is_replaced_and_training_resumes(ray_session, tmp_path):
    spec = rayplane.load_spec(write_workload(tmp_path, train={"epochs": 10, "batch_size": 64, "max_failures": 2}))
    run_dir = tmp_path / "home" / "runs" / "worker-killed"

    def kill_a_worker_once_checkpointed() -> dict:
        # Three on disk: a worker hands over one report at a time and blocks on the next, so the controller has
        # collected at least the first (a kill right after the first can lose it, and the run starts over).
        wait_for(lambda: checkpointed_epochs(run_dir) >= 3, timeout=300, what="the run's third checkpoint")
        [pid] = wait_for(lambda: alive_actor_pids("RayTrainWorker"), timeout=60, what="the Train worker")
        os.kill(pid, signal.SIGKILL)
        return {"pid": pid, "checkpointed": checkpointed_epochs(run_dir), "at": time.monotonic()}

    # Training runs on this thread (Ray Train sets signal handlers); the fault comes from a helper thread.
    with ThreadPoolExecutor(1) as pool:
        killer = pool.submit(kill_a_worker_once_checkpointed)
        result = rayplane.train(spec, run_name="worker-killed")
        killed = killer.result(timeout=30)
    finished = time.monotonic()

    resumed = result.metrics["resumed_from_epoch"]
    assert result.metrics["epoch"] == 10
    assert resumed >= 1, "the run started over instead of resuming from its checkpoint"
    # Redone: at most checkpoint_every epochs, plus the one report that Train may not have collected yet.
    assert killed["checkpointed"] - resumed <= spec.train.checkpoint_every + 1, (killed, resumed)
    assert killed["pid"] not in alive_actor_pids("RayTrainWorker")
    versions = registry_for(result.spec).list("faults")
    assert [v.version for v in versions] == [1] and versions[0].metadata["run_name"] == "worker-killed"
    print(f"\nworker killed after {killed['checkpointed']} checkpointed epoch(s); resumed from epoch {resumed}; "
          f"finished {finished - killed['at']:.0f} s after the kill")


def trial_states(experiment: Path) -> dict[str, str]:
    """Trial id -> status, as Tune last saved its experiment state (what a restore reads)."""
    # By the start time in the name: a resumed run writes its own file and syncs the older one again.
    states = sorted(experiment.glob("experiment_state-*.json"))
    if not states:
        return {}
    try:
        saved = json.loads(states[-1].read_text())
    except (OSError, ValueError):  # being rewritten
        return {}
    trials = (json.loads(trial) for trial, _ in saved["trial_data"])
    return {t["trial_id"]: t["status"] for t in trials}


def trial_results(experiment: Path) -> dict[str, bytes]:
    """Trial directory name -> its result.json, the record every report of a trial is appended to."""
    return {p.parent.name: p.read_bytes() for p in experiment.glob("*/result.json")}


def test_an_interrupted_tuning_run_resumes_without_rerunning_finished_trials(ray_session, tmp_path):
    samples = 2
    spec_path = write_workload(tmp_path, train={"epochs": 1}, tune={
        "num_samples": samples, "n_startup_trials": 1, "max_concurrent_trials": 1, "early_stopping": None,
        "search_space": {"lr": {"type": "loguniform", "low": 0.003, "high": 0.03}},
    })
    experiment = tmp_path / "home" / "runs" / "tune-killed"
    with open(tmp_path / "first-attempt.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rayplane.cli.main", "tune", str(spec_path), "--run-name", "tune-killed"],
            cwd=REPO, start_new_session=True, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_for(lambda: "TERMINATED" in trial_states(experiment).values() or proc.poll() is not None,
                     timeout=420, what="the first finished trial", interval=0.5)
            assert proc.poll() is None, "the tuning run ended before it could be interrupted"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
    states = trial_states(experiment)
    done_before = {trial for trial, status in states.items() if status == "TERMINATED"}
    assert 1 <= len(done_before) < samples, states
    results_before = trial_results(experiment)

    result = rayplane.tune(rayplane.load_spec(spec_path), run_name="tune-killed")

    states_after = trial_states(experiment)
    assert len(states_after) == samples and set(states_after.values()) == {"TERMINATED"}, states_after
    assert done_before <= set(states_after)
    results_after = trial_results(experiment)
    finished_dirs = {name for name in results_before if any(trial in name for trial in done_before)}
    assert len(finished_dirs) == len(done_before)
    for name in finished_dirs:  # a re-run trial would have appended its reports
        assert results_after[name] == results_before[name], f"finished trial {name} was run again"
    assert len(results_after) == samples
    versions = registry_for(result.spec).list("faults")
    assert [v.version for v in versions] == [1]
    print(f"\ntuning killed after {len(done_before)} of {samples} trial(s) finished; the re-run ran "
          f"{samples - len(done_before)} and kept the finished ones unchanged")
