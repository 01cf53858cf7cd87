"""Build a Ray Train ``TorchTrainer`` from the spec and run it."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ray.train import CheckpointConfig, DataConfig, FailureConfig, RunConfig, ScalingConfig, TrainingFailedError
from ray.train.torch import TorchTrainer
from rayplane.data import PreparedData
from rayplane.errors import TrainingError
from rayplane.modeling.builder import read_model_code
from rayplane.spec import WorkloadSpec
from rayplane.spec.models import TRAIN_HYPERPARAMS
from rayplane.storage import Storage
from rayplane.training.loop import train_loop_per_worker
from rayplane.training.resources import ResourcePlan


def resolve_params(spec: WorkloadSpec, params: dict[str, Any]) -> dict[str, Any]:
    """The spec's training hyperparameters and model params with ``params`` (tuned values) applied."""
    return {
        **{key: params.get(key, getattr(spec.train, key)) for key in TRAIN_HYPERPARAMS},
        "optimizer": spec.train.optimizer,
        "model_params": {**spec.model.params, **{k: v for k, v in params.items() if k not in TRAIN_HYPERPARAMS}},
    }


def loop_config(spec: WorkloadSpec, data: PreparedData, plan: ResourcePlan, params: dict[str, Any],
                initial_weights: str | None = None) -> dict[str, Any]:
    """Plain data for every worker; ``initial_weights`` is the location of a registered version to start from."""
    return {
        **resolve_params(spec, params),
        "checkpoint_every": spec.train.checkpoint_every,
        "workload": spec.name,
        "task": spec.data.task,
        "input_dim": data.preprocessor.input_dim,
        "output_dim": spec.data.output_dim,
        "label_stats": data.preprocessor.label_stats,
        "model_code": read_model_code(spec.resolve(spec.model.code) if spec.model.code else None),
        "model_origin": spec.model.code or "built-in MLP",
        "cpus_per_worker": plan.cpus_per_worker,
        "seed": spec.tune.seed,
        "initial_weights": initial_weights,
    }


def worker_range(spec: WorkloadSpec, fixed_workers: int | None = None) -> tuple[int, int]:
    """(min, max) workers: the spec's elastic range, or ``fixed_workers`` both ways when given (a tuning trial)."""
    workers = spec.train.num_workers
    return (workers.min, workers.max) if fixed_workers is None else (fixed_workers, fixed_workers)


def scaling_config(spec: WorkloadSpec, plan: ResourcePlan, fixed_workers: int | None = None) -> ScalingConfig:
    low, high = worker_range(spec, fixed_workers)
    return ScalingConfig(
        num_workers=low if low == high else (low, high),
        resources_per_worker={"CPU": plan.cpus_per_worker},
        # Re-check for room to grow every 30 s rather than Ray's 60 s: autoscaled nodes join in seconds.
        elastic_resize_monitor_interval_s=30.0,
    )


def data_config(spec: WorkloadSpec, fixed_workers: int | None = None) -> DataConfig:
    """Split the datasets across workers only when there can be more than one worker.

    A single worker reads the dataset itself instead of through a streaming split: the split's coordinator
    actor costs seconds to start and then delivers about half the rows/s of a plain iterator (profiled on a
    cached split: ~1M vs 2-3M rows/s), a large share of a small model's epoch.
    """
    _, most = worker_range(spec, fixed_workers)
    return DataConfig(datasets_to_split="all" if most > 1 else [])


def run_config(spec: WorkloadSpec, name: str, callbacks: list | None = None) -> RunConfig:
    return RunConfig(
        name=name,
        **Storage.for_spec(spec).ray_storage(),
        failure_config=FailureConfig(max_failures=spec.train.max_failures),
        checkpoint_config=CheckpointConfig(num_to_keep=2),
        callbacks=callbacks,
    )


@dataclass(frozen=True)
class TrainOutcome:
    metrics: dict[str, Any]
    checkpoint_path: str
    params: dict[str, Any]
    run_name: str


def build_trainer(spec: WorkloadSpec, data: PreparedData, plan: ResourcePlan, params: dict[str, Any],
                  name: str, callbacks: list | None = None, fixed_workers: int | None = None,
                  initial_weights: str | None = None) -> TorchTrainer:
    return TorchTrainer(
        train_loop_per_worker,
        train_loop_config=loop_config(spec, data, plan, params, initial_weights),
        scaling_config=scaling_config(spec, plan, fixed_workers),
        run_config=run_config(spec, name, callbacks),
        datasets={"train": data.train, "validation": data.validation},
        dataset_config=data_config(spec, fixed_workers),
    )


@contextlib.contextmanager
def ctrl_c_handler_kept() -> Iterator[None]:
    """Put back this process's Ctrl-C handler after a Ray Train or Tune run on the main thread.

    Both install their own handler and leave it behind. Train's holds the run's controller actor, which then
    lives on, and keeps its worker group's CPUs reserved, until the process ends: a notebook's next run, or the
    endpoint that `rayplane run` deploys next, would find those CPUs taken.
    """
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if on_main else None
    try:
        yield
    finally:
        if on_main:
            signal.signal(signal.SIGINT, previous)


def train_model(spec: WorkloadSpec, data: PreparedData, plan: ResourcePlan, name: str,
                params: dict[str, Any] | None = None, initial_weights: str | None = None) -> TrainOutcome:
    """One training run; re-running with the same ``name`` resumes from its last checkpoint."""
    params = params or {}
    try:
        with ctrl_c_handler_kept():
            result = build_trainer(spec, data, plan, params, name, initial_weights=initial_weights).fit()
    except TrainingFailedError as exc:
        raise TrainingError(f"training run {name!r} failed: {exc}; logs under {Storage.for_spec(spec).run(name).display}") from exc
    if result.checkpoint is None:
        raise TrainingError(f"training run {name!r} finished without a checkpoint")
    return TrainOutcome(
        metrics={k: v for k, v in result.metrics.items() if isinstance(v, (int, float))},
        checkpoint_path=result.checkpoint.path,
        params=params,
        run_name=name,
    )
