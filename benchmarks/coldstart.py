"""Cold start: from launching ``rayplane run SPEC`` to the first training step, against the time
``python -c "import ray; ray.init()"`` takes (start and stop an embedded Ray, nothing else).

The first step is seen through the workload's own extension point: the spec's ``model.code`` wraps the
built-in MLP and creates a marker file on its first forward pass, inside the training loop. The run is then
stopped (its process group, which this benchmark started). Both commands get a private Ray temp dir.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import Context, figure, synthetic_spec, write_result

NAME = "coldstart"
ROWS = 20_000
MARKER_MODEL = '''
from pathlib import Path

from torch import nn

from rayplane.modeling.mlp import build_model as mlp


class Marked(nn.Module):
    def __init__(self, net, marker):
        super().__init__()
        self.net, self.marker = net, marker

    def forward(self, x):
        if self.training and self.marker:
            Path(self.marker).touch()
            self.marker = None
        return self.net(x)


def build_model(input_dim, output_dim, marker="", **params):
    return Marked(mlp(input_dim, output_dim, **params), marker)
'''


def run(ctx: Context) -> dict[str, Any]:
    started = time.perf_counter()
    base = synthetic_spec(ctx, ROWS)
    rayplane_s, ray_s = [], []
    for _ in range(ctx.size.coldstart_repeats):
        ray_s.append(_time_plain_ray())
        rayplane_s.append(_time_to_first_step(ctx, base))
    ours, plain = statistics.median(rayplane_s), statistics.median(ray_s)
    figures = [figure("cold start: `rayplane run` to first training step", ours / plain,
                      baseline='`python -c "import ray; ray.init()"`', target=None, met=None)]
    measurements = {"rayplane_run_to_first_step_s": rayplane_s, "import_ray_init_s": ray_s, "rows": ROWS}
    return write_result(ctx, NAME, figures, measurements, started)


def _env(temp_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return {**env, "RAY_TMPDIR": temp_dir, "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}


def _time_plain_ray() -> float:
    with tempfile.TemporaryDirectory(prefix="rpb-", dir="/tmp") as temp_dir:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import ray; ray.init()"], env=_env(temp_dir), check=True,
                       capture_output=True, timeout=300)
        return time.perf_counter() - started


def _time_to_first_step(ctx: Context, base, timeout_s: float = 600.0) -> float:
    work = Path(tempfile.mkdtemp(prefix="coldstart-", dir=ctx.work_dir))
    marker = work / "first-step"
    (work / "model.py").write_text(MARKER_MODEL)
    spec = base.model_dump(mode="json", exclude_unset=True)
    spec["model"] = {"code": str(work / "model.py"), "params": {**base.model.params, "marker": str(marker)}}
    spec["tune"] = {**spec.get("tune", {}), "search_space": {}}
    spec["train"] = {**spec.get("train", {}), "epochs": 1, "num_workers": {"min": 1, "max": 1}}
    (work / "workload.yaml").write_text(yaml.safe_dump(spec))
    rayplane_cli = Path(sys.executable).with_name("rayplane")
    with tempfile.TemporaryDirectory(prefix="rpb-", dir="/tmp") as temp_dir:
        started = time.perf_counter()
        run = subprocess.Popen([str(rayplane_cli), "run", str(work / "workload.yaml"), "--no-serve"],
                               env=_env(temp_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
        try:
            while not marker.exists():
                if run.poll() is not None:
                    raise RuntimeError(f"rayplane run exited with {run.returncode} before its first training step")
                if time.perf_counter() - started > timeout_s:
                    raise TimeoutError(f"no training step within {timeout_s:.0f} s")
                time.sleep(0.05)
            return time.perf_counter() - started
        finally:
            _stop(run)


def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C the run's process group (it lets Ray shut down), then kill what is left of it."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
