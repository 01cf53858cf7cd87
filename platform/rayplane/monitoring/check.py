"""``rayplane drift``: a dataset (any input format, local or a URI) against a version's training statistics.

The files and their columns are checked against the version's input schema before Ray starts; Ray Data then
counts each block where it lives (``Baseline.count``) and only the small counts travel to the driver.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from rayplane.data.formats import find_input, schema_columns
from rayplane.errors import DataError, RegistryError
from rayplane.monitoring.psi import Baseline, DriftReport, merge
from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.runtime import connect
from rayplane.spec import WorkloadSpec
from rayplane.storage import Storage


def baseline(version: ModelVersion) -> Baseline:
    state = json.loads(version.read("preprocessor.json"))
    try:
        return Baseline(state)
    except ValueError as exc:
        raise RegistryError(f"{version.uri}: {exc} (registered before rayplane kept them); retrain to monitor "
                            "its drift") from None


def drift(spec: WorkloadSpec, *, data: str, version: int | None = None, format: str | None = None,
          address: str | None = None) -> tuple[ModelVersion, DriftReport]:
    """Compare the data at ``data`` with version ``version``'s (default: the latest) training statistics."""
    model = ModelRegistry(Storage.for_spec(spec).models()).get(spec.name, version)
    reference = baseline(model)
    inputs = find_input(data, format, field="--data")
    inputs.check(schema_columns(model.metadata["input_schema"], f"the input schema of {model.uri}"))
    import ray
    import ray.data

    connect(address)
    # Ray Data's per-operator bars would interleave with the report.
    ray.data.DataContext.get_current().enable_progress_bars = False
    partials = inputs.read(reference.columns).map_batches(
        _count_block, batch_format="pandas", fn_kwargs={"reference": reference})
    total: dict[str, Any] | None = None
    try:
        for row in partials.iter_rows():
            part = json.loads(row["counts"])
            total = part if total is None else merge(total, part)
    except ray.exceptions.RayError as exc:
        cause = getattr(exc, "cause", None) or exc
        raise DataError(f"--data: reading {inputs.uri} failed: {(str(cause).strip().splitlines() or [''])[0]}") from None
    if total is None or total["rows"] == 0:
        raise DataError(f"--data: {inputs.uri} holds no rows")
    return model, reference.compare(total, spec.monitoring.drift_threshold)


def _count_block(batch: pd.DataFrame, reference: Baseline) -> pd.DataFrame:
    return pd.DataFrame({"counts": [json.dumps(reference.count(batch))]})
