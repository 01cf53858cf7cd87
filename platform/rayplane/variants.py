"""Compressed variants of a registered version (``rayplane models quantize``).

A variant is registered as a version of its own (the next number), so everything that reads versions (serving,
the gate, aliases, KubeRay manifests) takes it unchanged; its metadata names its parent and kind and records
what compression cost and bought, measured here: the weights' size, the gate's metric on the same holdout as
the parent's, and the single-record and batch latency of both on this machine.
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Any

import pandas as pd
import torch

from rayplane.errors import RegistryError
from rayplane.modeling.predictor import Predictor
from rayplane.promotion.gate import score
from rayplane.promotion.holdout import Holdout
from rayplane.registry import ModelRegistry, ModelVersion
from rayplane.spec import WorkloadSpec

# Version metadata a variant does not inherit from its parent: the registry writes it anew.
OWN_KEYS = ("name", "version", "files", "created_at", "variant", "metrics")
SINGLE_CALLS = 50
BATCH_RECORDS = 1024
BATCH_CALLS = 5


def quantize_version(spec: WorkloadSpec, number: int, kind: str = "int8") -> ModelVersion:
    models = ModelRegistry.for_spec(spec)
    parent = models.get(spec.name, number)
    if parent.metadata.get("variant"):
        own = parent.metadata["variant"]
        raise RegistryError(f"{parent.uri} is itself the {own['kind']} variant of v{own['parent']}: "
                            f"quantize v{own['parent']} instead")
    full = Predictor(parent)
    compressed = full.compressed(kind)
    weights = io.BytesIO()
    torch.save(compressed.model.state_dict(), weights)
    scores = score(spec, {"parent": full, "variant": compressed})
    records = holdout_records(spec, full.preprocessor.feature_columns, BATCH_RECORDS)
    variant = {
        "kind": kind,
        "parent": number,
        "size_bytes": weights.getbuffer().nbytes,
        "parent_size_bytes": parent.metadata.get("files", {}).get("model.pt"),
        "metric": scores.metric,
        "value": scores.values["variant"],
        "parent_value": scores.values["parent"],
        "holdout": scores.holdout,
        "holdout_rows": scores.rows,
        "latency_ms": {"variant": latency(compressed, records), "parent": latency(full, records)},
    }
    metadata = {key: value for key, value in parent.metadata.items() if key not in OWN_KEYS}
    metadata.update(variant=variant, metrics={scores.metric: scores.values["variant"]})
    return models.register(spec.name, {**parent.files(), "model.pt": weights.getvalue()}, metadata)


def holdout_records(spec: WorkloadSpec, columns: list[str], count: int) -> list[dict[str, Any]]:
    """The first ``count`` holdout rows as request records (what a client would send)."""
    frames, rows = [], 0
    for frame in Holdout.of(spec).frames():
        frames.append(frame[columns])
        rows += len(frame)
        if rows >= count:
            break
    return pd.concat(frames).iloc[:count].to_dict("records")


def latency(predictor: Predictor, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Median milliseconds of one-record calls and of calls with the whole batch, in this process."""
    def median_ms(batch: list[dict[str, Any]], calls: int) -> float:
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            predictor.predict(batch)
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1000, 3)

    return {"single_record": median_ms(records[:1], SINGLE_CALLS), "batch": median_ms(records, BATCH_CALLS),
            "batch_records": len(records)}
