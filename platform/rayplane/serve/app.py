"""The Serve deployment: a replica that loads one registered version and answers over FastAPI.

Requests are batched by record, not by request: each request's records join a ``@serve.batch`` queue in
chunks of at most ``max_batch_size`` records, the replica runs the model once on all the records of a batch,
and every request gets its own answers back in order.
"""

from __future__ import annotations

import asyncio
from typing import Any

import torch
from fastapi import FastAPI
from ray import serve
from ray.serve import Application

from rayplane.metrics import record_drift
from rayplane.modeling.predictor import Predictor
from rayplane.monitoring.psi import Baseline
from rayplane.monitoring.window import DriftWindow
from rayplane.registry import ModelVersion
from rayplane.serve.api import make_api
from rayplane.serve.config import deployment_options, parse_args, serve_settings
from rayplane.serve.schema import check_input_schema, example_record, typical_values
from rayplane.spec.models import MonitoringSpec


def build_app(args: dict[str, Any]) -> Application:
    """The ``import_path`` target: ``args`` are ``rayplane.serve.config.app_args`` (model_dir and serve knobs).

    ``model_dir`` is the version's location, a path or a URI. The version's metadata and input schema are
    checked here, where the app is built, so a bad model location fails the deploy with one message instead of crash-looping replicas.
    """
    model_dir, settings = parse_args(args)
    version = ModelVersion.at(model_dir)
    check_input_schema(version.metadata.get("input_schema"))
    # Not part of the config's deployment entry (ServeDeploySchema has no such field), so set in code: a
    # version that cannot load fails the same way every time, and Serve's default of 20 attempts only
    # delays the error.
    return ModelServer.options(**deployment_options(settings), max_constructor_retry_count=3).bind(model_dir)


# The window's PSIs are exported as gauges every this many records (and on each GET /drift).
DRIFT_EXPORT_EVERY = 1000


def drift_window(version: ModelVersion, preprocessor) -> DriftWindow | None:
    """A window of live requests against the version's training statistics (None for a version without them).

    The threshold is the one in the spec the version was trained with (``monitoring.drift_threshold``).
    """
    try:
        baseline = Baseline(preprocessor.state)
    except ValueError:
        return None
    spec = version.metadata.get("spec") or {}
    threshold = (spec.get("monitoring") or {}).get("drift_threshold", MonitoringSpec().drift_threshold)
    return DriftWindow(baseline, threshold)


def _records_in(chunks: list[list[dict[str, Any]]]) -> int:
    return sum(len(chunk) for chunk in chunks)


@serve.deployment
@serve.ingress()
class ModelServer:
    def __init__(self, model_dir: str) -> None:
        # One thread per replica: replicas scale out as processes, and intra-op threads would fight
        # each other (and the proxy) for the same cores.
        torch.set_num_threads(1)
        self.version = ModelVersion.at(model_dir)
        self.predictor = Predictor(self.version)
        typical = typical_values(self.predictor.preprocessor)
        self.example = example_record(self.version.metadata["input_schema"], typical)
        self.window = drift_window(self.version, self.predictor.preprocessor)
        self.reconfigure({})

    def reconfigure(self, user_config: dict[str, Any]) -> None:
        limits = serve_settings(user_config, "user_config")
        self.max_batch_size = limits.max_batch_size
        self.max_records = limits.max_records_per_request
        self._predict_batch.set_max_batch_size(limits.max_batch_size)
        self._predict_batch.set_batch_wait_timeout_s(limits.batch_wait_timeout_s)

    def __serve_build_asgi_app__(self) -> FastAPI:
        return make_api(self)

    async def predict(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        size = self.max_batch_size
        if len(records) <= size:
            return await self._predict_batch(records)
        parts = await asyncio.gather(*(self._predict_batch(records[i:i + size]) for i in range(0, len(records), size)))
        return [answer for part in parts for answer in part]

    def drift(self) -> dict[str, Any]:
        """Drift over this replica's window of live requests; the PSIs also go out as Prometheus gauges."""
        if self.window is None:
            return {"available": False, "reason": f"{self.version.uri} has no training quantile bins (registered "
                    "before rayplane kept them); retrain to monitor its drift"}
        report = self.window.report()
        if report is None:
            return {"available": True, "window_records": 0, "features": []}
        record_drift(self.version.name, self.version.version, {f["feature"]: f["psi"] for f in report.features})
        return {"available": True, "window_records": report.rows, "records_seen": self.window.seen,
                **report.to_dict()}

    @serve.batch(batch_size_fn=_records_in)
    async def _predict_batch(self, chunks: list[list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
        records = [record for chunk in chunks for record in chunk]
        answers = self.predictor.predict(records)
        if self.window is not None:
            exported = self.window.seen // DRIFT_EXPORT_EVERY
            self.window.add(records)
            if self.window.seen // DRIFT_EXPORT_EVERY > exported:
                self.drift()
        split, start = [], 0
        for chunk in chunks:
            split.append(answers[start:start + len(chunk)])
            start += len(chunk)
        return split
