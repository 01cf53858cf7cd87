"""Running the rayplane CLI against real local clusters, and a tiny workload directory to submit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from rayplane.cluster.auth import read_token
from rayplane.cluster.client import ClusterClient, Connection
from rayplane.cluster.local import LocalCluster
from rayplane.cluster.processes import terminate
from rayplane.cluster.state import ClusterRecord
from tests_helpers import free_port


def rayplane(*args: str, state_dir: Path, timeout: float = 180, env: dict | None = None,
             drop_env: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    environment = {**os.environ, "RAYPLANE_CLUSTER_DIR": str(state_dir), **(env or {})}
    for key in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", *drop_env):
        environment.pop(key, None)
    return subprocess.run([sys.executable, "-m", "rayplane.cli.main", *args], env=environment,
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class RunningCluster:
    state_dir: Path
    record: ClusterRecord

    @property
    def url(self) -> str:
        return self.record.dashboard_url

    @property
    def token(self) -> str:
        return read_token(self.state_dir / "auth_token")

    def cli(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return rayplane(*args, state_dir=self.state_dir, **kwargs)

    def client(self) -> ClusterClient:
        return ClusterClient(Connection(self.url, self.token, "test"))

    def processes(self):
        return LocalCluster(self.state_dir).processes(self.record)


def start_cluster(state_dir: Path, *up_args: str, timeout: float = 300) -> RunningCluster:
    up = rayplane("cluster", "up", "--dashboard-port", str(free_port()), *up_args, state_dir=state_dir,
                  timeout=timeout)
    assert up.returncode == 0, f"cluster up failed:\n{up.stdout}\n{up.stderr}"
    record = LocalCluster(state_dir).record()
    assert record is not None
    return RunningCluster(state_dir, record)


def stop_cluster(cluster: RunningCluster) -> None:
    down = cluster.cli("cluster", "down", timeout=120)
    leftover = LocalCluster(cluster.state_dir).processes(cluster.record)
    terminate(leftover, grace_s=1.0)  # only if `down` missed some: never leave processes behind
    # `down` keeps the logs for the user; a test's cluster leaves nothing behind in /tmp.
    shutil.rmtree(cluster.record.ray_temp_dir, ignore_errors=True)
    assert down.returncode == 0, down.stderr
    assert not leftover, f"`cluster down` left {len(leftover)} process(es) running"


def write_workload(root: Path, rows: int = 300, **train) -> Path:
    """A workload directory: a spec beside two Parquet shards under data/ (a path relative to the spec)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2))
    label = (x[:, 0] - x[:, 1] + rng.normal(scale=0.3, size=rows) > 0).astype(np.int64)
    (root / "data").mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(rows), 2)):
        pq.write_table(pa.table({"a": x[part, 0], "b": x[part, 1], "label": label[part]}),
                       root / "data" / f"part-{i}.parquet")
    spec = {
        "name": "tiny",
        "data": {"path": "data", "task": "binary", "label": "label", "features": {"numeric": ["a", "b"]}},
        "model": {"params": {"hidden": 8, "layers": 1}},
        "train": {"num_workers": {"min": 1, "max": 1}, "cpus_per_worker": 0.5, "epochs": 1, "batch_size": 64,
                  **train},
        "tune": {"num_samples": 1},
    }
    path = root / "workload.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path
