"""The fitted preprocessing: numbers imputed and scaled, categories one-hot encoded, labels checked.

Fitted on the training split only (streaming statistics, see ``rayplane.data.stats``), kept as plain JSON
next to the model, and applied by the same code at training (``transform_batch``) and serving
(``transform_features``), so a request is encoded exactly as the training rows were.

Feature matrix layout: the numeric columns in spec order, then for each categorical column one slot per kept
category (the ``max_categories`` most frequent in training, ties broken by value) and a last slot shared by
rare, unseen and missing values.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from rayplane.data.columns import LabelRule, category_strings, numeric_block, require_columns
from rayplane.data.stats import quantile_bins
from rayplane.errors import DataError
from rayplane.spec.models import DataSpec

FORMAT = 1
# Quantile bins kept per numeric feature, for drift monitoring (deciles: the usual PSI binning).
DRIFT_BINS = 10
MAX_STANDARD_SCORE = 1e6


class Preprocessor:
    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state
        numeric = state["numeric"]
        self._fill = np.array([c["fill"] for c in numeric], dtype=np.float64)
        self._shift = np.array([c["shift"] for c in numeric], dtype=np.float64)
        self._scale = np.array([c["scale"] for c in numeric], dtype=np.float64)
        self._categories = [pa.array(c["categories"], pa.string()) for c in state["categorical"]]
        self._labels = LabelRule(state["label"], state["task"], state["num_classes"])

    # -- fitting ----------------------------------------------------------------------------------------------

    @classmethod
    def fit(cls, train_ds: Any, data_spec: DataSpec) -> Preprocessor:
        """Fit on a Ray Dataset of training rows with one streaming pass."""
        from rayplane.data.stats import summarize

        return cls.from_summary(summarize(train_ds, data_spec), data_spec)

    @classmethod
    def from_summary(cls, summary: dict[str, Any], data_spec: DataSpec) -> Preprocessor:
        """Build from merged training statistics (``rayplane.data.stats.summarize``)."""
        if summary["rows"] == 0:
            raise DataError(
                f"no labelled training rows to fit on ({summary['missing_labels']} rows have no "
                f"{data_spec.label!r}, {summary['validation_rows']} went to validation)"
            )
        prep = data_spec.preprocessing
        stats = summary["numeric"]
        numeric = [
            _numeric_state(name, prep.scaling, prep.impute_numeric, {k: stats[k][i] for k in stats})
            for i, name in enumerate(data_spec.features.numeric)
        ]
        categorical = [
            _category_state(name, summary["categorical"][name], prep.max_categories)
            for name in data_spec.features.categorical
        ]
        return cls({
            "format": FORMAT,
            "task": data_spec.task,
            "label": data_spec.label,
            "num_classes": data_spec.num_classes,
            "preprocessing": prep.model_dump(),
            "rows": summary["rows"],
            "numeric": numeric,
            "categorical": categorical,
            "label_stats": _label_stats(data_spec.task, summary["label"]),
        })

    # -- what it produces ---------------------------------------------------------------------------------------

    @property
    def task(self) -> str:
        return self.state["task"]

    @property
    def label(self) -> str:
        return self.state["label"]

    @property
    def rows(self) -> int:
        return self.state["rows"]

    @property
    def label_stats(self) -> dict[str, Any]:
        return self.state["label_stats"]

    @property
    def numeric_columns(self) -> list[str]:
        return [c["name"] for c in self.state["numeric"]]

    @property
    def categorical_columns(self) -> list[str]:
        return [c["name"] for c in self.state["categorical"]]

    @property
    def feature_columns(self) -> list[str]:
        return [*self.numeric_columns, *self.categorical_columns]

    @property
    def input_dim(self) -> int:
        return len(self._fill) + sum(len(cats) + 1 for cats in self._categories)

    @property
    def input_schema(self) -> list[dict[str, Any]]:
        return [{"name": n, "dtype": "float", "nullable": True} for n in self.numeric_columns] + [
            {"name": n, "dtype": "string", "nullable": True} for n in self.categorical_columns
        ]

    # -- applying it ------------------------------------------------------------------------------------------

    def transform_features(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 (n, input_dim) for the feature columns of ``frame``."""
        require_columns(frame, self.feature_columns)
        n = len(frame)
        x = np.zeros((n, self.input_dim), dtype=np.float32)
        raw = numeric_block(frame, self.numeric_columns)
        k = raw.shape[1]
        scaled = (np.where(np.isnan(raw), self._fill, raw) - self._shift) / self._scale
        # A finite but absurd value (1e300 sent to the endpoint) would overflow float32 to inf and the network's
        # answer to NaN; a million standard deviations out is already far beyond anything it was fitted on.
        x[:, :k] = np.clip(scaled, -MAX_STANDARD_SCORE, MAX_STANDARD_SCORE)
        rows, offset = np.arange(n), k
        for name, categories in zip(self.categorical_columns, self._categories):
            values = pa.array(category_strings(frame[name]), pa.string(), from_pandas=True)
            # Unseen and missing values (null positions) go to the shared bucket after the kept categories.
            codes = pc.index_in(values, value_set=categories).fill_null(len(categories))
            x[rows, offset + codes.to_numpy(zero_copy_only=False)] = 1.0
            offset += len(categories) + 1
        return x

    def transform_labels(self, labels: pd.Series) -> np.ndarray:
        """float32 (binary 0/1, regression standardised) or int64 (multiclass) labels."""
        y = self._labels.values(labels)
        if np.isnan(y).any():
            raise DataError(f"label column {self.label!r} has missing values (drop those rows first)")
        self._labels.check(y)
        if self.task == "multiclass":
            return y.astype(np.int64)
        if self.task == "regression":
            y = (y - self.label_stats["mean"]) / self.label_stats["std"]
        return y.astype(np.float32)

    def transform_batch(self, batch: pd.DataFrame) -> dict[str, np.ndarray]:
        require_columns(batch, [self.label], "batch")
        return {"x": self.transform_features(batch), "y": self.transform_labels(batch[self.label])}

    # -- persistence ------------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.state))

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor:
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            found = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise DataError(f"preprocessor state has format {found!r}; this rayplane reads format {FORMAT}")
        required = ("task", "label", "num_classes", "rows", "numeric", "categorical", "label_stats")
        missing = [k for k in required if k not in state]
        if missing:
            raise DataError(f"preprocessor state lacks {', '.join(missing)}")
        return cls(json.loads(json.dumps(state)))

    def dumps(self) -> str:
        return json.dumps(self.state, indent=1, sort_keys=True)

    @classmethod
    def loads(cls, text: str | bytes, origin: str) -> Preprocessor:
        """The preprocessor saved as ``text``; DataError naming ``origin`` (where it was read) when it is bad."""
        try:
            state = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{origin}: not valid JSON ({exc})") from None
        try:
            return cls.from_dict(state)
        except DataError as exc:
            raise DataError(f"{origin}: {exc}") from None


