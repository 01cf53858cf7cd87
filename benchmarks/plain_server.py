"""The serving baseline: the same model and the same FastAPI routes, run by plain uvicorn with no Ray.

    RAYPLANE_BENCH_MODEL=<version dir> uvicorn benchmarks.plain_server:app --port 8001

The routes are rayplane's own (``make_api``), so both sides parse, validate and answer identically; only the
request path differs: here the model runs in the uvicorn process, one request at a time, unbatched.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from rayplane.modeling.predictor import Predictor
from rayplane.registry import ModelVersion
from rayplane.serve.api import make_api
from rayplane.serve.schema import example_record, typical_values


class PlainServer:
    def __init__(self, model_dir: str) -> None:
        torch.set_num_threads(1)  # as a rayplane replica
        self.version = ModelVersion.at(model_dir)
        self.predictor = Predictor(self.version)
        self.example = example_record(self.version.metadata["input_schema"], typical_values(self.predictor.preprocessor))
        self.max_records = 10_000

    async def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.predictor.predict(records)


app = make_api(PlainServer(os.environ["RAYPLANE_BENCH_MODEL"])) if "RAYPLANE_BENCH_MODEL" in os.environ else None
