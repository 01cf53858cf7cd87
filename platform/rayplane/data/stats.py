"""Streaming statistics of the training rows: one small JSON summary per block, merged on the driver.

The dataset is never pulled into memory: each Ray Data block is reduced where it lives to counts, means,
M2 sums (Chan et al.'s parallel variance), extremes, a quantile sketch and category counts, and only those
summaries travel. The sketch keeps at most ``SKETCH_POINTS`` weighted values per numeric column: exact for a
column with that few distinct values (hours, months), otherwise neighbouring values merged into their weighted
mean, so merged quantiles stay within about 1/SKETCH_POINTS of rank. Drift monitoring bins on them.
The same pass counts validation rows, drops rows without a label and collects invalid labels, so a data
problem is reported as one clear error before training starts.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from rayplane.data.columns import LabelRule, category_strings, numeric_block, plain_number
from rayplane.data.ingest import every_cpu
from rayplane.data.split import SplitRule
from rayplane.errors import DataError
from rayplane.spec.models import DataSpec

BAD_LABELS_KEPT = 3
MOMENTS = ("count", "mean", "m2")
SKETCH_POINTS = 128


def summarize(ds: Any, data_spec: DataSpec, split: SplitRule | None = None) -> dict[str, Any]:
    """Statistics of ``ds``'s training rows (all rows when ``split`` is None); raises DataError on bad labels."""
    partials = ds.map_batches(
        _summarize_block, batch_format="pandas", fn_kwargs={"data_spec": data_spec, "split": split}
    )
    total: dict[str, Any] | None = None
    with every_cpu(partials):
        for row in partials.iter_rows():
            part = json.loads(row["summary"])
            total = part if total is None else merge(total, part)
    total = total or summarize_frame(pd.DataFrame(columns=[*data_spec.features.all, data_spec.label]), data_spec)
    if total["bad_labels"]:
        raise DataError(LabelRule.of(data_spec).bad_message(total["bad_labels"]))
    return total


def _summarize_block(batch: pd.DataFrame, data_spec: DataSpec, split: SplitRule | None) -> pd.DataFrame:
    return pd.DataFrame({"summary": [json.dumps(summarize_frame(batch, data_spec, split))]})


def summarize_frame(frame: pd.DataFrame, data_spec: DataSpec, split: SplitRule | None = None) -> dict[str, Any]:
    rule = LabelRule.of(data_spec)
    labels = rule.values(frame[data_spec.label])
    labelled = ~np.isnan(labels)
    validation = split.is_validation(frame) if split is not None else np.zeros(len(frame), dtype=bool)
    train = labelled & ~validation
    bad = rule.invalid(labels)
    rows = frame[train]
    return {
        "rows": int(train.sum()),
        "validation_rows": int((labelled & validation).sum()),
        "missing_labels": int((~labelled).sum()),
        "bad_labels": [plain_number(v) for v in labels[bad][:BAD_LABELS_KEPT]],
        "numeric": _numeric(numeric_block(rows, data_spec.features.numeric)),
        "categorical": {c: _counts(rows[c]) for c in data_spec.features.categorical},
        "label": _label(labels[train & ~bad], data_spec),
    }


def _numeric(block: np.ndarray) -> dict[str, list]:
    present = ~np.isnan(block)
    count = present.sum(axis=0)
    safe = np.where(present, block, 0.0)
    mean = np.divide(safe.sum(axis=0), count, out=np.zeros(block.shape[1]), where=count > 0)
    m2 = np.where(present, (block - mean) ** 2, 0.0).sum(axis=0)
    lo = np.where(present, block, np.inf).min(axis=0, initial=np.inf)
    hi = np.where(present, block, -np.inf).max(axis=0, initial=-np.inf)
    return {
        "count": count.tolist(),
        "missing": (~present).sum(axis=0).tolist(),
        "mean": mean.tolist(),
        "m2": m2.tolist(),
        # JSON has no infinity: an all-missing column has no extremes.
        "min": [float(v) if np.isfinite(v) else None for v in lo],
        "max": [float(v) if np.isfinite(v) else None for v in hi],
        "sketch": [_sketch(*np.unique(column[present[:, i]], return_counts=True)) for i, column in enumerate(block.T)],
    }


def _sketch(values: np.ndarray, weights: np.ndarray) -> dict[str, list[float]]:
    """At most SKETCH_POINTS (value, weight) pairs for sorted distinct ``values``: runs of neighbours of about
    equal total weight become their weighted mean."""
    weights = np.asarray(weights, dtype=np.float64)
    if len(values) > SKETCH_POINTS:
        middle = np.cumsum(weights) - weights / 2
        group = np.minimum((middle / weights.sum() * SKETCH_POINTS).astype(np.int64), SKETCH_POINTS - 1)
        total = np.bincount(group, weights=weights, minlength=SKETCH_POINTS)
        sums = np.bincount(group, weights=weights * values, minlength=SKETCH_POINTS)
        used = total > 0
        values, weights = sums[used] / total[used], total[used]
    return {"values": np.asarray(values, dtype=np.float64).tolist(), "weights": weights.tolist()}


