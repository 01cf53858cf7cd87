"""A multi-node cluster whose nodes share no disk rayplane relies on: `rayplane cluster up --workers 2` gives
every worker node its own HOME and working directory, the head has no CPU (so every task, Train worker and
replica runs on a worker node), and all state lives on the real S3 API server.

- a local storage.root is refused before any work, naming the field and the two ways out;
- the flagship workload, with its data prepared onto S3, runs tune -> register -> serve through the CLI;
- a Train worker killed mid-run is replaced and the run resumes from its checkpoint on S3;
- afterwards no node's HOME holds anything of rayplane's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from cluster.cluster_helpers import rayplane, stop_cluster, RunningCluster
from rayplane.cluster.local import LocalCluster
from rayplane.cluster.processes import cluster_processes
from rayplane.storage import Location
from tests_helpers import REPO, free_port, interrupted_cli, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FLIGHTS = REPO / "workloads" / "flights_delay" / "workload.yaml"


@pytest.fixture(scope="module")
def homes(tmp_path_factory) -> Path:
    """The head's HOME (what the CLI and the head node get); worker nodes get theirs under the state dir."""
    return tmp_path_factory.mktemp("head-home")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, homes):
    state = tmp_path_factory.mktemp("no-shared-disk")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HOME", str(homes))
        env.delenv("RAYPLANE_HOME", raising=False)
        up = rayplane("cluster", "up", "--workers", "2", "--num-cpus", "0", "--dashboard-port", str(free_port()),
                      state_dir=state, timeout=300)
        assert up.returncode == 0, f"cluster up failed:\n{up.stdout}\n{up.stderr}"
        record = LocalCluster(state).record()
        running = RunningCluster(state, record)
        # Every CLI call below is a driver of this cluster, as `eval "$(rayplane cluster env)"` makes it.
        for key, value in LocalCluster(state).client_env(record).items():
            env.setenv(key, value)
        yield running
        stop_cluster(running)


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    return s3.bucket("nodes")


def node_homes(cluster: RunningCluster, head_home: Path) -> list[Path]:
    return [head_home, *sorted(cluster.state_dir.glob("nodes/*/home"))]


def flights(*args: str, bucket: str) -> list[str]:
    return [str(FLIGHTS), "--set", f"data.path={bucket}/flights/", "--set", f"storage.root={bucket}/rayplane",
            "--set", "data.prepare.rows=3000", "--set", "data.prepare.shards=4", *args]


def test_worker_nodes_have_their_own_home_and_a_local_root_is_refused(cluster, homes, bucket, tmp_path):
    assert len(node_homes(cluster, homes)) == 3
    local = tmp_path / "shared-looking"
    for command in ("validate", "train"):
        out = rayplane(command, *flights("--address", cluster.record.gcs_address, "--set", f"storage.root={local}",
                                         bucket=bucket), state_dir=cluster.state_dir, timeout=300)
        assert out.returncode == 1, out.stderr
        [line] = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert f"storage.root: {local} is a local path, but the Ray cluster has 3 nodes" in line, line
        assert "storage.shared: true" in line and "s3://" in line
    assert not (local / "runs").exists() and not (local / "models").exists()
    declared = rayplane("validate", *flights("--address", cluster.record.gcs_address, "--set", f"storage.root={local}",
                                             "--set", "storage.shared=true", bucket=bucket),
                        state_dir=cluster.state_dir, timeout=300)
    assert declared.returncode == 0 and "3 node(s)" in declared.stdout, declared.stderr


def test_the_flagship_runs_end_to_end_on_object_storage(cluster, bucket, tmp_path):
    port = free_port()
    with interrupted_cli("run", *flights("--set", f"serve.port={port}", "--trials", "2", "--epochs", "1",
                                         "--run-name", "nodes-run", bucket=bucket),
                         stderr_path=tmp_path / "stderr.log", timeout=120) as (lines, ended):
        printed = []
        while not printed or not printed[-1].startswith("curl "):
            printed.append(lines.get(timeout=600).strip())
        summary = "\n".join(printed)
        assert "flights_delay:v1" in summary and f"{bucket}/rayplane/runs/nodes-run" in summary, summary
        curl = subprocess.run(printed[-1], shell=True, capture_output=True, text=True, timeout=60)
        assert curl.returncode == 0, curl.stderr
        assert json.loads(curl.stdout)["model"] == {"name": "flights_delay", "version": 1}
    assert ended["code"] == 0, (tmp_path / "stderr.log").read_text()[-3000:]
    stored = Location(bucket).files()
    assert sum(f.startswith("flights/part-") for f in stored) == 4, "prepared straight onto the object store"
    assert "rayplane/models/flights_delay/v1/metadata.json" in stored


def train_worker_pids(cluster: RunningCluster) -> list[int]:
    pids = []
    for proc in cluster_processes(cluster.record.cluster_id):
        try:
            if b"RayTrainWorker" in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
                pids.append(proc.pid)
        except OSError:
            pass
    return pids


def registered_epochs(run: Location) -> list[int]:
    """Epochs of the checkpoints the run's controller has recorded on S3: what a restarted worker resumes from.

    A checkpoint is uploaded before the controller records it; a kill in between leaves it unused.
    """
    try:
        snapshot = json.loads((run / "checkpoint_manager_snapshot.json").read_bytes())
        return sorted(result["metrics"]["epoch"] for result in snapshot["checkpoint_results"])
    except (OSError, ValueError, KeyError):  # not written yet
        return []


def test_a_killed_training_worker_resumes_from_its_checkpoint_on_s3(cluster, bucket, tmp_path):
    run = Location(bucket) / "rayplane" / "runs" / "nodes-killed"
    with open(tmp_path / "train.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rayplane.cli.main", "train",
             *flights("--epochs", "10", "--run-name", "nodes-killed", "--set", "train.batch_size=16",
                      "--set", "train.num_workers.max=1", bucket=bucket)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: registered_epochs(run) or proc.poll() is not None, timeout=400,
                     what="a recorded checkpoint on S3", interval=0.5)
            assert proc.poll() is None, (tmp_path / "train.log").read_text()[-3000:]
            [pid] = train_worker_pids(cluster)
            os.kill(pid, signal.SIGKILL)
            killed_after = registered_epochs(run)[-1]
            assert proc.wait(timeout=600) == 0, (tmp_path / "train.log").read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
    assert pid not in train_worker_pids(cluster)
    show = rayplane("models", "show", *flights(bucket=bucket), state_dir=cluster.state_dir)
    metadata = json.loads(show.stdout)
    log = (tmp_path / "train.log").read_text()[-3000:]
    assert metadata["run_name"] == "nodes-killed" and metadata["metrics"]["epoch"] == 10, log
    assert metadata["metrics"]["resumed_from_epoch"] >= killed_after, f"the run started over:\n{log}"


def test_no_node_home_holds_anything_of_rayplane(cluster, homes):
    # Stricter than "no .rayplane": nothing at all but Ray's own ~/.ray, which Ray may keep on any node.
    leftovers = [str(p) for home in node_homes(cluster, homes) for p in home.rglob("*")
                 if p.is_file() and p.relative_to(home).parts[0] != ".ray"]
    assert leftovers == []
