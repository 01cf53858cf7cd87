"""Endpoint req/s at 16 connections: rayplane's Ray Serve deployment (its defaults) vs plain FastAPI+uvicorn
serving the same model version through the same routes, each loaded by the same client on 127.0.0.1.

The model is the synthetic workload's MLP registered through rayplane's registry (untrained weights: the
work per request is the same). Each side gets a warm-up, then ``serve_seconds`` of closed-loop load from a
separate process (``benchmarks.loadgen``), capped at ``serve_requests`` requests.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import torch

from benchmarks.common import REPO, Context, encode_in_memory, figure, synthetic_spec, write_result

NAME = "serving"
CONNECTIONS = 16
WARMUP_S = 2.0


def run(ctx: Context) -> dict[str, Any]:
    from rayplane.serve import deploy

    started = time.perf_counter()
    port = ctx.serve_port or _free_port()
    spec = synthetic_spec(ctx, 20_000, **{"serve.port": port})
    version = register_untrained(spec)
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
        body_file = f.name
    try:
        plain = measure_plain(ctx, version, body_file)
        endpoint = deploy(spec, version)
        try:
            Path(body_file).write_bytes(json.dumps(endpoint.example).encode())
            ours = load(ctx, endpoint.predict_url, body_file)
        finally:
            endpoint.undeploy()
    finally:
        os.unlink(body_file)
    ratio = ours["req_per_s"] / plain["req_per_s"]
    p99_ok = ours["p99_ms"] <= plain["p99_ms"]
    figures = [
        figure(f"endpoint req/s at {CONNECTIONS} connections", ratio, baseline="plain FastAPI+uvicorn, same model",
               target=">= 1.0 at equal or better p99", met=ratio >= 1.0 and p99_ok),
        figure("endpoint p99 latency", ours["p99_ms"] / plain["p99_ms"], baseline="plain FastAPI+uvicorn p99",
               target="<= 1.0", met=p99_ok),
    ]
    settings = spec.serve.model_dump(mode="json")
    return write_result(ctx, NAME, figures, {"plain_uvicorn": plain, "rayplane": ours, "serve_settings": settings},
                        started)


def register_untrained(spec):
    """A registered version of the workload's MLP with freshly initialised weights."""
    from rayplane.data import PreparedData
    from rayplane.modeling.builder import build_model
    from rayplane.pipeline import register
    from rayplane.storage import Storage
    from rayplane.training import TrainOutcome
    from rayplane.training.loop import MODEL_FILE

    preprocessor, _, _ = encode_in_memory(spec)
    torch.manual_seed(0)
    model = build_model(None, preprocessor.input_dim, spec.data.output_dim, spec.model.params)
    # Where a training run would have left it: registering copies the weights from the run's checkpoint.
    checkpoint = Storage.for_spec(spec).run("benchmark-untrained") / "checkpoint"
    weights = io.BytesIO()
    torch.save(model.state_dict(), weights)
    (checkpoint / MODEL_FILE).write_bytes(weights.getvalue())
    data = PreparedData(None, None, preprocessor, [], {"rows": preprocessor.rows, "note": "benchmark"})
    outcome = TrainOutcome(metrics={}, checkpoint_path=checkpoint.path, params={}, run_name="benchmark-untrained")
    return register(spec, data, outcome)


def measure_plain(ctx: Context, version, body_file: str) -> dict[str, Any]:
    port = _free_port()
    env = {**os.environ, "RAYPLANE_BENCH_MODEL": version.location.uri, "PYTHONPATH": str(REPO)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "benchmarks.plain_server:app", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning"], cwd=REPO, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ok(f"{base}/healthz", server)
        example = httpx.get(f"{base}/openapi.json", timeout=10).json()
        body = example["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["example"]
        Path(body_file).write_bytes(json.dumps(body).encode())
        return load(ctx, f"{base}/predict", body_file)
    finally:
        server.terminate()
        server.wait(timeout=30)


def load(ctx: Context, url: str, body_file: str) -> dict[str, Any]:
    def generate(seconds: float, cap: int) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.loadgen", url, body_file, "--connections", str(CONNECTIONS),
             "--seconds", str(seconds), "--max-requests", str(cap)],
            cwd=REPO, capture_output=True, text=True, timeout=seconds + 120, check=True)
        return json.loads(out.stdout)

    generate(WARMUP_S, ctx.size.serve_requests)
    return generate(ctx.size.serve_seconds, ctx.size.serve_requests)


def _wait_ok(url: str, server: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the plain uvicorn server exited with {server.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"no answer from {url} within {timeout_s:.0f} s")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
