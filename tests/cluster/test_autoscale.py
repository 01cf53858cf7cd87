"""Autoscaling workers: a training run starts with what the cluster has, grows as Ray's autoscaler adds nodes,
and the nodes go away after the run. Recorded: the node count over time and the world sizes the run reached.

The head has 1 CPU and each Train worker needs 1, so the run can start with one worker only; the autoscaler
adds a 2-CPU worker node for the second (one CPU for the Train worker, one for Ray Data).
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
    workload = write_workload(tmp_path / "workload", rows=2000, num_workers={"min": 1, "max": 2},
                              cpus_per_worker=1, epochs=8)
    autoscaling = start_cluster(tmp_path / "state", "--num-cpus", "1", "--autoscale", "--min-workers", "0",
                                "--max-workers", "2", "--worker-cpus", "2", "--idle-timeout-s", "15")
    try:
        # `cluster down` stops only its own cluster: the two clusters share no process.
        assert not {p.pid for p in autoscaling.processes()} & {p.pid for p in cluster.processes()}
        client = autoscaling.client()
        with NodeCounter(client) as nodes:
            env = [arg for pair in NO_DATA_UPSCALING for arg in ("--env", pair)]
            run = autoscaling.cli("submit", str(workload), "--command", "train", "--follow", "--submission-id",
                                  "grow-1", "--env", f"RAYPLANE_HOME={tmp_path / 'home'}", *env, timeout=600)
            finished_at = len(nodes.samples)
            wait_for(lambda: nodes.counts and nodes.counts[-1] == 1, timeout=180,
                     what="the idle worker nodes to be removed", interval=1)
        sizes = [int(n) for n in re.findall(r"Attempting to start training worker group of size (\d+)", run.stdout)]
        record = {"world_sizes": sizes, "node_count_changes": nodes.changes(),
                  "summary_world_size": re.findall(r"world_size\W+(\d+)", run.stdout)[-1:]}
        record_property("autoscaling", json.dumps(record))
        print("autoscaling record:", json.dumps(record))
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert sizes and sizes[0] == 1, record  # started with what the head had room for
        assert max(sizes) == 2, record  # grew to the spec's max as a node joined
        during = nodes.counts[:finished_at]
        assert during[0] == 1 and max(during) >= 2, record  # head only, then worker node(s)
        assert nodes.counts[-1] == 1, record  # and back to the head alone
    finally:
        stop_cluster(autoscaling)
    assert cluster.cli("cluster", "status", timeout=60).returncode == 0  # the other cluster is untouched
