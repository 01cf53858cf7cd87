"""One line of state per RayJob or RayService, read from the status KubeRay writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    kind: str
    name: str
    state: str
    detail: str


def summarize(obj: dict[str, Any]) -> Row:
    kind, name = obj["kind"], obj["metadata"]["name"]
    status = obj.get("status") or {}
    if kind == "RayJob":
        return Row(kind, name, *_rayjob(status))
    return Row(kind, name, *_rayservice(status))


def _rayjob(status: dict[str, Any]) -> tuple[str, str]:
    if not status:
        return "Pending", "not picked up by the KubeRay operator yet"
    state = status.get("jobDeploymentStatus") or "Pending"
    parts = [f"job {status['jobStatus']}" if status.get("jobStatus") else "",
             f"cluster {status['rayClusterName']}" if status.get("rayClusterName") else "",
             status.get("message", "")]
    return state, "; ".join(p for p in parts if p)


def _rayservice(status: dict[str, Any]) -> tuple[str, str]:
    if not status:
        return "Pending", "not picked up by the KubeRay operator yet"
    ready = next((c for c in status.get("conditions", []) if c.get("type") == "Ready"), None)
    if ready is None:
        state = "Pending"
    else:
        state = "Ready" if ready.get("status") == "True" else f"NotReady ({ready.get('reason', 'unknown')})"
    active = status.get("activeServiceStatus") or {}
    apps = active.get("applicationStatuses") or {}
    parts = [f"cluster {active['rayClusterName']}" if active.get("rayClusterName") else "",
             ", ".join(f"{app} {info.get('status', '?')}" for app, info in sorted(apps.items())),
             f"{status['numServeEndpoints']} serve endpoint(s)" if "numServeEndpoints" in status else ""]
    pending = (status.get("pendingServiceStatus") or {}).get("rayClusterName")
    if pending:
        parts.append(f"upgrading to {pending}")
    return state, "; ".join(p for p in parts if p)