def _numeric_state(name: str, scaling: str, impute: str, stats: dict[str, Any]) -> dict[str, Any]:
    count = stats["count"]
    mean = stats["mean"] if count else 0.0
    std = math.sqrt(stats["m2"] / count) if count else 0.0
    lo, hi = stats["min"], stats["max"]
    bins, shares = quantile_bins(stats["sketch"], DRIFT_BINS)
    if scaling == "standard":
        shift, scale = mean, std
    elif scaling == "minmax" and lo is not None:
        shift, scale = lo, hi - lo
    else:
        shift, scale = 0.0, 1.0
    return {
        "name": name,
        "fill": mean if impute == "mean" else 0.0,
        # A constant column would divide by zero: it is only shifted.
        "shift": shift,
        "scale": scale if scale > 1e-12 else 1.0,
        "mean": mean,
        "std": std,
        "min": lo,
        "max": hi,
        "missing": stats["missing"],
        # The training distribution the model saw, for drift monitoring: bin edges and each bin's share of the
        # present values (rayplane.monitoring).
        "bins": bins,
        "bin_shares": shares,
    }


def _category_state(name: str, stats: dict[str, Any], max_categories: int) -> dict[str, Any]:
    ranked = sorted(stats["counts"].items(), key=lambda kv: (-kv[1], kv[0]))
    kept = ranked[:max_categories]
    return {
        "name": name,
        "categories": [value for value, _ in kept],
        "counts": [count for _, count in kept],
        "other": sum(count for _, count in ranked[max_categories:]),
        "missing": stats["missing"],
    }


def _label_stats(task: str, stats: dict[str, Any]) -> dict[str, Any]:
    n = stats["count"]
    if task == "binary":
        return {"positive_rate": stats["positives"] / n, "rows": n}
    if task == "multiclass":
        return {"class_counts": stats["classes"], "rows": n}
    std = math.sqrt(stats["m2"] / n)
    return {"mean": stats["mean"], "std": std if std > 1e-12 else 1.0, "rows": n}
