"""After the first deploy, on the flights workload: warm-start retraining on new months, and seasonal drift.

    python workloads/flights_delay/lifecycle.py --rows 60000 --epochs 2 --work-dir /tmp/flights-lifecycle

1. Warm start: train on January to September, warm-start that version on October to December (keeping its
   preprocessing), and train from scratch on all twelve months; all three are scored on the same held-out rows
   (the spec's deterministic validation split) of October to December and of the whole year, with wall times.
2. Drift: a version trained on the summer (June to August) against the winter (December to February), and
   against its own training data.

Prints one JSON document (docs/lifecycle.md shows a measured run); tests/pipeline/test_flights_lifecycle.py runs
it small.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
MONTHS = {"jan_sep": range(1, 10), "oct_dec": range(10, 13), "summer": (6, 7, 8), "winter": (12, 1, 2)}


def split_by_months(rows: int | None, work: Path, seed: int = 0) -> dict[str, Path]:
    """The flights (a seeded sample of ``rows``) as Parquet directories: all months, and each period in MONTHS."""
    spec = importlib.util.spec_from_file_location("flights_prepare", HERE / "prepare.py")
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    dirs = {"all": work / "data" / "all"}
    if not dirs["all"].exists():
        prepare.prepare(str(dirs["all"]), shards=4, rows=rows, seed=seed)
    frame = pd.read_parquet(dirs["all"])
    for period, months in MONTHS.items():
        dirs[period] = work / "data" / period
        if not dirs[period].exists():
            dirs[period].mkdir(parents=True)
            part = frame[frame["month"].isin(months)]
            for i, rows_of_shard in enumerate(np.array_split(np.arange(len(part)), 2)):
                part.iloc[rows_of_shard].to_parquet(dirs[period] / f"part-{i}.parquet", index=False)
    return dirs


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by ranks (ties averaged)."""
    ranks = pd.Series(scores).rank().to_numpy()
    positives = labels == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def held_out(spec, directory: Path) -> pd.DataFrame:
    from rayplane.data.split import SplitRule

    frame = pd.read_parquet(directory)
    return frame[SplitRule(spec.data).is_validation(frame)]


def score(version, frame: pd.DataFrame) -> float:
    from rayplane.modeling.predictor import Predictor

    probability = Predictor(version).predict_columns(frame)["probability"]
    return round(auc(frame["delayed"].to_numpy(), probability), 4)


def run(rows: int | None, epochs: int, work: Path) -> dict[str, Any]:
    import rayplane
    from rayplane.spec import override

    dirs = split_by_months(rows, work)
    spec = override(rayplane.load_spec(HERE / "workload.yaml"), {
        "storage.root": str(work / "home"), "train.epochs": epochs, "data.path": str(dirs["all"])})

    def timed(**kwargs) -> tuple[Any, float]:
        started = time.perf_counter()
        version = rayplane.train(spec, **kwargs).version
        return version, round(time.perf_counter() - started, 1)

    base, base_s = timed(data=str(dirs["jan_sep"]))
    warm, warm_s = timed(data=str(dirs["oct_dec"]), warm_start=base.version)
    scratch, scratch_s = timed(data=str(dirs["all"]))
    late, year = held_out(spec, dirs["oct_dec"]), held_out(spec, dirs["all"])
    models = {
        "jan_sep (base)": (base, base_s),
        "oct_dec warm start from base": (warm, warm_s),
        "all months from scratch": (scratch, scratch_s),
    }
    retraining = [{"model": name, "version": v.uri, "parent": v.metadata.get("parent"),
                   "train_rows": v.metadata["data"]["train_rows"], "wall_s": seconds,
                   "auc_oct_dec": score(v, late), "auc_all_months": score(v, year)}
                  for name, (v, seconds) in models.items()]

    summer, _ = timed(data=str(dirs["summer"]))
    drift = {}
    for against in ("winter", "summer"):
        _, report = rayplane.drift(spec, version=summer.version, data=str(dirs[against]))
        drift[f"{summer.uri} (summer) vs {against}"] = {
            "drifted": report.drifted, "psi": {f["feature"]: f["psi"] for f in report.features}}
    return {"rows": rows, "epochs": epochs, "held_out_rows": {"oct_dec": len(late), "all_months": len(year)},
            "retraining": retraining, "drift": drift}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=60_000, help="seeded sample of the 336,776 flights")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/flights-lifecycle"))
    args = parser.parse_args()
    json.dump(run(args.rows, args.epochs, args.work_dir.absolute()), sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
