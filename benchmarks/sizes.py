"""How big each benchmark runs: ``tiny`` for tests (seconds), ``quick`` (minutes), ``full``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    train_rows: int           # training throughput and ingest
    epochs: int
    scaling_rows: tuple[int, int, int]  # wall time at 3 sizes; the last is 10x the first (peak memory)
    serve_seconds: float      # load per system, after warm-up
    serve_requests: int       # hard cap per system
    search_seeds: int
    search_trials: int
    search_rows: int          # rows the cheap trainable of the search benchmark learns from
    coldstart_repeats: int


SIZES = {
    "tiny": Size("tiny", train_rows=20_000, epochs=1, scaling_rows=(4_000, 12_000, 40_000), serve_seconds=2.0,
                 serve_requests=2_000, search_seeds=2, search_trials=4, search_rows=2_000, coldstart_repeats=1),
    "quick": Size("quick", train_rows=1_000_000, epochs=2, scaling_rows=(100_000, 300_000, 1_000_000),
                  serve_seconds=10.0, serve_requests=50_000, search_seeds=5, search_trials=20, search_rows=8_000,
                  coldstart_repeats=1),
    "full": Size("full", train_rows=4_000_000, epochs=3, scaling_rows=(1_000_000, 3_000_000, 10_000_000),
                 serve_seconds=30.0, serve_requests=200_000, search_seeds=9, search_trials=30, search_rows=20_000,
                 coldstart_repeats=3),
}
