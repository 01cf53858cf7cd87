"""Trials to reach a target validation AUC: rayplane's seeded TPE vs random search, same budget and space.

Both run through Ray Tune with ``OptunaSearch`` (the sampler is the only difference: rayplane's
``TPESampler(n_startup_trials=tune.n_startup_trials, seed)`` vs ``RandomSampler(seed)``), one trial at a
time so each suggestion sees every earlier result, for several seeds. The trainable is small but real: the
built-in MLP trained with the trial's hyperparameters on a few thousand synthetic rows, scored by validation
AUC. The target is the 90th percentile of all random-search scores (a score one random configuration in ten
reaches), so random search needs about ten trials by construction; a run that never reaches it counts as
budget + 1 trials.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import Context, encode_in_memory, figure, synthetic_spec, write_result

NAME = "search"
TARGET_QUANTILE = 0.9
# Wide on purpose: whole regions (tiny learning rates, heavy weight decay or dropout) learn little.
SEARCH_SPACE = {
    "lr": {"type": "loguniform", "low": 1e-5, "high": 0.3},
    "hidden": {"type": "choice", "values": [4, 8, 16, 32, 64, 128]},
    "layers": {"type": "int", "low": 1, "high": 3},
    "dropout": {"type": "uniform", "low": 0.0, "high": 0.7},
    "weight_decay": {"type": "loguniform", "low": 1e-6, "high": 0.3},
}
BATCH_SIZE, EPOCHS = 256, 2


def run(ctx: Context) -> dict[str, Any]:
    started = time.perf_counter()
    size = ctx.size
    spec = synthetic_spec(ctx, size.search_rows, **{"tune.search_space": SEARCH_SPACE})
    _, train, validation = encode_in_memory(spec)
    scores = {sampler: [search(ctx, spec, train, validation, sampler, seed) for seed in range(size.search_seeds)]
              for sampler in ("tpe", "random")}
    target = float(np.quantile([s for run_ in scores["random"] for s in run_], TARGET_QUANTILE))
    trials = {sampler: [_trials_to(target, run_) for run_ in runs] for sampler, runs in scores.items()}
    median = {sampler: statistics.median(counts) for sampler, counts in trials.items()}
    ratio = median["tpe"] / median["random"]
    figures = [figure("trials to target validation AUC (median over seeds)", ratio,
                      baseline=f"random search, same budget ({size.search_trials} trials), {size.search_seeds} seeds",
                      target="<= 0.6", met=ratio <= 0.6)]
    measurements = {"target_auc": target, "target_quantile": TARGET_QUANTILE, "budget": size.search_trials,
                    "seeds": size.search_seeds, "n_startup_trials": spec.tune.n_startup_trials,
                    "trials_to_target": trials, "median_trials": median,
                    "best_auc": {s: [max(r) for r in runs] for s, runs in scores.items()},
                    "scores": scores, "rows": size.search_rows, "search_space": SEARCH_SPACE}
    return write_result(ctx, NAME, figures, measurements, started)


def _trials_to(target: float, scores: list[float]) -> int:
    return next((i + 1 for i, s in enumerate(scores) if s >= target), len(scores) + 1)


def search(ctx: Context, spec, train, validation, sampler: str, seed: int) -> list[float]:
    """Validation AUCs of one search's trials, in the order they ran."""
    import optuna
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    from rayplane.tuning.search_space import to_tune_space

    samplers = {
        "tpe": lambda: optuna.samplers.TPESampler(n_startup_trials=spec.tune.n_startup_trials, seed=seed),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
    }
    tuner = tune.Tuner(
        tune.with_parameters(trainable, train=train, validation=validation, task=spec.data.task),
        param_space=to_tune_space(spec.tune.search_space),
        tune_config=tune.TuneConfig(metric="val_auc", mode="max", num_samples=ctx.size.search_trials,
                                    max_concurrent_trials=1, reuse_actors=True, search_alg=OptunaSearch(sampler=samplers[sampler]())),
        run_config=tune.RunConfig(name=f"search-{sampler}-{seed}-{time.time_ns()}",
                                  storage_path=str(ctx.work_dir / "search"), verbose=0),
    )
    grid = tuner.fit()
    # A trial's experiment tag starts with Tune's creation counter ("7_dropout=..."): the order the sampler
    # suggested them in. (Tune's timestamps are whole seconds, and trials this small share them.)
    done = sorted((int(r.metrics["experiment_tag"].split("_", 1)[0]), r.metrics["val_auc"])
                  for r in grid if r.error is None and r.metrics)
    return [auc for _, auc in done]


def trainable(config: dict[str, Any], train: dict, validation: dict, task: str) -> None:
    from ray import tune

    tune.report({"val_auc": fit_and_score(config, train, validation, task)})


def fit_and_score(config: dict[str, Any], train: dict, validation: dict, task: str) -> float:
    from rayplane.modeling.builder import build_model
    from rayplane.modeling.tasks import as_target, loss_fn

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.from_numpy(np.require(train["x"], requirements="W"))
    y = as_target(task, torch.from_numpy(np.require(train["y"], requirements="W")))
    model = build_model(None, x.shape[1], 1, {k: config[k] for k in ("hidden", "layers", "dropout")})
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    criterion = loss_fn(task)
    for _ in range(EPOCHS):
        for start in range(0, len(x), BATCH_SIZE):
            optimizer.zero_grad(set_to_none=True)
            criterion(model(x[start:start + BATCH_SIZE]), y[start:start + BATCH_SIZE]).backward()
            optimizer.step()
    model.eval()
    with torch.inference_mode():
        scores = model(torch.from_numpy(np.require(validation["x"], requirements="W"))).view(-1).numpy()
    return auc(scores, validation["y"])


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Rank-based ROC AUC (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    # Average the ranks of tied scores.
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inverse, weights=ranks) / counts)[inverse]
    pos = labels == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return 0.5
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
