"""Autoscaling workers: a training run starts with what the cluster has, grows as Ray's autoscaler adds nodes,
and the nodes go away after the run. Recorded: the node count over time and the world size of every epoch.

The head has 2 CPUs and each Train worker needs 1.5, so the run can start with one worker only; the autoscaler
adds a 3-CPU worker node for the second (1.5 CPUs for the Train worker, the rest for Ray Data).
"""

from __future__ import annotations

import json
import re
import threading
import time

import pytest

from cluster.cluster_helpers import start_cluster, stop_cluster, write_workload
from rayplane.cluster.local import alive_nodes
from tests_helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# Ray Data asks the autoscaler for nodes too when its CPUs are busy; here only Train's request may add nodes,
# so that the growth seen is Train's elasticity (thresholds above 1 never trigger).
NO_DATA_UPSCALING = [f"RAY_DATA_DEFAULT_CLUSTER_SCALING_UP_{r}_UTIL_THRESHOLD=2"
                     for r in ("CPU", "GPU", "MEMORY", "OBJECT_STORE_MEMORY")]


# Enough to outlast the 10-40 s a node takes to join and the run to resize onto it (growth came at epochs
# 5-11 of ~1-2 s each on a busy 2-core machine).
EPOCHS = 30


class NodeCounter:
    """Polls the cluster's alive nodes once a second, in the background."""

    def __init__(self, client):
        self.client = client
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        while not self._stop.wait(1.0):
            try:
                self.samples.append((round(time.monotonic() - self._started, 1), len(alive_nodes(self.client))))
            except Exception:  # a slow answer under load: the next sample will do
                continue

    @property
    def counts(self) -> list[int]:
        return [n for _, n in self.samples]

    def changes(self) -> list[tuple[float, int]]:
        """Only the samples where the count changed: the shape of the curve."""
        return [s for i, s in enumerate(self.samples) if i == 0 or s[1] != self.samples[i - 1][1]]


def test_training_grows_onto_autoscaled_nodes_which_go_away_after(tmp_path, cluster, record_property):
    workload = write_workload(tmp_path / "workload", rows=600, num_workers={"min": 1, "max": 2},
                              cpus_per_worker=1.5, epochs=EPOCHS)
    autoscaling = start_cluster(tmp_path / "state", "--num-cpus", "2", "--autoscale", "--min-workers", "0",
                                "--max-workers", "2", "--worker-cpus", "3", "--idle-timeout-s", "15")
    try:
        # `cluster down` stops only its own cluster: the two clusters share no process.
        assert not {p.pid for p in autoscaling.processes()} & {p.pid for p in cluster.processes()}
        client = autoscaling.client()
        with NodeCounter(client) as nodes:
            env = [arg for pair in NO_DATA_UPSCALING for arg in ("--env", pair)]
            run = autoscaling.cli("submit", str(workload), "--command", "train", "--follow", "--submission-id",
                                  "grow-1", "--env", f"RAYPLANE_HOME={tmp_path / 'home'}", *env,
                                  "--env", "RAY_DEDUP_LOGS=0", timeout=600)  # every worker's report, in full
            finished_at = len(nodes.samples)
            wait_for(lambda: nodes.counts and nodes.counts[-1] == 1, timeout=180,
                     what="the idle worker nodes to be removed", interval=1)
        # Every epoch's report, in order; a resize restarts from the last checkpoint and repeats an epoch.
        epochs = [(int(e), int(w)) for e, w in re.findall(
            r"Reporting training result \d+: TrainingReport\(.*?'epoch': (\d+),.*?'world_size': (\d+)", run.stdout)]
        world_sizes = [s for i, s in enumerate(epochs) if i == 0 or s[1] != epochs[i - 1][1]]
        record = {"world_size_from_epoch": world_sizes, "node_count_changes_s": nodes.changes()}
        record_property("autoscaling", json.dumps(record))
        print("autoscaling record:", json.dumps(record))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "Deciding to resize the worker group from 1 -> 2 workers" in run.stdout, record
        assert epochs[0][1] == 1, record  # trained with what the head had room for
        assert epochs[-1] == (EPOCHS, 2), record  # and finished on two workers, one on the new node
        during = nodes.counts[:finished_at]
        assert during[0] == 1 and max(during) >= 2, record  # head only, then worker node(s)
        assert nodes.counts[-1] == 1, record  # and back to the head alone
    finally:
        stop_cluster(autoscaling)
    assert cluster.cli("cluster", "status", timeout=60).returncode == 0  # the other cluster is untouched
