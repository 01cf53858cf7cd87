"""One ``rayplane.train`` of the synthetic workload on its own private Ray, for benchmarks that measure a
whole process (wall time, peak memory). Prints one JSON line: rows, wall_s, samples_per_s.

    python -m benchmarks.train_once --rows 100000 --epochs 1 --work-dir /tmp/rayplane-bench
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.common import Context, ray_cluster, synthetic_spec
from benchmarks.sizes import SIZES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--work-dir", type=Path, required=True)
    args = parser.parse_args()
    import rayplane

    ctx = Context(size=SIZES["tiny"], out_dir=args.work_dir, work_dir=args.work_dir)
    spec = synthetic_spec(ctx, args.rows, **{"train.epochs": args.epochs, "train.num_workers": {"min": 1, "max": 1}})
    with ray_cluster():
        started = time.perf_counter()
        result = rayplane.train(spec, run_name=f"bench-scaling-{args.rows}-{time.time_ns()}")
        wall = time.perf_counter() - started
    print(json.dumps({"rows": args.rows, "wall_s": wall, "samples_per_s": result.metrics["samples_per_s"],
                      "cached": result.version.metadata["data"].get("cached", False)}))


if __name__ == "__main__":
    main()
