"""Ray Tune + Optuna (TPE, seeded) + ASHA over trials that each drive a Ray Train run."""

from __future__ import annotations

from typing import Any

import optuna

from ray import tune
from ray.tune.result import AUTO_RESULT_KEYS, DONE
from ray.tune.integration.ray_train import CHECKPOINT_PATH_KEY, TuneReportCallback
from ray.tune.schedulers import ASHAScheduler
from ray.tune.search.optuna import OptunaSearch
from rayplane.data import PreparedData
from rayplane.errors import TrainingError
from rayplane.spec import WorkloadSpec
from rayplane.storage import Storage
from rayplane.training.resources import ResourcePlan
from rayplane.training.trainer import TrainOutcome, build_trainer, ctrl_c_handler_kept
from rayplane.tuning.search_space import to_tune_space


# What Tune adds to each report; the registry keeps only what training measured.
TUNE_KEYS = {*AUTO_RESULT_KEYS, DONE, "training_iteration", "iterations_since_restore"}


def _trial(config: dict[str, Any], *, spec: WorkloadSpec, data: PreparedData, plan: ResourcePlan,
           experiment: str) -> None:
    """One trial: a TorchTrainer whose reports reach Tune through TuneReportCallback (the Train V2 pattern)."""
    trial_id = tune.get_context().get_trial_id()
    trainer = build_trainer(spec, data, plan, config, f"{experiment}-{trial_id}", callbacks=[TuneReportCallback()],
                            fixed_workers=plan.trial_workers)
    trainer.fit()


def tune_model(spec: WorkloadSpec, data: PreparedData, plan: ResourcePlan, experiment: str) -> TrainOutcome:
    """Search the spec's space; resume the experiment when ``experiment`` already ran under the storage root."""
    metric, mode = spec.metric
    trainable = tune.with_resources(
        tune.with_parameters(_trial, spec=spec, data=data, plan=plan, experiment=experiment),
        # The driver only waits on its trainer: it asks for a token of memory, so its CPU goes to workers.
        {"memory": 64 * 1024**2},
    )
    storage = Storage.for_spec(spec)
    run = storage.run(experiment)
    if tune.Tuner.can_restore(run.path, storage_filesystem=run.filesystem):
        tuner = tune.Tuner.restore(run.path, trainable, resume_unfinished=True, resume_errored=True,
                                   storage_filesystem=run.filesystem)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space=to_tune_space(spec.tune.search_space),
            tune_config=tune.TuneConfig(
                metric=metric,
                mode=mode,
                num_samples=spec.tune.num_samples,
                max_concurrent_trials=plan.max_concurrent_trials,
                search_alg=OptunaSearch(
                    sampler=optuna.samplers.TPESampler(n_startup_trials=spec.tune.n_startup_trials, seed=spec.tune.seed),
                ),
                scheduler=_scheduler(spec),
            ),
            run_config=tune.RunConfig(name=experiment, **storage.ray_storage()),
        )
    with ctrl_c_handler_kept():
        grid = tuner.fit()
    finished = [r for r in grid if r.error is None and CHECKPOINT_PATH_KEY in (r.metrics or {})]
    if not finished:
        errors = "; ".join(f"{type(r.error).__name__}: {r.error}"[:300] for r in grid if r.error) or "no trial reported"
        raise TrainingError(f"tuning run {experiment!r} produced no model ({errors}); logs under {run.display}")
    sign = 1 if mode == "max" else -1
    best = max(finished, key=lambda r: sign * float(r.metrics[metric]))
    return TrainOutcome(
        metrics={k: v for k, v in best.metrics.items() if k not in TUNE_KEYS and isinstance(v, (int, float))},
        checkpoint_path=best.metrics[CHECKPOINT_PATH_KEY],
        params={k: best.config[k] for k in spec.tune.search_space},
        run_name=f"{experiment}/{best.metrics.get('trial_id', '')}",
    )


def _scheduler(spec: WorkloadSpec) -> ASHAScheduler | None:
    asha = spec.tune.early_stopping
    if asha is None or spec.train.epochs <= asha.grace_period:
        return None
    return ASHAScheduler(
        time_attr="training_iteration",
        max_t=spec.train.epochs,
        grace_period=asha.grace_period,
        reduction_factor=asha.reduction_factor,
    )
