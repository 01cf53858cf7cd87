"""Generate the synthetic workload: binary labels from a known non-linear rule plus noise, at any scale.

Eight numeric features x0..x7 (standard normal, float32; x5 is missing for 3% of rows, x6 and x7 are pure noise)
and two categorical ones: ``region`` (5 values) and ``device`` (40 values with skewed frequencies; 2%
missing). The label is drawn as Bernoulli(sigmoid(logit)) with

    logit = 2 x0 x1 + 1.5 sin(2 x2) + (x3^2 - 1) - |x4| + 0.5 x5 + region effect + device effect + 0.8

so the best achievable AUC is known (``bayes_auc``) and well above what a linear model gets.

Rows are generated and written chunk by chunk (bounded memory for 10^8 rows), each chunk from its own seeded
generator, so the same (rows, shards, seed) always gives the same files.

    python prepare.py --out data/synthetic --shards 8 --rows 100000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rayplane.data.shards import atomic_directory, shard_name

NUMERIC = [f"x{i}" for i in range(8)]
REGIONS = ["north", "south", "east", "west", "central"]
REGION_EFFECT = np.array([0.6, -0.4, 0.2, -0.8, 0.0])
DEVICES = [f"d{i:02d}" for i in range(40)]
# Zipf-like frequencies: a few common devices and a long tail of rare ones.
DEVICE_P = 1.0 / np.arange(1, len(DEVICES) + 1)
DEVICE_P /= DEVICE_P.sum()
DEVICE_EFFECT = np.random.default_rng(1234).normal(0.0, 0.7, len(DEVICES))
MISSING_X5, MISSING_DEVICE = 0.03, 0.02
LABEL = "label"
CHUNK_ROWS = 262_144
DEFAULT_ROWS = 100_000
SCHEMA = pa.schema([*(pa.field(c, pa.float32()) for c in NUMERIC), pa.field("region", pa.string()),
                    pa.field("device", pa.string()), pa.field(LABEL, pa.int8())])


def logit(x: np.ndarray, region: np.ndarray, device: np.ndarray) -> np.ndarray:
    """The true log-odds for numeric features ``x`` (n, 8; NaN x5 contributes nothing) and category codes."""
    x5 = np.nan_to_num(x[:, 5])
    return (2.0 * x[:, 0] * x[:, 1] + 1.5 * np.sin(2.0 * x[:, 2]) + (x[:, 3] ** 2 - 1.0) - np.abs(x[:, 4])
            + 0.5 * x5 + REGION_EFFECT[region] + DEVICE_EFFECT[device] + 0.8)


def chunk(rows: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    """``rows`` generated rows, and their true probability of label 1."""
    x = rng.standard_normal((rows, len(NUMERIC)))
    region = rng.integers(0, len(REGIONS), rows)
    device = rng.choice(len(DEVICES), rows, p=DEVICE_P)
    prob = 1.0 / (1.0 + np.exp(-logit(x, region, device)))
    label = (rng.random(rows) < prob).astype(np.int8)
    x[rng.random(rows) < MISSING_X5, 5] = np.nan
    device_missing = rng.random(rows) < MISSING_DEVICE
    columns = [pa.array(x[:, i].astype(np.float32), from_pandas=True) for i in range(len(NUMERIC))]
    columns.append(pa.DictionaryArray.from_arrays(region.astype(np.int32), REGIONS).cast(pa.string()))
    columns.append(pa.DictionaryArray.from_arrays(pa.array(device.astype(np.int32), mask=device_missing), DEVICES)
                   .cast(pa.string()))
    columns.append(pa.array(label))
    return pa.Table.from_arrays(columns, schema=SCHEMA), prob


def shard_sizes(rows: int, shards: int) -> list[int]:
    bounds = np.linspace(0, rows, shards + 1).astype(np.int64)
    return np.diff(bounds).tolist()


def prepare(output_dir: str, shards: int = 8, rows: int | None = None, seed: int = 0) -> list[str]:
    """Write ``rows`` generated rows as ``shards`` Parquet files in ``output_dir``."""
    rows = DEFAULT_ROWS if rows is None else rows
    if shards < 1 or rows < shards:
        raise ValueError(f"need at least one row per shard (rows={rows}, shards={shards})")
    with atomic_directory(output_dir) as work:
        for shard, size in enumerate(shard_sizes(rows, shards)):
            with pq.ParquetWriter(work / shard_name(shard), SCHEMA) as writer:
                for index, start in enumerate(range(0, size, CHUNK_ROWS)):
                    rng = np.random.default_rng([seed, shard, index])
                    writer.write_table(chunk(min(CHUNK_ROWS, size - start), rng)[0])
    return [str(Path(output_dir) / shard_name(i)) for i in range(shards)]


def bayes_auc(rows: int = 200_000, seed: int = 99) -> float:
    """AUC of the true probabilities on fresh rows: the ceiling any model can reach."""
    table, prob = chunk(rows, np.random.default_rng(seed))
    y = table.column(LABEL).to_numpy()
    ranks = np.empty(rows)
    ranks[np.argsort(prob)] = np.arange(1, rows + 1)
    pos = y == 1
    return float((ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = prepare(args.out, args.shards, args.rows, args.seed)
    print(f"wrote {args.rows} rows in {len(files)} files to {args.out}")


if __name__ == "__main__":
    main()
