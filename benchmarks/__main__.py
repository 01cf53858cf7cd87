"""``python -m benchmarks [NAME ...|all] --size tiny|quick|full``: run benchmarks, print the table.

``python -m benchmarks report`` only renders the table, charts and docs page from the JSON already written.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, Context, ray_cluster
from benchmarks.sizes import SIZES

# In the order they run; each module has NAME and run(ctx). Those that start their own processes (and
# clusters) need no Ray in this one.
IN_PROCESS = ("training", "ingest", "search", "serving", "batch")
OWN_PROCESSES = ("scaling", "coldstart")
BENCHMARKS = (*IN_PROCESS, *OWN_PROCESSES)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["all"], metavar="NAME",
                        help=f"all (default), report, or any of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the JSON results go (default: benchmarks/results/<size>)")
    parser.add_argument("--work-dir", type=Path, default=Path(os.environ.get("RAYPLANE_BENCH_DIR",
                                                                           "/tmp/rayplane-bench")),
                        help="generated data, runs and models (data is reused between runs)")
    parser.add_argument("--serve-port", type=int, default=None, help="port for Ray Serve (default: a free one)")
    parser.add_argument("--docs", type=Path, nargs="?", const=REPO / "docs", default=None, metavar="DIR",
                        help="also write DIR/benchmarks.md (default DIR: docs/) and its charts from the results")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in (*BENCHMARKS, "all", "report")]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from all, report, {', '.join(BENCHMARKS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from benchmarks import report

    out = args.out or REPO / "benchmarks" / "results" / args.size
    ctx = Context(size=SIZES[args.size], out_dir=out, work_dir=args.work_dir.absolute(), serve_port=args.serve_port)
    names = BENCHMARKS if "all" in args.names else [n for n in BENCHMARKS if n in args.names]
    command = "python -m benchmarks " + " ".join(sys.argv[1:] if argv is None else argv)
    in_process = [n for n in names if n in IN_PROCESS]
    if in_process:
        with ray_cluster():
            for name in in_process:
                _run_one(name, ctx)
    for name in names:
        if name in OWN_PROCESSES:
            _run_one(name, ctx)
    results = report.load(out)
    print(report.table(results))
    if args.docs:
        report.write_docs(results, command, args.docs)
    return 0


def _run_one(name: str, ctx: Context) -> None:
    started = time.perf_counter()
    print(f"== benchmark {name} ({ctx.size.name})", flush=True)
    importlib.import_module(f"benchmarks.{name}").run(ctx)
    print(f"== benchmark {name} done in {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
