"""What a run asks Ray Train and Ray Tune for, from the spec: the worker range, its scaling and data configs,
and the ASHA scheduler that decides when a trial stops. No cluster: these are the objects handed to Ray."""

from __future__ import annotations

import pytest

from ray.tune.experiment import Trial
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from rayplane.spec import load_spec
from rayplane.training.resources import plan_resources
from rayplane.training.trainer import data_config, scaling_config, worker_range
from rayplane.tuning.tuner import _scheduler


def spec(workers=(1, 2), epochs=8, cpus="auto", **tune):
    return load_spec({
        "name": "plans",
        "data": {"path": "data", "task": "binary", "label": "y", "features": {"numeric": ["a"]}},
        "train": {"num_workers": {"min": workers[0], "max": workers[1]}, "epochs": epochs, "cpus_per_worker": cpus},
        "tune": tune,
    }, base_dir="/tmp")


# --- the worker group ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("workers", "fixed", "expected"), [
    ((1, 4), None, (1, 4)),   # a training run: the spec's elastic range
    ((2, 2), None, (2, 2)),
    ((1, 4), 3, (3, 3)),      # a tuning trial: its fixed group, both ways, whatever the spec's range
    ((2, 4), 1, (1, 1)),
])
def test_worker_range(workers, fixed, expected):
    assert worker_range(spec(workers), fixed) == expected


@pytest.mark.parametrize(("workers", "fixed", "num_workers", "elastic"), [
    ((1, 4), None, (1, 4), True),
    ((3, 3), None, 3, False),     # min == max is a fixed group, not a (3, 3) "elastic" one
    ((1, 4), 2, 2, False),
])
def test_scaling_config_asks_for_the_range_with_the_planned_cpus(workers, fixed, num_workers, elastic):
    s = spec(workers, cpus=0.75)
    config = scaling_config(s, plan_resources(s, 16), fixed)
    assert config.num_workers == num_workers and config.elasticity_enabled is elastic
    assert (config.min_workers, config.max_workers) == worker_range(s, fixed)
    assert config.resources_per_worker == {"CPU": 0.75}
    assert not config.use_gpu
    # Nodes an autoscaler adds are taken up within half a minute, not Ray's default minute.
    assert config.elastic_resize_monitor_interval_s == 30.0


@pytest.mark.parametrize(("workers", "fixed", "split"), [
    ((1, 1), None, []),       # one worker reads the datasets itself, no streaming split
    ((1, 2), None, "all"),    # a group that may grow to two splits them
    ((1, 2), 1, []),          # a one-worker trial of the same spec does not
    ((1, 1), 2, "all"),
])
def test_data_config_splits_only_when_there_can_be_more_than_one_worker(workers, fixed, split):
    # DataConfig keeps the choice privately; applying it (configure) needs real datasets on a cluster.
    assert data_config(spec(workers), fixed)._datasets_to_split == split


# --- ASHA ----------------------------------------------------------------------------------------------------


def first_stop(scheduler: ASHAScheduler, trial_id: str, scores: list[float]) -> int | None:
    """The epoch at which ``scheduler`` stops a trial reporting ``scores`` (epoch 1 first), or None."""
    trial = Trial("trainable", config={}, trial_id=trial_id, stub=True)
    scheduler.on_trial_add(None, trial)
    for epoch, score in enumerate(scores, start=1):
        decision = scheduler.on_trial_result(None, trial, {"training_iteration": epoch, "val_auc": score})
        if decision == TrialScheduler.STOP:
            return epoch
    return None


def stops(spec_, leader_scores: list[float], follower_scores: list[float]) -> tuple[int | None, int | None]:
    """Where a leading trial and then a second trial are stopped, run one after the other as Tune would report."""
    scheduler = _scheduler(spec_)
    # What tune.Tuner does with its TuneConfig's metric and mode.
    scheduler.set_search_properties("val_auc", "max")
    return first_stop(scheduler, "leader", leader_scores), first_stop(scheduler, "follower", follower_scores)


@pytest.mark.parametrize(("grace", "factor", "epochs"), [(1, 2, 8), (2, 2, 8), (1, 3, 9), (2, 3, 12)])
def test_asha_stops_a_worse_trial_at_the_grace_period_and_the_next_rung(grace, factor, epochs):
    s = spec(epochs=epochs, early_stopping={"grace_period": grace, "reduction_factor": factor})
    flat = [0.5] * epochs
    # The leader runs to the last epoch, max_t = epochs, where Tune stops it.
    # A trial worse from the start survives until the grace period, and is stopped there.
    assert stops(s, flat, [0.1] * epochs) == (epochs, grace)
    # One better than the leader up to the grace period and worse after it reaches the next rung: grace x factor.
    ahead_then_behind = [0.9] * grace + [0.1] * (epochs - grace)
    assert stops(s, flat, ahead_then_behind) == (epochs, grace * factor)


@pytest.mark.parametrize(("epochs", "early_stopping"), [
    (8, None),                                                 # spec: early_stopping: null
    (1, {"grace_period": 1, "reduction_factor": 2}),           # nothing to stop before the last epoch
    (3, {"grace_period": 3, "reduction_factor": 2}),
    (2, {"grace_period": 5, "reduction_factor": 2}),
])
def test_no_scheduler_when_early_stopping_is_off_or_cannot_stop_anything(epochs, early_stopping):
    assert _scheduler(spec(epochs=epochs, early_stopping=early_stopping)) is None


def test_the_default_early_stopping_is_asha_with_grace_1_and_factor_2():
    s = spec(epochs=4)
    assert stops(s, [0.5] * 4, [0.9, 0.1, 0.1, 0.1]) == (4, 2)
