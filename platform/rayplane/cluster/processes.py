"""Find and stop exactly the processes of one local cluster.

`ray stop` would stop every Ray cluster on the machine, so rayplane tags the cluster it starts: ``ray start``
runs with ``RAYPLANE_CLUSTER_ID=<id>`` in its environment, which Ray's daemons (GCS, raylets, dashboard,
autoscaler and the worker nodes it launches) inherit. Ray's workers and agents rewrite their environment
block for their process titles, so those are found as descendants of a tagged process instead.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

MARKER_ENV = "RAYPLANE_CLUSTER_ID"
PROC = Path("/proc")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start_ticks: int  # with the pid, identifies the process even if the pid is reused later
    tagged: bool


def _read(pid: int, marker: bytes) -> Proc | None:
    try:
        stat = (PROC / str(pid) / "stat").read_bytes()
        environ = (PROC / str(pid) / "environ").read_bytes()
    except OSError:  # gone, or another user's process
        return None
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return None
    return Proc(pid=pid, ppid=int(fields[1]), start_ticks=int(fields[19]), tagged=marker in environ.split(b"\0"))


def cluster_processes(cluster_id: str) -> list[Proc]:
    """Every live process of the cluster tagged ``cluster_id``: the tagged ones and all their descendants."""
    marker = f"{MARKER_ENV}={cluster_id}".encode()
    procs = [p for p in (_read(int(d), marker) for d in os.listdir(PROC) if d.isdigit()) if p is not None]
    ours = {p.pid for p in procs if p.tagged}
    children: dict[int, list[int]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p.pid)
    stack = list(ours)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in ours:
                ours.add(child)
                stack.append(child)
    return [p for p in procs if p.pid in ours]


def _alive(proc: Proc) -> bool:
    now = _read(proc.pid, b"")
    return now is not None and now.start_ticks == proc.start_ticks


def terminate(procs: list[Proc], grace_s: float = 5.0) -> int:
    """SIGTERM all of ``procs`` at once, SIGKILL whatever is left after ``grace_s``; returns how many were killed.

    All at once, because a worker whose raylet died first is re-parented and could no longer be told apart.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in procs:
            if _alive(proc):
                try:
                    os.kill(proc.pid, sig)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + (grace_s if sig == signal.SIGTERM else 5.0)
        while time.monotonic() < deadline and any(_alive(p) for p in procs):
            time.sleep(0.1)
    return sum(1 for p in procs if not _alive(p))
