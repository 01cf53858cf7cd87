"""What a cluster is doing, read from its own APIs: nodes, resources, jobs, Serve applications.

Sources: the state API (``/api/v0/nodes``), the autoscaler's report (``/api/cluster_status``: used and total
resources, pending demand), the Jobs API, and Serve's REST API (``/api/serve/applications/``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from rayplane.cluster.client import ClusterClient

SHOWN_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory")
BYTES = ("memory", "object_store_memory")
ACTIVE_JOB_STATES = ("PENDING", "RUNNING")


@dataclass(frozen=True)
class Node:
    node_id: str
    kind: str  # head | worker
    state: str
    ip: str
    resources: dict[str, float]


@dataclass(frozen=True)
class Job:
    job_id: str
    status: str
    workload: str | None
    entrypoint: str


@dataclass(frozen=True)
class ServeApp:
    name: str
    status: str
    route_prefix: str | None
    replicas: dict[str, dict[str, int]]  # deployment -> replica state -> count
    message: str = ""


@dataclass
class ClusterStatus:
    address: str
    nodes: list[Node] = field(default_factory=list)
    usage: dict[str, tuple[float | None, float]] = field(default_factory=dict)  # resource -> (used, total)
    pending: list[dict[str, float]] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    serve: list[ServeApp] = field(default_factory=list)

    @property
    def alive_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.state == "ALIVE"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect(client: ClusterClient, all_jobs: bool = False) -> ClusterStatus:
    status = ClusterStatus(address=client.url)
    raw_nodes = client.get_json("/api/v0/nodes", limit=1000, detail=1)["data"]["result"]["result"]
    status.nodes = [
        Node(node_id=n["node_id"], kind="head" if n.get("is_head_node") else "worker", state=n["state"],
             ip=n.get("node_ip", ""), resources={k: v for k, v in n.get("resources_total", {}).items()
                                                 if k in SHOWN_RESOURCES})
        for n in raw_nodes
    ]
    report = client.get_json("/api/cluster_status", format=0).get("data", {}).get("clusterStatus") or {}
    load = report.get("loadMetricsReport") or {}
    usage = load.get("usage") or {}
    status.usage = {_resource_name(k): (float(v[0]), float(v[1])) for k, v in usage.items()
                    if _resource_name(k) in SHOWN_RESOURCES}
    if not status.usage:  # no autoscaler report (a head started with --no-monitor): totals only
        for node in status.alive_nodes:
            for key, value in node.resources.items():
                status.usage[key] = (None, status.usage.get(key, (None, 0.0))[1] + value)
    status.pending = [demand[0] for demand in load.get("resourceDemand") or []]
    status.jobs = [
        Job(job_id=j.submission_id or j.job_id, status=str(j.status),
            workload=(j.metadata or {}).get("rayplane_workload"), entrypoint=j.entrypoint or "")
        for j in client.jobs.list_jobs()
        if all_jobs or str(j.status) in ACTIVE_JOB_STATES
    ]
    serve = client.get_json("/api/serve/applications/")
    status.serve = [_serve_app(name, app) for name, app in (serve.get("applications") or {}).items()]
    return status


def _resource_name(key: str) -> str:
    # The autoscaler reports camelCase through the dashboard.
    return {"objectStoreMemory": "object_store_memory"}.get(key, key)


def _serve_app(name: str, app: dict[str, Any]) -> ServeApp:
    replicas: dict[str, dict[str, int]] = {}
    for dep_name, dep in (app.get("deployments") or {}).items():
        counts: dict[str, int] = {}
        for replica in dep.get("replicas") or []:
            counts[replica.get("state", "UNKNOWN")] = counts.get(replica.get("state", "UNKNOWN"), 0) + 1
        replicas[dep_name] = counts
    return ServeApp(name=name, status=app.get("status", "UNKNOWN"), route_prefix=app.get("route_prefix"),
                    replicas=replicas, message=app.get("message") or "")


def render(status: ClusterStatus) -> list[str]:
    """Plain lines for the terminal."""
    alive = status.alive_nodes
    lines = [f"cluster {status.address}: {len(alive)} node(s) alive"
             + (f", {len(status.nodes) - len(alive)} gone" if len(status.nodes) > len(alive) else "")]
    for node in alive:
        lines.append(f"  {node.kind:<7}{node.node_id}  {node.ip}  " + ", ".join(
            _amount(k, node.resources[k]) for k in SHOWN_RESOURCES if k in node.resources))
    lines.append("resources (used / total): " + ", ".join(
        f"{k} {_amount(k, status.usage[k][0], bare=True)} / {_amount(k, status.usage[k][1], bare=True)}"
        for k in SHOWN_RESOURCES if k in status.usage))
    if status.pending:
        lines.append("pending demand: " + "; ".join(", ".join(f"{k} {v:g}" for k, v in d.items()) for d in status.pending))
    lines.append(f"jobs: {len(status.jobs) or 'none running'}")
    for job in status.jobs:
        lines.append(f"  {job.job_id}  {job.status:<9} {job.workload or '-':<16} {job.entrypoint}")
    lines.append(f"serve applications: {len(status.serve) or 'none'}")
    for app in status.serve:
        replicas = "; ".join(f"{dep}: " + (", ".join(f"{n} {state}" for state, n in counts.items()) or "0 replicas")
                             for dep, counts in app.replicas.items())
        lines.append(f"  {app.name}  {app.status}  {app.route_prefix or '-'}  {replicas}"
                     + (f"  ({app.message})" if app.message and app.status != "RUNNING" else ""))
    return lines


def _amount(key: str, value: float | None, bare: bool = False) -> str:
    if value is None:
        return "?"
    text = f"{value / 2**30:.1f} GiB" if key in BYTES else f"{value:g}"
    return text if bare else f"{key} {text}"
