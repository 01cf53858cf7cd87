"""`rayplane serve`: a missing version is one line and exit 1; a real run serves until Ctrl-C."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import httpx
import pytest
from ray import serve

from tests_helpers import free_port, interrupted_cli

CLI = [sys.executable, "-m", "rayplane.cli.main", "serve"]
PRINTED = re.compile(r"^(endpoint|docs|dashboard|try it) +(.+)$")


def test_a_missing_version_is_one_line_and_exit_1(served_model):
    out = subprocess.run([*CLI, str(served_model.spec_path), "--version", "9"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 1
    assert out.stdout == ""
    [line] = out.stderr.strip().splitlines()
    assert line.startswith("error: model 'serve_demo' has no version 9") and "(versions: 1)" in line


def test_a_bad_port_is_a_usage_error(served_model):
    out = subprocess.run([*CLI, str(served_model.spec_path), "--port", "70000"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "70000" in out.stderr


@pytest.mark.slow
def test_a_port_in_use_is_one_error_line_and_leaves_no_serve_behind(served_model, ray_session):
    address = ray_session.get_runtime_context().gcs_address
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([*CLI, str(served_model.spec_path), "--address", address, "--port", str(port)],
                             capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    [error] = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert f"cannot start Serve's HTTP proxy on 127.0.0.1:{port}: the port is already in use" in error, error
    # Nothing is left behind, as the cluster itself reports it: no Serve controller or proxy actor (a controller
    # would pin the bad address, so the next test could not start Serve on another port), no application.
    serve_actors = [a for a in ray_session.util.list_named_actors(all_namespaces=True) if a["namespace"] == "serve"]
    assert serve_actors == [], serve_actors
    status = serve.status()
    assert (status.applications, status.proxies) == ({}, {}), status


@pytest.mark.slow
def test_serve_prints_a_working_endpoint_and_undeploys_on_ctrl_c(served_model, ray_session, tmp_path):
    port = free_port()
    address = ray_session.get_runtime_context().gcs_address
    with interrupted_cli("serve", str(served_model.spec_path), "--address", address, "--port", str(port),
                         stderr_path=tmp_path / "stderr.log") as (lines, ended):
        printed = {}
        while "try it" not in printed:
            label, value = PRINTED.match(lines.get(timeout=300)).groups()
            printed[label] = value
        predict_url = f"http://127.0.0.1:{port}/serve_demo/predict"
        assert printed["endpoint"] == predict_url
        assert printed["docs"] == f"http://127.0.0.1:{port}/serve_demo/docs"
        assert "dashboard" in printed
        curl = subprocess.run(printed["try it"], shell=True, capture_output=True, text=True, timeout=60)
        assert curl.returncode == 0, curl.stderr
        assert json.loads(curl.stdout)["model"] == {"name": "serve_demo", "version": 1}
    log = (tmp_path / "stderr.log").read_text()
    assert ended["code"] == 0, log
    assert "'serve_demo' undeployed" in log
    with pytest.raises(httpx.ConnectError):
        httpx.post(predict_url, json={})
