"""The directory that holds everything about one local cluster: addresses, token, configs and logs."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rayplane.errors import ClusterError

DEFAULT_STATE_DIR = "~/.rayplane/cluster"
STATE_DIR_ENV = "RAYPLANE_CLUSTER_DIR"


@dataclass(frozen=True)
class WorkerPool:
    """Worker nodes on this machine, managed by Ray's autoscaler: ``min`` always up, up to ``max`` under demand."""

    min: int = 0
    max: int = 0
    cpus: float = 1.0
    object_store_mib: int = 512
    idle_timeout_s: float = 30.0


@dataclass(frozen=True)
class ClusterRecord:
    """What ``cluster up`` started, as written to ``state.json``."""

    cluster_id: str
    python: str
    host: str
    gcs_address: str
    dashboard_url: str
    metrics_port: int
    ray_temp_dir: str
    head_cpus: float
    workers: WorkerPool = field(default_factory=WorkerPool)
    started_at: float = 0.0

    @property
    def autoscaling(self) -> bool:
        return self.workers.max > self.workers.min


class StateDir:
    """Paths under the state directory; ``RAYPLANE_CLUSTER_DIR`` or ``~/.rayplane/cluster`` by default."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR).expanduser().absolute()

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def token_file(self) -> Path:
        return self.root / "auth_token"

    @property
    def autoscaler_config(self) -> Path:
        return self.root / "autoscaler.yaml"

    @property
    def nodes_dir(self) -> Path:
        """One directory per worker node: its HOME and working directory, as a machine of its own would have."""
        return self.root / "nodes"

    @property
    def start_log(self) -> Path:
        return self.root / "ray-start.log"

    @property
    def ray_link(self) -> Path:
        """Ray's temp dir (sessions and logs), or a link to it when the state dir's path is too long for it."""
        return self.root / "ray"

    @property
    def logs_dir(self) -> Path:
        return self.ray_link / "session_latest" / "logs"

    def load(self) -> ClusterRecord | None:
        if not self.state_file.exists():
            return None
        try:
            raw = json.loads(self.state_file.read_text())
            return ClusterRecord(**{**raw, "workers": WorkerPool(**raw.get("workers", {}))})
        except (ValueError, TypeError) as exc:
            raise ClusterError(f"{self.state_file}: unreadable cluster state ({exc}); remove it after checking "
                               "that no cluster from it is running") from None

    def save(self, record: ClusterRecord) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record), indent=2) + "\n")
        tmp.replace(self.state_file)

    def clear(self) -> None:
        self.state_file.unlink(missing_ok=True)
