"""`rayplane run` as a user runs it: tune, register, print the summary, serve, and stop at the first Ctrl-C."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
import yaml

from tests_helpers import interrupted_cli

pytestmark = pytest.mark.slow


def test_run_prints_a_working_curl_and_stops_at_the_first_ctrl_c(ray_session, tiny_workload, serve_port, tmp_path):
    raw = yaml.safe_load(tiny_workload.read_text())
    raw["storage"]["root"] = str(tmp_path / "home")
    raw["serve"] = {"port": serve_port}
    spec_path = tmp_path / "workload.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    address = ray_session.get_runtime_context().gcs_address
    # Run on the session's Ray, and Ctrl-C once: Ray Tune's own Ctrl-C handler, still installed after the
    # search, must not swallow it.
    with interrupted_cli("run", str(spec_path), "--address", address, "--epochs", "1",
                         stderr_path=tmp_path / "stderr.log", timeout=90) as (lines, ended):
        printed = []
        while not printed or not printed[-1].startswith("curl "):
            printed.append(lines.get(timeout=420).strip())
        summary = "\n".join(printed)
        assert "vs baseline" in summary and "tiny:v1" in summary, summary
        assert f"http://127.0.0.1:{serve_port}/tiny/predict" in summary, summary
        curl = subprocess.run(printed[-1], shell=True, capture_output=True, text=True, timeout=60)
        assert curl.returncode == 0, curl.stderr
        assert json.loads(curl.stdout)["model"] == {"name": "tiny", "version": 1}
    assert ended["code"] == 0, (tmp_path / "stderr.log").read_text()[-3000:]
    try:
        status = httpx.post(f"http://127.0.0.1:{serve_port}/tiny/predict", json={}, timeout=30).status_code
    except httpx.TransportError:  # Serve itself stopped with the application that started it
        status = None
    assert status in (None, 404), f"the endpoint outlived `rayplane run` (HTTP {status})"
