"""Drift over the live requests of one serving replica: the last ``size`` records against the training data.

Each replica keeps its own window (a bounded deque of the records it answered), so ``GET /<name>/drift`` and
the exported gauges describe what that replica has seen lately; with one replica, what the endpoint has seen.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import pandas as pd

from rayplane.monitoring.psi import Baseline, DriftReport

WINDOW_RECORDS = 10_000


class DriftWindow:
    def __init__(self, baseline: Baseline, threshold: float, size: int = WINDOW_RECORDS) -> None:
        self.baseline = baseline
        self.threshold = threshold
        self.records: deque[dict[str, Any]] = deque(maxlen=size)
        self.seen = 0

    def add(self, records: list[dict[str, Any]]) -> None:
        self.records.extend(records)
        self.seen += len(records)

    def report(self) -> DriftReport | None:
        """The measures over the window; None before the first record."""
        if not self.records:
            return None
        frame = pd.DataFrame.from_records(list(self.records), columns=self.baseline.columns)
        return self.baseline.compare(self.baseline.count(frame), self.threshold)
