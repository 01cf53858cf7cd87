"""Ray's own autoscaler over worker nodes on this machine.

The node provider is Ray's ``fake_multinode`` (the one Ray's autoscaler tests use), with each node's runtime
environments kept apart (``rayplane.cluster.provider``): each "node" is a real raylet with its own resources
and object store, launched and terminated by the autoscaler (v1; v2 needs a config file the wheel lacks). It
needs ``RAY_FAKE_CLUSTER=1`` in the environment of ``ray start``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rayplane.cluster.state import WorkerPool

HEAD_TYPE = "ray.head.default"
WORKER_TYPE = "rayplane.worker"


def autoscaler_env() -> dict[str, str]:
    # One-second update loop (Ray's default is 5 s) so nodes follow demand within seconds.
    return {"RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1"}


def autoscaler_config(pool: WorkerPool, head_cpus: float, gcs_address: str, nodes_dir: Path) -> dict[str, Any]:
    """The cluster config ``ray start --autoscaling-config`` reads, as data."""
    return {
        "cluster_name": "rayplane-local",
        "max_workers": pool.max,
        "provider": {
            "type": "external",
            "module": "rayplane.cluster.provider.LocalNodeProvider",
            # Worker nodes join this GCS (the provider's default is port 6379 on the node's IP).
            "gcs_address": gcs_address,
            "nodes_dir": str(nodes_dir),
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
        },
        "available_node_types": {
            HEAD_TYPE: {"resources": {"CPU": head_cpus}, "node_config": {}, "max_workers": 0},
            WORKER_TYPE: {
                "resources": {"CPU": pool.cpus, "object_store_memory": pool.object_store_mib * 1024 * 1024},
                "node_config": {},
                "min_workers": pool.min,
                "max_workers": pool.max,
            },
        },
        "head_node_type": HEAD_TYPE,
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": pool.idle_timeout_s / 60.0,
        # The rest is required by the config schema and unused by this provider.
        "auth": {},
        "docker": {},
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
    }
