"""The rows the promotion gate scores every version on: ``promotion.holdout``, or the validation split of
``data.path`` recomputed with the spec's split rule, so a challenger and its champion see the very same rows.

Read with pyarrow and pandas in this process, batch by batch (no Ray cluster needed, memory bounded by one
batch), and capped at ``promotion.max_rows`` rows in file order: the gate is meant for holdouts that one
process scores in seconds to a few minutes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
import pyarrow.parquet as pq

from rayplane.data.ingest import Source, find_files
from rayplane.data.split import SplitRule
from rayplane.errors import DataError
from rayplane.spec import WorkloadSpec
from rayplane.storage.location import display

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Holdout:
    path: str
    field: str  # the spec field it comes from, for messages
    split: SplitRule | None  # keep only the validation rows of each batch
    columns: list[str]
    label: str
    max_rows: int

    @classmethod
    def of(cls, spec: WorkloadSpec) -> Holdout:
        own = spec.promotion.holdout
        return cls(
            path=spec.resolve(own) if own else spec.data_path,
            field="promotion.holdout" if own else "data.path",
            split=None if own else SplitRule(spec.data),
            columns=[*spec.data.features.all, spec.data.label],
            label=spec.data.label,
            max_rows=spec.promotion.max_rows,
        )

    def describe(self) -> str:
        return f"{display(self.path)}" + (" (validation split)" if self.split else "")

    def frames(self) -> Iterator[pd.DataFrame]:
        """Labelled holdout rows, a batch at a time, ``max_rows`` in all."""
        source = find_files(self.path, self.field)
        left = self.max_rows
        for file in source.files:
            for batch in self._batches(source, file):
                frame = self._rows(batch)
                if len(frame):
                    yield frame.iloc[:left]
                    left -= len(frame)
                if left <= 0:
                    return

    def _batches(self, source: Source, file: str) -> Iterator[pd.DataFrame]:
        try:
            with source.filesystem.open_input_file(file) as handle:
                for batch in pq.ParquetFile(handle).iter_batches(BATCH_ROWS, columns=self.columns):
                    yield batch.to_pandas()
        except (OSError, ValueError) as exc:  # pyarrow: a missing column is an ArrowInvalid (a ValueError)
            raise DataError(f"{self.field}: cannot read {source.display(file)}: "
                            f"{' '.join(str(exc).split())[:300]}") from None

    def _rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        keep = frame[self.label].notna().to_numpy()
        if self.split is not None:
            keep = keep & self.split.is_validation(frame)
        return frame[keep].reset_index(drop=True)
