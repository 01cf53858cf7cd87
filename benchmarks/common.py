"""What every benchmark shares: the run context, the synthetic workload, a private Ray, JSON results."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.sizes import Size

REPO = Path(__file__).resolve().parents[1]
SYNTHETIC = REPO / "workloads" / "synthetic" / "workload.yaml"


@dataclass(frozen=True)
class Context:
    size: Size
    out_dir: Path     # JSON results
    work_dir: Path    # generated data, runs and models (kept between runs: data is generated once per size)
    serve_port: int | None = None  # fixed by the caller when Serve may already run (tests); else a free port


def synthetic_spec(ctx: Context, rows: int, **changes: Any):
    """The synthetic workload at ``rows`` rows, its data generated once under the work dir."""
    import rayplane
    from rayplane.data import ensure_data
    from rayplane.spec import override

    spec = override(rayplane.load_spec(SYNTHETIC), {
        "data.path": str(ctx.work_dir / "data" / f"synthetic-{rows}"),
        "data.prepare.rows": rows,
        "storage.root": str(ctx.work_dir / "home"),
        **changes,
    })
    ensure_data(spec)
    return spec


def encode_in_memory(spec):
    """(preprocessor, train, validation) of the whole dataset read by pyarrow into one process: the plain
    baselines' data, encoded by rayplane's own preprocessing so both sides learn from the same numbers."""
    import pyarrow.dataset as pads

    from rayplane.data.ingest import find_files
    from rayplane.data.prepare import encode_split
    from rayplane.data.preprocess import Preprocessor
    from rayplane.data.split import SplitRule
    from rayplane.data.stats import summarize_frame

    columns = [*spec.data.features.all, spec.data.label]
    frame = pads.dataset(find_files(spec.data_path).files, format="parquet").to_table(columns=columns).to_pandas()
    split = SplitRule(spec.data)
    preprocessor = Preprocessor.from_summary(summarize_frame(frame, spec.data, split), spec.data)
    return (preprocessor, encode_split(frame, preprocessor, split, validation=False),
            encode_split(frame, preprocessor, split, validation=True))


@contextmanager
def ray_cluster(num_cpus: int | None = None) -> Iterator[None]:
    """A private local Ray for the benchmarks (kept as it is when this process is already connected)."""
    import ray

    from rayplane.serve.ingress import local_ingress_env

    if ray.is_initialized():
        yield
        return
    # A short private temp dir: no attaching to another cluster on the machine, socket paths under 107 bytes.
    temp_dir = tempfile.mkdtemp(prefix="rpb-", dir="/tmp")
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    os.environ.update(local_ingress_env(os.environ))  # as rayplane's embedded Ray
    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, _temp_dir=temp_dir,
             logging_level=logging.WARNING, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)


def figure(name: str, value: float, *, baseline: str, target: str | None, met: bool | None,
           unit: str = "x") -> dict[str, Any]:
    """One row of the results table: a ratio (or a reported value) against its baseline."""
    return {"figure": name, "value": value, "unit": unit, "baseline": baseline, "target": target, "met": met}


def machine() -> dict[str, Any]:
    import ray
    import torch

    return {
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "ray": ray.__version__,
        "platform": platform.platform(),
    }


def write_result(ctx: Context, name: str, figures: list[dict[str, Any]], measurements: dict[str, Any],
                 started: float, notes: list[str] | None = None) -> dict[str, Any]:
    result = {
        "benchmark": name,
        "size": ctx.size.name,
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.perf_counter() - started, 2),
        "machine": machine(),
        "figures": figures,
        "measurements": measurements,
        "notes": notes or [],
    }
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    path = ctx.out_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1, default=_plain))
    tmp.replace(path)
    return result


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def tree_pss_bytes(root_pid: int) -> int:
    """Proportional set size of a process and all its descendants (shared pages, e.g. the object store,
    counted once across processes rather than once per process as RSS would)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total


@dataclass
class PeakMemory:
    """Samples the PSS of a process tree in a background thread; ``peak`` is the largest sample."""

    root_pid: int
    interval_s: float = 0.5
    peak: int = 0
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_pss_bytes(self.root_pid))
            self.samples += 1
            if self._stop.wait(self.interval_s):
                return
