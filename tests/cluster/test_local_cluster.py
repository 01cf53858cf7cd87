"""The local cluster: up/status/down through the CLI, token auth enforced, nothing listening beyond loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from cluster.cluster_helpers import rayplane
from tests_helpers import wait_for


def _listening(pids: set[int]) -> list[str]:
    """The TCP addresses the given processes listen on, from /proc (no `ss` needed)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    addresses = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0])
            # /proc prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            addresses.append(socket.inet_ntop(family, packed))
    return addresses


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


def test_status_describes_the_running_cluster(cluster):
    result = cluster.cli("cluster", "status")
    assert result.returncode == 0, result.stderr
    assert cluster.url in result.stdout
    assert "1 alive: head (2 CPU)" in result.stdout
    assert str(cluster.state_dir / "auth_token") in result.stdout


def test_nothing_listens_beyond_loopback(cluster):
    addresses = _listening({p.pid for p in cluster.processes()})
    assert len(addresses) >= 5, addresses  # GCS, raylet, dashboard, agents, metrics
    assert all(_is_loopback(a) for a in addresses), sorted(set(addresses))


def test_metrics_are_exported_for_prometheus(cluster):
    text = requests.get(f"http://127.0.0.1:{cluster.record.metrics_port}/metrics", timeout=10).text
    assert "ray_node_cpu_count" in text or "ray_node_cpu_utilization" in text
    # The dashboard refreshes its service discovery every few seconds.
    head = f"127.0.0.1:{cluster.record.metrics_port}"
    wait_for(lambda: head in cluster.client().get_json("/api/prometheus/sd")[0]["targets"], timeout=60,
             what="the head's metrics endpoint in Prometheus service discovery", interval=1)


def test_a_request_without_the_token_is_refused(cluster, tmp_path):
    assert requests.get(f"{cluster.url}/api/jobs/", timeout=10).status_code == 401
    wrong = requests.get(f"{cluster.url}/api/jobs/", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403
    right = requests.get(f"{cluster.url}/api/jobs/", headers={"Authorization": f"Bearer {cluster.token}"},
                         timeout=10)
    assert right.status_code == 200

    # The CLI with no token at all (no local cluster state, no RAY_AUTH_TOKEN, an empty HOME)...
    no_token = rayplane("jobs", "list", "--address", cluster.url, state_dir=tmp_path / "none",
                        env={"HOME": str(tmp_path)}, drop_env=("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"), timeout=60)
    assert no_token.returncode == 1
    assert "requires a Ray auth token" in no_token.stderr
    # ... and with the wrong one.
    (tmp_path / "wrong").write_text("not-the-token\n")
    wrong_token = cluster.cli("status", "--token-file", str(tmp_path / "wrong"), timeout=60)
    assert wrong_token.returncode == 1
    assert "rejected the auth token" in wrong_token.stderr


def test_drivers_join_with_cluster_env_and_only_with_the_token(cluster, tmp_path):
    exported = cluster.cli("cluster", "env")
    assert exported.returncode == 0, exported.stderr
    env = dict(line.removeprefix("export ").split("=", 1) for line in exported.stdout.splitlines())
    assert env["RAY_ADDRESS"] == cluster.record.gcs_address and env["RAY_AUTH_MODE"] == "token"
    base = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")} | {"HOME": str(tmp_path)}
    driver = [sys.executable, "-c", "import ray; ray.init(); print('CPUs', ray.cluster_resources()['CPU'])"]

    joined = subprocess.run(driver, env=base | env, capture_output=True, text=True, timeout=120)
    assert joined.returncode == 0, joined.stderr[-2000:]
    assert "CPUs 2.0" in joined.stdout
    # Ray's gRPC side refuses a driver with the wrong token just as the dashboard refuses a request.
    refused = subprocess.run(driver, env=base | env | {"RAY_AUTH_TOKEN": "not-the-token"}, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode != 0 and "CPUs" not in refused.stdout


def test_a_second_up_on_the_same_state_dir_is_refused(cluster):
    again = cluster.cli("cluster", "up", "--dashboard-port", "0", timeout=60)
    assert again.returncode == 1
    assert "already running" in again.stderr


@pytest.mark.parametrize("args, message", [
    (("--workers", "1", "--autoscale"), "--workers starts a fixed pool"),
    (("--max-workers", "2"), "need --autoscale"),
    (("--autoscale", "--min-workers", "3", "--max-workers", "1"), "min (3) <= max (1)"),
    (("--workers", "1", "--worker-cpus", "1.5"), "whole number of CPUs"),
])
def test_bad_worker_options_are_rejected(tmp_path, args, message):
    result = rayplane("cluster", "up", *args, state_dir=tmp_path, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr
    assert not (tmp_path / "state.json").exists()
