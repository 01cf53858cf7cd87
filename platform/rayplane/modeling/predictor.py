"""A registered version loaded for inference: the fitted preprocessing, then the network."""

from __future__ import annotations

import copy
import io
import pickle
from typing import Any

import numpy as np
import pandas as pd
import torch

from rayplane.data.preprocess import Preprocessor
from rayplane.errors import RegistryError
from rayplane.modeling.builder import build_model
from rayplane.modeling.quantize import quantize, quiet_deprecations
from rayplane.modeling.tasks import decode, decode_columns
from rayplane.registry import ModelVersion


class Predictor:
    def __init__(self, version: ModelVersion) -> None:
        meta = version.metadata
        self.version = version
        self.task: str = meta["task"]
        # Read straight from storage, local or remote: a replica keeps no copy of the version on its disk.
        self.preprocessor = Preprocessor.loads(version.read("preprocessor.json"),
                                               (version.location / "preprocessor.json").display)
        code = version.location / "model_code.py"
        self.model = build_model(
            version.read("model_code.py").decode() if version.has("model_code.py") else None,
            self.preprocessor.input_dim,
            meta["output_dim"],
            meta["model_params"],
            origin=code.display,
        )
        variant = meta.get("variant")
        if variant:
            # A compressed variant stores the quantized state dict: the float network is converted first so
            # that the state dict's packed int8 weights have somewhere to go.
            self.model = quantize(self.model.eval(), variant["kind"])
        weights = version.location / "model.pt"
        try:
            self.model.load_state_dict(read_weights(version))
        except RuntimeError as exc:
            raise RegistryError(f"{weights.display}: cannot load the weights of {version.uri}: {exc}") from exc
        self.model.eval()

    def compressed(self, variant: str) -> Predictor:
        """The same predictor with its network compressed as ``variant`` (see ``rayplane.modeling.quantize``)."""
        twin = copy.copy(self)
        twin.model = quantize(self.model, variant)
        return twin

    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        frame = pd.DataFrame.from_records(records, columns=self.preprocessor.feature_columns)
        return decode(self.task, self.outputs(frame), self.preprocessor.label_stats)

    def predict_columns(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The answers for every row of ``frame`` as columns (``label``/``probability``... per task)."""
        return decode_columns(self.task, self.outputs(frame), self.preprocessor.label_stats)

    def outputs(self, frame: pd.DataFrame) -> torch.Tensor:
        """The network's raw outputs (logits, or standardised values) for the feature columns of ``frame``."""
        features = torch.from_numpy(self.preprocessor.transform_features(frame))
        with torch.inference_mode():
            return self.model(features)


def read_weights(version: ModelVersion) -> dict[str, torch.Tensor]:
    """The version's state dict, read straight from storage (no local copy)."""
    weights = version.location / "model.pt"
    try:
        with quiet_deprecations():
            return torch.load(io.BytesIO(version.read("model.pt")), map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError) as exc:
        raise RegistryError(f"{weights.display}: cannot load the weights of {version.uri}: {exc}") from exc
