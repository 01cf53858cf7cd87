"""A registered version loaded for inference: the fitted preprocessing, then the network."""

from __future__ import annotations

import pickle
from typing import Any

import pandas as pd
import torch

from rayplane.data.preprocess import Preprocessor
from rayplane.errors import RegistryError
from rayplane.modeling.builder import build_model, read_model_code
from rayplane.modeling.tasks import decode
from rayplane.registry import ModelVersion


class Predictor:
    def __init__(self, version: ModelVersion) -> None:
        meta = version.metadata
        self.version = version
        self.task: str = meta["task"]
        self.preprocessor = Preprocessor.load(version.path / "preprocessor.json")
        code = version.path / "model_code.py"
        self.model = build_model(
            read_model_code(code) if code.is_file() else None,
            self.preprocessor.input_dim,
            meta["output_dim"],
            meta["model_params"],
            origin=str(code),
        )
        weights = version.path / "model.pt"
        try:
            self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        except (OSError, RuntimeError, pickle.UnpicklingError) as exc:
            raise RegistryError(f"{weights}: cannot load the weights of {version.uri}: {exc}") from exc
        self.model.eval()

    def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        frame = pd.DataFrame.from_records(records, columns=self.preprocessor.feature_columns)
        features = torch.from_numpy(self.preprocessor.transform_features(frame))
        with torch.inference_mode():
            outputs = self.model(features)
        return decode(self.task, outputs, self.preprocessor.label_stats)