def quantile_bins(sketch: dict[str, list[float]], bins: int) -> tuple[list[float], list[float]]:
    """Edges at the sketch's ``bins``-quantiles (distinct, below the largest value) and the share of the values in
    each bin (-inf, e1], (e1, e2], ..., (ek, inf)."""
    values, weights = np.array(sketch["values"]), np.array(sketch["weights"])
    if not len(values):
        return [], [1.0]
    cumulative = np.cumsum(weights)
    picks = np.searchsorted(cumulative / cumulative[-1], np.arange(1, bins) / bins)
    edges = np.unique(values[np.minimum(picks, len(values) - 1)])
    edges = edges[edges < values[-1]]
    at_or_below = np.concatenate([[0.0], cumulative])[np.searchsorted(values, edges, side="right")] / cumulative[-1]
    return edges.tolist(), np.diff(np.concatenate([[0.0], at_or_below, [1.0]])).tolist()


def _merge_sketch(a: dict[str, list[float]], b: dict[str, list[float]]) -> dict[str, list[float]]:
    values, where = np.unique(np.array(a["values"] + b["values"], dtype=np.float64), return_inverse=True)
    return _sketch(values, np.bincount(where, weights=np.array(a["weights"] + b["weights"]), minlength=len(values)))


def _counts(series: pd.Series) -> dict[str, Any]:
    values = category_strings(series)
    return {"counts": values.value_counts(dropna=True).to_dict(), "missing": int(values.isna().sum())}


def _label(labels: np.ndarray, data_spec: DataSpec) -> dict[str, Any]:
    if data_spec.task == "binary":
        return {"count": len(labels), "positives": int((labels == 1).sum())}
    if data_spec.task == "multiclass":
        classes = np.bincount(labels.astype(np.int64), minlength=data_spec.num_classes)
        return {"count": len(labels), "classes": classes.tolist()}
    mean = float(labels.mean()) if len(labels) else 0.0
    return {"count": len(labels), "mean": mean, "m2": float(((labels - mean) ** 2).sum())}


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": a["rows"] + b["rows"],
        "validation_rows": a["validation_rows"] + b["validation_rows"],
        "missing_labels": a["missing_labels"] + b["missing_labels"],
        "bad_labels": (a["bad_labels"] + b["bad_labels"])[:BAD_LABELS_KEPT],
        "numeric": _merge_numeric(a["numeric"], b["numeric"]),
        "categorical": {c: _merge_counts(a["categorical"][c], b["categorical"][c]) for c in a["categorical"]},
        "label": _merge_label(a["label"], b["label"]),
    }


def _merge_moments(a_n, a_mean, a_m2, b_n, b_mean, b_m2):
    """Count, mean and M2 of two parts taken together (Chan et al.), for arrays or scalars."""
    a_n, a_mean, a_m2, b_n, b_mean, b_m2 = map(np.float64, (a_n, a_mean, a_m2, b_n, b_mean, b_m2))
    n = a_n + b_n
    share = np.divide(b_n, n, out=np.zeros_like(n), where=n > 0)
    delta = b_mean - a_mean
    return n, a_mean + delta * share, a_m2 + b_m2 + delta**2 * a_n * share


def _merge_numeric(a: dict[str, list], b: dict[str, list]) -> dict[str, list]:
    n, mean, m2 = _merge_moments(*(a[k] for k in MOMENTS), *(b[k] for k in MOMENTS))
    return {
        "count": n.astype(np.int64).tolist(),
        "missing": [x + y for x, y in zip(a["missing"], b["missing"])],
        "mean": mean.tolist(),
        "m2": m2.tolist(),
        "min": [_pick(min, x, y) for x, y in zip(a["min"], b["min"])],
        "max": [_pick(max, x, y) for x, y in zip(a["max"], b["max"])],
        "sketch": [_merge_sketch(x, y) for x, y in zip(a["sketch"], b["sketch"])],
    }


def _pick(fn, x: float | None, y: float | None) -> float | None:
    return y if x is None else x if y is None else fn(x, y)


def _merge_counts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    return {"counts": dict(Counter(a["counts"]) + Counter(b["counts"])), "missing": a["missing"] + b["missing"]}


def _merge_label(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    merged = {"count": a["count"] + b["count"]}
    if "positives" in a:
        merged["positives"] = a["positives"] + b["positives"]
    elif "classes" in a:
        merged["classes"] = [x + y for x, y in zip(a["classes"], b["classes"])]
    else:
        _, mean, m2 = _merge_moments(*(a[k] for k in MOMENTS), *(b[k] for k in MOMENTS))
        merged.update(mean=float(mean), m2=float(m2))
    return merged
