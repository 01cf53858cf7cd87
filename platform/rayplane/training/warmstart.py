"""Warm start: train a new version from a registered version's weights, on new data.

By default the parent's fitted preprocessing is kept unchanged, so old and new versions encode a request the
same way and answer on one scale; a refit is allowed when it keeps the encoding's width, and what it changed
is listed. Everything is checked before Ray Train starts: the parent exists, it takes the spec's features,
and its weights load into the spec's model (same architecture).
"""

from __future__ import annotations

import json
from typing import Any

from rayplane.data.preprocess import Preprocessor
from rayplane.errors import TrainingError
from rayplane.modeling.builder import build_model, read_model_code
from rayplane.modeling.predictor import read_weights
from rayplane.registry import ModelVersion
from rayplane.spec import WorkloadSpec


def parent_preprocessor(spec: WorkloadSpec, parent: ModelVersion) -> Preprocessor:
    """The parent's preprocessing; TrainingError when it does not take the spec's features and label."""
    preprocessor = Preprocessor.loads(parent.read("preprocessor.json"), (parent.location / "preprocessor.json").display)
    features = spec.data.features
    theirs = (preprocessor.numeric_columns, preprocessor.categorical_columns, preprocessor.label, preprocessor.task)
    ours = (features.numeric, features.categorical, spec.data.label, spec.data.task)
    for what, a, b in zip(("numeric features", "categorical features", "label", "task"), theirs, ours):
        if a != b:
            raise TrainingError(f"--from {parent.version}: {parent.uri} was trained with {what} {a}, the spec has "
                                f"{b}; a warm start needs the same inputs")
    return preprocessor


def check_architecture(spec: WorkloadSpec, parent: ModelVersion, input_dim: int, model_params: dict[str, Any]) -> None:
    """Load the parent's weights into the model this spec builds; TrainingError naming what differs."""
    model = build_model(read_model_code(spec.resolve(spec.model.code) if spec.model.code else None), input_dim,
                        spec.data.output_dim, model_params, origin=spec.model.code or "built-in MLP")
    try:
        model.load_state_dict(read_weights(parent))
    except RuntimeError as exc:
        theirs = parent.metadata.get("model_params")
        detail = (f"its model params are {json.dumps(theirs, sort_keys=True)}, the spec's "
                  f"{json.dumps(model_params, sort_keys=True)}" if theirs != model_params
                  else f"the encoded input is {input_dim} wide")
        lines = str(exc).strip().splitlines()
        raise TrainingError(f"--from {parent.version}: the weights of {parent.uri} do not fit the spec's model "
                            f"({detail}): {lines[-1].strip()}") from None


def preprocessing_changes(old: Preprocessor, new: Preprocessor) -> list[str]:
    """What a refit changed, one line per feature that changed."""
    changes = []
    for before, after in zip(old.state["numeric"], new.state["numeric"]):
        if (before["shift"], before["scale"]) != (after["shift"], after["scale"]):
            changes.append(f"{after['name']}: shift {before['shift']:.4g} -> {after['shift']:.4g}, "
                           f"scale {before['scale']:.4g} -> {after['scale']:.4g}")
    for before, after in zip(old.state["categorical"], new.state["categorical"]):
        added = [c for c in after["categories"] if c not in before["categories"]]
        dropped = [c for c in before["categories"] if c not in after["categories"]]
        moved = not added and not dropped and before["categories"] != after["categories"]
        if added or dropped or moved:
            changes.append(f"{after['name']}: categories " + ", ".join(filter(None, [
                f"added {added}" if added else "", f"dropped {dropped}" if dropped else "",
                "reordered" if moved else ""])))
    return changes
