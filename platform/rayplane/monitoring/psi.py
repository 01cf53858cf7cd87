"""Drift measures per feature: the population stability index (PSI) plus null-rate and unseen-category changes.

Every feature is cut into buckets that the training statistics stored with the version describe: a numeric
feature into its training deciles (``bins``, see ``rayplane.data.stats``) plus one bucket for missing values;
a categorical feature into the categories the model encodes, one bucket for everything else (rare in training,
or never seen: the model encodes both the same way) and one for missing. With e_i the training share of bucket
i and a_i the share now,

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i),     shares floored at 1e-4 so an empty bucket stays finite.

PSI is 0 for identical distributions; by the usual reading below 0.1 is stable, 0.1-0.2 moderate, above 0.2 a
significant shift. Counting is plain data in and out (JSON-ready, mergeable), so the same code serves a Ray
Data pass over files and an endpoint's window of live requests.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rayplane.data.columns import category_strings, numeric_block

FLOOR = 1e-4
UNSEEN_KEPT = 5  # most frequent unseen values named per feature


@dataclass(frozen=True)
class FeatureBaseline:
    name: str
    kind: str  # numeric | categorical
    expected: np.ndarray  # training share per bucket, the missing bucket last
    edges: list[float]  # numeric: bin edges
    categories: list[str]  # categorical: the encoded categories

    @property
    def null_rate(self) -> float:
        return float(self.expected[-1])


class Baseline:
    """A version's training distributions, from its fitted preprocessor's state."""

    def __init__(self, state: dict[str, Any]) -> None:
        rows = max(state["rows"], 1)
        self.features: list[FeatureBaseline] = []
        for column in state["numeric"]:
            if "bins" not in column:
                raise ValueError(f"feature {column['name']!r} has no training quantile bins")
            null = column["missing"] / rows
            shares = np.array(column["bin_shares"]) * (1 - null)
            self.features.append(FeatureBaseline(column["name"], "numeric", np.append(shares, null),
                                                 column["bins"], []))
        for column in state["categorical"]:
            counts = [*column["counts"], column["other"], column["missing"]]
            self.features.append(FeatureBaseline(column["name"], "categorical", np.array(counts) / rows, [],
                                                 column["categories"]))

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.features]

    def count(self, frame: pd.DataFrame) -> dict[str, Any]:
        """Bucket counts of ``frame``'s rows per feature, and its most frequent unseen categories."""
        counts: dict[str, Any] = {"rows": len(frame), "features": {}}
        for feature in self.features:
            if feature.kind == "numeric":
                values = numeric_block(frame, [feature.name])[:, 0]
                present = ~np.isnan(values)
                bucket = np.where(present, np.searchsorted(feature.edges, values, side="left"), len(feature.edges) + 1)
                counts["features"][feature.name] = {
                    "buckets": np.bincount(bucket, minlength=len(feature.expected)).tolist(), "unseen": {}}
            else:
                values = category_strings(frame[feature.name])
                known = values.isin(feature.categories)
                missing = values.isna()
                unseen = values[~known & ~missing]
                buckets = [int((values == c).sum()) for c in feature.categories] + [len(unseen), int(missing.sum())]
                counts["features"][feature.name] = {
                    "buckets": buckets, "unseen": unseen.value_counts().head(UNSEEN_KEPT * 4).to_dict()}
        return counts

    def compare(self, counts: dict[str, Any], threshold: float) -> DriftReport:
        features = []
        for feature in self.features:
            observed = counts["features"][feature.name]
            buckets = np.array(observed["buckets"], dtype=np.float64)
            actual = buckets / max(buckets.sum(), 1)
            features.append({
                "feature": feature.name,
                "kind": feature.kind,
                "psi": round(psi(feature.expected, actual), 6),
                "null_rate_train": round(feature.null_rate, 6),
                "null_rate": round(float(actual[-1]), 6),
                # Categorical: the share outside the encoded categories (rare in training, or never seen).
                "unseen_train": round(float(feature.expected[-2]), 6) if feature.kind == "categorical" else None,
                "unseen": round(float(actual[-2]), 6) if feature.kind == "categorical" else None,
                "unseen_values": [v for v, _ in Counter(observed["unseen"]).most_common(UNSEEN_KEPT)],
            })
        for row in features:
            row["drifted"] = row["psi"] > threshold
        return DriftReport(rows=counts["rows"], threshold=threshold, features=features)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e, a = np.maximum(expected, FLOOR), np.maximum(actual, FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"rows": a["rows"] + b["rows"], "features": {
        name: {"buckets": [x + y for x, y in zip(f["buckets"], b["features"][name]["buckets"])],
               "unseen": dict(Counter(f["unseen"]) + Counter(b["features"][name]["unseen"]))}
        for name, f in a["features"].items()}}


@dataclass(frozen=True)
class DriftReport:
    rows: int
    threshold: float
    features: list[dict[str, Any]]

    @property
    def drifted(self) -> list[str]:
        return [f["feature"] for f in self.features if f["drifted"]]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "threshold": self.threshold, "measure": "psi", "drifted": self.drifted,
                "features": self.features}
