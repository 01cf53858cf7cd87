"""Connecting to Ray: an embedded local cluster by default, or an existing one by address."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from rayplane.errors import ClusterError
from rayplane.serve.ingress import local_ingress_env


@dataclass(frozen=True)
class RayRuntime:
    address: str
    dashboard_url: str | None
    logs_dir: str | None
    embedded: bool
    cpus: float
    nodes: int


def connect(address: str | None = None, *, num_cpus: int | None = None) -> RayRuntime:
    """Attach to Ray, starting an embedded local cluster when ``address`` is None.

    A process already connected (tests, notebooks, a Ray job's driver) keeps its connection. Inside a Ray job
    RAY_ADDRESS is set, so the job's driver joins the cluster it was submitted to.
    """
    import ray

    embedded = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        embedded = address is None
        if embedded:
            # Before ray.init: the embedded Ray's processes inherit this process's environment.
            os.environ.update(local_ingress_env(os.environ))
        try:
            ray.init(
                # "local" always starts a fresh cluster, never one some other `ray start` left behind.
                address=address or "local",
                num_cpus=num_cpus if embedded else None,
                include_dashboard=True if embedded else None,
                dashboard_host="127.0.0.1",
                logging_level=logging.WARNING,
                log_to_driver=True,
            )
        except Exception as exc:  # ray.init raises bare Exception for a node that never came up
            what = f"connect to Ray at {address!r}" if address else "start an embedded Ray"
            raise ClusterError(f"cannot {what}: {type(exc).__name__}: {exc}") from exc
    context = ray.get_runtime_context()
    node = ray._private.worker.global_worker.node
    dashboard = ray._private.worker.get_dashboard_url() or None
    return RayRuntime(
        address=context.gcs_address,
        dashboard_url=f"http://{dashboard}" if dashboard and "://" not in dashboard else dashboard,
        logs_dir=node.get_logs_dir_path() if node else None,
        embedded=embedded,
        cpus=float(ray.cluster_resources().get("CPU", 0.0)),
        nodes=sum(1 for n in ray.nodes() if n.get("Alive")),
    )
