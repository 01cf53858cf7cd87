"""Wall time and peak memory of ``rayplane.train`` at three data sizes (the largest 10x the smallest).

Each size runs in a fresh process with its own Ray, so nothing is warm; peak memory is the largest sampled
proportional set size (PSS) of that process and everything it started (Ray's workers, the object store's
pages counted once). The data is generated before timing. Linear growth means a straight line through the
three wall times: the slope (seconds per million rows) and R² are reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

from benchmarks.common import REPO, Context, PeakMemory, figure, synthetic_spec, write_result

NAME = "scaling"
EPOCHS = 1


def run(ctx: Context) -> dict[str, Any]:
    started = time.perf_counter()
    points = []
    for rows in ctx.size.scaling_rows:
        synthetic_spec(ctx, rows)  # generate outside the timed process
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.train_once", "--rows", str(rows), "--epochs", str(EPOCHS),
             "--work-dir", str(ctx.work_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        with PeakMemory(child.pid) as memory:
            out, _ = child.communicate(timeout=3600)
        if child.returncode != 0:
            raise RuntimeError(f"benchmarks.train_once --rows {rows} exited with {child.returncode}")
        point = json.loads(out.strip().splitlines()[-1])
        points.append({**point, "peak_pss_bytes": memory.peak, "memory_samples": memory.samples})
    rows = np.array([p["rows"] for p in points], dtype=float)
    wall = np.array([p["wall_s"] for p in points])
    slope, intercept = np.polyfit(rows / 1e6, wall, 1)
    fitted = slope * rows / 1e6 + intercept
    r2 = 1.0 - float(((wall - fitted) ** 2).sum() / max(((wall - wall.mean()) ** 2).sum(), 1e-12))
    small, large = points[0], points[-1]
    growth = large["rows"] / small["rows"]
    memory_ratio = large["peak_pss_bytes"] / small["peak_pss_bytes"]
    figures = [
        figure(f"peak memory when rows grow {growth:g}x", memory_ratio, baseline=f"the {small['rows']:,}-row run",
               target="<= 1.2", met=memory_ratio <= 1.2),
        figure("wall time slope", float(slope), unit="s per 1M rows", baseline=f"linear fit over 3 sizes, "
               f"R²={r2:.3f}, intercept {intercept:.1f} s", target=None, met=None),
    ]
    measurements = {"epochs": EPOCHS, "points": points, "slope_s_per_million_rows": float(slope),
                    "intercept_s": float(intercept), "r2": r2}
    return write_result(ctx, NAME, figures, measurements, started)
