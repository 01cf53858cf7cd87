"""Column values in the canonical forms that fitting, splitting and transforming all agree on.

Numeric columns become float64 with NaN for anything missing (None, NaN, +-inf); categorical columns become
strings with NaN for missing; labels become float64 with NaN for missing. Each form depends on the values
only, never on how Arrow or pandas happened to type a batch (an int column with a null arrives as float64).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rayplane.errors import DataError
from rayplane.spec.models import DataSpec


def require_columns(frame: pd.DataFrame, columns: list[str], what: str = "input") -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} has no column {missing[0]!r} (expected {', '.join(columns)})")


def numeric_block(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """float64 (n, len(columns)); a non-finite or missing value is NaN."""
    if not columns:
        return np.empty((len(frame), 0), dtype=np.float64)
    try:
        block = frame[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        block = np.column_stack([_numeric_column(frame[c], c) for c in columns])
    # A copy: to_numpy can hand back a read-only view of the batch.
    block = np.array(block, dtype=np.float64, copy=True)
    block[~np.isfinite(block)] = np.nan
    return block


def _numeric_column(series: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & series.notna().to_numpy()
    if bad.any():
        raise DataError(f"column {name!r} is numeric but holds {series[bad].iloc[0]!r}")
    return values


def category_strings(series: pd.Series) -> pd.Series:
    """The values as strings (``7``, ``7.0`` and ``"7"`` are one category); missing stays NaN.

    An integer column picks up a float type from a single null (in a batch, or in a JSON request), so
    whole floats are written as integers.
    """
    strings = series.astype("str")
    if not pd.api.types.is_float_dtype(series.dtype):
        return strings
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    whole = np.isfinite(values) & (values == np.trunc(values))
    if not whole.any():
        return strings
    out = strings.to_numpy(dtype=object)
    out[whole] = values[whole].astype(np.int64).astype(str)
    return pd.Series(out, index=series.index, dtype="str")


@dataclass(frozen=True)
class LabelRule:
    """What a task accepts as a label; kept in the preprocessor state, so serving needs no spec."""

    label: str
    task: str
    num_classes: int | None = None

    @classmethod
    def of(cls, data_spec: DataSpec) -> LabelRule:
        return cls(data_spec.label, data_spec.task, data_spec.num_classes)

    def values(self, series: pd.Series) -> np.ndarray:
        """float64 labels, NaN where missing."""
        return _numeric_column(series, self.label)

    def invalid(self, labels: np.ndarray) -> np.ndarray:
        """Mask of present labels the task cannot take (binary: 0/1; multiclass: ints in [0, num_classes))."""
        present = ~np.isnan(labels)
        if self.task == "binary":
            return present & (labels != 0) & (labels != 1)
        if self.task == "multiclass":
            return present & ((labels != np.round(labels)) | (labels < 0) | (labels >= self.num_classes))
        return np.zeros(len(labels), dtype=bool)

    def check(self, labels: np.ndarray) -> None:
        bad = self.invalid(labels)
        if bad.any():
            raise DataError(self.bad_message([plain_number(v) for v in labels[bad][:3]]))

    def bad_message(self, values: list) -> str:
        expected = "0/1 or true/false" if self.task == "binary" else f"an integer in [0, {self.num_classes})"
        shown = ", ".join(repr(v) for v in values)
        return f"label column {self.label!r} holds {shown}; task {self.task!r} needs {expected}"


def plain_number(value: float) -> int | float:
    """1.0 -> 1 for messages and JSON; other values unchanged."""
    return int(value) if float(value).is_integer() else float(value)
