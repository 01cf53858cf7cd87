"""The train/validation split: a stable hash of each row's values, so it streams and never shuffles.

A row goes to validation when hash(features, label) mod 10,000 falls below validation_fraction * 10,000.
The hash is keyed by ``split_seed`` and computed on the canonical column forms, so the same data and seed
give the same split on every run, whatever the file order, block sizes or batch boundaries. Duplicate rows
land on the same side, which keeps them from leaking across the split.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from rayplane.data.columns import LabelRule, category_strings, numeric_block
from rayplane.spec.models import DataSpec

BUCKETS = 10_000


class SplitRule:
    def __init__(self, data_spec: DataSpec) -> None:
        self.data_spec = data_spec
        self.threshold = int(round(data_spec.validation_fraction * BUCKETS))
        # hash_pandas_object takes a 16-character key.
        self.hash_key = hashlib.sha256(f"rayplane-split-{data_spec.split_seed}".encode()).hexdigest()[:16]

    def is_validation(self, frame: pd.DataFrame) -> np.ndarray:
        spec = self.data_spec
        numeric = numeric_block(frame, spec.features.numeric)
        canonical = pd.DataFrame({f"n{i}": numeric[:, i] for i in range(numeric.shape[1])},
                                 index=pd.RangeIndex(len(frame)))
        for i, col in enumerate(spec.features.categorical):
            canonical[f"c{i}"] = category_strings(frame[col]).array
        canonical["label"] = LabelRule.of(spec).values(frame[spec.label])
        hashes = pd.util.hash_pandas_object(canonical, index=False, hash_key=self.hash_key).to_numpy()
        return (hashes % BUCKETS) < self.threshold
