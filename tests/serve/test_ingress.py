"""Serve's HAProxy ingress: on for the Ray clusters rayplane starts, unless the user turns it off."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rayplane.serve.ingress import DRAIN_FLAG, HAPROXY_FLAG, local_ingress_env


def haproxy_configs() -> list[str]:
    """The config file of every HAProxy running on this machine."""
    configs = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if Path(argv[0]).name == "haproxy" and "-f" in argv:
            configs.append(argv[argv.index("-f") + 1])
    return configs


def test_the_endpoint_answers_through_haproxy(endpoint, http, ray_session):
    from ray.util.state import list_actors

    managers = list_actors(filters=[("class_name", "=", "HAProxyManager"), ("state", "=", "ALIVE")])
    assert managers, "Serve runs without its HAProxy ingress"
    # Ray keeps HAProxy's files per node: this cluster's own HAProxy runs, whatever else runs on the machine.
    node = ray_session.get_runtime_context().get_node_id()
    assert any(Path(config).parent.name == node for config in haproxy_configs()), haproxy_configs()
    response = http.post(endpoint.predict_url, content=b'{"distance": "far"}')
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "distance"]


def test_haproxy_is_on_by_default_and_the_users_choice_is_kept():
    assert local_ingress_env({}) == {HAPROXY_FLAG: "1", DRAIN_FLAG: "1"}
    assert local_ingress_env({HAPROXY_FLAG: "0", DRAIN_FLAG: "30"}) == {HAPROXY_FLAG: "0", DRAIN_FLAG: "30"}


def test_the_embedded_ray_starts_its_processes_with_haproxy_on():
    # A fresh process: the embedded Ray is the one `rayplane run SPEC` starts when given no address.
    script = """
import os, ray
from rayplane.runtime import connect
connect(num_cpus=1)
print(ray.get(ray.remote(num_cpus=0)(lambda: os.environ.get("RAY_SERVE_ENABLE_HA_PROXY")).remote()))
"""
    env = {k: v for k, v in os.environ.items() if k not in (HAPROXY_FLAG, DRAIN_FLAG, "RAY_ADDRESS")}
    # A short private temp dir: Ray's socket paths stay under 107 bytes, and no other cluster is joined.
    with tempfile.TemporaryDirectory(prefix="rp-", dir="/tmp") as temp_dir:
        done = subprocess.run([sys.executable, "-c", script], env={**env, "RAY_TMPDIR": temp_dir},
                              capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "1", done.stdout
