"""A real multi-node Ray cluster on this machine: ``ray start --head`` plus autoscaled worker nodes.

Everything it needs lives in one state directory (``rayplane.cluster.state``); ``down`` stops exactly the
processes ``up`` started, found by the tag they inherit (``rayplane.cluster.processes``), never `ray stop`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rayplane.cluster.auth import ensure_token, server_env
from rayplane.cluster.autoscale import autoscaler_config, autoscaler_env
from rayplane.cluster.client import ClusterClient, Connection
from rayplane.cluster.processes import MARKER_ENV, Proc, cluster_processes, terminate
from rayplane.cluster.state import ClusterRecord, StateDir, WorkerPool
from rayplane.errors import ClusterError
from rayplane.serve.ingress import local_ingress_env

LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Ray's unix sockets live under its temp dir and must stay below 107 bytes; the session dir adds ~65.
MAX_TEMP_DIR_LEN = 40


@dataclass(frozen=True)
class ClusterOptions:
    host: str = "127.0.0.1"
    dashboard_port: int = 8265
    port: int | None = None  # the GCS; a free port when None
    metrics_port: int | None = None  # Prometheus export on the head; a free port when None
    num_cpus: int | None = None  # head CPUs; the machine's when None
    object_store_mib: int | None = None  # head object store; Ray's default when None
    workers: WorkerPool = field(default_factory=WorkerPool)
    start_timeout_s: float = 120.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _check_port_free(host: str, port: int, flag: str) -> None:
    with socket.socket() as s:
        # As the servers themselves do: a port in TIME_WAIT from a cluster that just stopped is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise ClusterError(f"{flag} {port}: port already in use on {host} (another Ray cluster?); "
                               f"choose another with {flag}") from None


class LocalCluster:
    def __init__(self, state_dir: str | Path | None = None):
        self.state = StateDir(state_dir)

    def record(self) -> ClusterRecord | None:
        return self.state.load()

    def processes(self, record: ClusterRecord | None = None) -> list[Proc]:
        record = record or self.record()
        return cluster_processes(record.cluster_id) if record else []

    def client_env(self, record: ClusterRecord) -> dict[str, str]:
        """What a driver or Ray's own CLI needs in its environment to use this cluster directly."""
        env = {"RAY_ADDRESS": record.gcs_address, "RAY_API_SERVER_ADDRESS": record.dashboard_url,
               **server_env(self.state.token_file)}
        if record.host in LOOPBACK:
            # Else Ray turns 127.0.0.1 into the machine's IP, where nothing of this cluster listens.
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        return env

    def connection(self, record: ClusterRecord) -> Connection:
        return Connection(record.dashboard_url, ensure_token(self.state.token_file), str(self.state.token_file))

    # -- up ----------------------------------------------------------------------------------------------------

    def up(self, options: ClusterOptions) -> ClusterRecord:
        """Start the head (and ``workers.min`` worker nodes) and wait until all of them are healthy."""
        existing = self.record()
        if existing is not None:
            if self.processes(existing):
                raise ClusterError(f"a cluster from {self.state.root} is already running (dashboard "
                                   f"{existing.dashboard_url}); stop it with `rayplane cluster down`")
            self.state.clear()
        self._check(options)
        self.state.root.mkdir(parents=True, exist_ok=True)
        ensure_token(self.state.token_file)
        url_host = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
        record = ClusterRecord(
            cluster_id=uuid.uuid4().hex,
            python=sys.executable,
            host=options.host,
            gcs_address=f"{url_host}:{options.port or free_port()}",
            dashboard_url=f"http://{url_host}:{options.dashboard_port}",
            metrics_port=options.metrics_port or free_port(),
            ray_temp_dir=self._temp_dir(),
            head_cpus=float(options.num_cpus if options.num_cpus is not None else os.cpu_count() or 1),
            workers=options.workers,
            started_at=time.time(),
        )
        try:
            self._start_head(record, options)
            self._wait_healthy(record, deadline=time.monotonic() + options.start_timeout_s)
        except BaseException:
            terminate(self.processes(record), grace_s=2.0)
            raise
        self.state.save(record)
        return record

    def _check(self, options: ClusterOptions) -> None:
        pool = options.workers
        if pool.min < 0 or pool.max < pool.min:
            raise ClusterError(f"worker nodes: need 0 <= min ({pool.min}) <= max ({pool.max})")
        if pool.cpus < 1 or pool.cpus != int(pool.cpus):
            # The autoscaler refuses fractional node resources and would retry the launch forever.
            raise ClusterError(f"--worker-cpus must be a whole number of CPUs (>= 1), got {pool.cpus:g}")
        if options.num_cpus is not None and options.num_cpus < 0:
            raise ClusterError(f"--num-cpus must be >= 0, got {options.num_cpus}")
        for flag, port in (("--dashboard-port", options.dashboard_port), ("--port", options.port),
                           ("--metrics-port", options.metrics_port)):
            if port is not None:
                if not 1024 <= port <= 65535:
                    raise ClusterError(f"{flag} {port}: expected a port in 1024..65535")
                _check_port_free(options.host, port, flag)

    def _temp_dir(self) -> str:
        link = self.state.ray_link
        if link.is_symlink() and link.resolve().is_dir():
            return str(link.resolve())
        if len(str(link)) <= MAX_TEMP_DIR_LEN:
            link.mkdir(exist_ok=True)
            return str(link)
        target = tempfile.mkdtemp(prefix="rayplane-", dir="/tmp")
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        return target

    def _start_head(self, record: ClusterRecord, options: ClusterOptions) -> None:
        gcs_port = record.gcs_address.rsplit(":", 1)[1]
        command = [
            sys.executable, "-m", "ray.scripts.scripts", "start", "--head",
            "--port", gcs_port,
            "--dashboard-host", options.host,
            "--dashboard-port", str(options.dashboard_port),
            "--metrics-export-port", str(record.metrics_port),
            # Ray's fixed defaults (10001, 52365) would collide with any other cluster on the machine.
            "--ray-client-server-port", str(free_port()),
            "--dashboard-agent-listen-port", str(free_port()),
            "--temp-dir", record.ray_temp_dir,
            "--num-cpus", str(int(record.head_cpus)),
            "--disable-usage-stats",
        ]
        if options.object_store_mib:
            command += ["--object-store-memory", str(options.object_store_mib * 1024 * 1024)]
        env = {**os.environ, **local_ingress_env(os.environ), **server_env(self.state.token_file),
               MARKER_ENV: record.cluster_id,
               # The dashboard's and the autoscaler's own metrics also default to fixed ports (44227, 44217).
               "DASHBOARD_METRIC_PORT": str(free_port()), "AUTOSCALER_METRIC_PORT": str(free_port())}
        for inherited in ("RAY_AUTH_TOKEN", "RAY_ADDRESS"):  # would override this cluster's token / address
            env.pop(inherited, None)
        if options.host in LOOPBACK:
            # Ray turns a loopback --node-ip-address into the machine's IP, and then its gRPC servers listen on
            # every interface; with this off it keeps 127.0.0.1 and they listen on loopback only.
            env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
            command += ["--node-ip-address", "127.0.0.1"]
        if record.workers.max > 0:
            self.state.autoscaler_config.write_text(
                json.dumps(autoscaler_config(record.workers, record.head_cpus, record.gcs_address,
                                             self.state.nodes_dir), indent=2))
            command += ["--autoscaling-config", str(self.state.autoscaler_config)]
            env.update(autoscaler_env())
        with open(self.state.start_log, "w") as log:
            try:
                done = subprocess.run(command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      start_new_session=True, timeout=options.start_timeout_s)
            except subprocess.TimeoutExpired:
                raise ClusterError(f"`ray start` did not finish within {options.start_timeout_s:g} s; "
                                   f"see {self.state.start_log}") from None
        if done.returncode != 0:
            raise ClusterError(f"`ray start` failed (exit {done.returncode}): {self._log_tail()}; "
                               f"full log: {self.state.start_log}")

    def _log_tail(self, lines: int = 3) -> str:
        text = self.state.start_log.read_text(errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def _wait_healthy(self, record: ClusterRecord, deadline: float) -> None:
        client = ClusterClient(self.connection(record), timeout_s=5.0)
        want = 1 + record.workers.min
        alive = 0
        while time.monotonic() < deadline:
            try:
                alive = len(alive_nodes(client))
                if alive >= want:
                    return
            except ClusterError:
                pass  # the dashboard is still starting
            time.sleep(0.5)
        raise ClusterError(f"the cluster did not become healthy in time ({alive}/{want} node(s) up); "
                           f"logs: {self.state.logs_dir}")

    # -- down --------------------------------------------------------------------------------------------------

    def down(self, grace_s: float = 5.0) -> int | None:
        """Stop every process of the cluster; None when no cluster was started from this state directory."""
        record = self.record()
        if record is None:
            return None
        stopped = 0
        # A second look: the autoscaler may have been launching a node while the first round stopped it.
        for _ in range(3):
            procs = self.processes(record)
            if not procs:
                break
            stopped += terminate(procs, grace_s=grace_s)
        self.state.clear()
        return stopped


def alive_nodes(client: ClusterClient) -> list[dict]:
    nodes = client.get_json("/api/v0/nodes", limit=1000, detail=1)["data"]["result"]["result"]
    return [n for n in nodes if n.get("state") == "ALIVE"]
