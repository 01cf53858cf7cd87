"""Resource sizing: CPU left for Ray Data, the worker group of a tuning trial, and trials that run at once."""

from __future__ import annotations

import pytest

from rayplane.errors import SpecError
from rayplane.spec import load_spec
from rayplane.training.resources import check_fits, plan_resources
from rayplane.training.trainer import scaling_config


def spec(workers=(1, 2), cpus="auto", samples=4, concurrent="auto"):
    return load_spec({
        "name": "sizing",
        "data": {"path": "data", "task": "binary", "label": "y", "features": {"numeric": ["a"]}},
        "train": {"num_workers": {"min": workers[0], "max": workers[1]}, "cpus_per_worker": cpus},
        "tune": {"num_samples": samples, "max_concurrent_trials": concurrent},
    }, base_dir="/tmp")


@pytest.mark.parametrize(
    ("workers", "cpus", "cluster", "per_worker", "trial_workers", "concurrent"),
    [
        ((1, 2), "auto", 2, 0.5, 2, 1),   # the embedded 2-CPU default: one CPU for Data, two half-CPU workers
        ((1, 1), "auto", 2, 1.0, 1, 1),
        ((1, 4), "auto", 16, 1.0, 4, 3),  # 4 CPUs kept for Data, 12 left: 3 trials of 4 workers
        ((1, 2), 1.5, 2, 1.5, 1, 1),      # a group bigger than the budget shrinks to the range's minimum
        ((2, 8), 1.0, 8, 1.0, 6, 1),      # and a range larger than the cluster to what fits now
    ],
)
def test_plan_leaves_data_a_cpu_and_sizes_trials(workers, cpus, cluster, per_worker, trial_workers, concurrent):
    plan = plan_resources(spec(workers, cpus), cluster)
    assert plan.reserved_for_data >= 1
    assert (plan.cpus_per_worker, plan.trial_workers, plan.max_concurrent_trials) == (per_worker, trial_workers,
                                                                                       concurrent)


def test_a_trial_trains_on_a_fixed_group_and_a_run_on_the_elastic_range():
    s = spec((1, 2))
    plan = plan_resources(s, 2)
    assert scaling_config(s, plan).num_workers == (1, 2)
    assert scaling_config(s, plan, fixed_workers=plan.trial_workers).num_workers == 2
    assert scaling_config(spec((2, 2)), plan).num_workers == 2


def test_explicit_concurrency_is_kept():
    assert plan_resources(spec(concurrent=3), 2).max_concurrent_trials == 3


def test_a_minimum_group_the_cluster_cannot_hold_is_a_spec_error():
    s = spec((2, 2), cpus=1.5)
    with pytest.raises(SpecError, match=r"train.cpus_per_worker: 2 worker\(s\) x 1.5 CPU need 3 CPUs"):
        check_fits(s, plan_resources(s, 2), 2)
