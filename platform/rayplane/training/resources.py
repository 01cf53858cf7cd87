"""Size 'auto' resources to the cluster so training never starves Ray Data of CPU."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rayplane.errors import SpecError
from rayplane.spec import WorkloadSpec


@dataclass(frozen=True)
class ResourcePlan:
    cpus_per_worker: float
    max_concurrent_trials: int
    reserved_for_data: float
    # A tuning trial trains on a fixed worker group of this size, not on the elastic range: trials compare
    # fairly only at one world size, and an elastic group that Tune stops (ASHA, or its last epoch) leaves its
    # autoscaling reservation behind for 3 minutes, which holds the next trial's elastic start back as long.
    trial_workers: int


def plan_resources(spec: WorkloadSpec, cluster_cpus: float) -> ResourcePlan:
    """CPUs per Train worker and concurrent trials for a cluster of ``cluster_cpus``.

    A quarter of the CPUs (at least one) stays free for Ray Data's read and preprocessing tasks: with every
    CPU taken by workers, ingest backpressures forever and training hangs (seen on 2 CPUs).
    """
    reserve = max(1.0, 0.25 * cluster_cpus)
    budget = max(cluster_cpus - reserve, 0.25)
    workers = spec.train.num_workers.max
    if spec.train.cpus_per_worker == "auto":
        # Quarter-CPU steps keep placement groups packable; one full CPU is what a small torch model uses.
        cpus = max(0.25, min(1.0, math.floor(budget / workers * 4) / 4))
    else:
        cpus = float(spec.train.cpus_per_worker)
    # As many of the range as fit the CPU budget now, and never fewer than its minimum.
    trial_workers = max(spec.train.num_workers.min, min(workers, int(budget // cpus)))
    if spec.tune.max_concurrent_trials == "auto":
        concurrent = max(1, min(spec.tune.num_samples, int(budget // (trial_workers * cpus))))
    else:
        concurrent = int(spec.tune.max_concurrent_trials)
    return ResourcePlan(cpus_per_worker=cpus, max_concurrent_trials=concurrent, reserved_for_data=reserve,
                        trial_workers=trial_workers)


def check_fits(spec: WorkloadSpec, plan: ResourcePlan, cluster_cpus: float) -> None:
    """SpecError when the smallest worker group needs more CPUs than a cluster that will not grow has.

    Such a run would not fail by itself: its placement group would wait forever.
    """
    workers = spec.train.num_workers.min
    needed = workers * plan.cpus_per_worker
    if needed > cluster_cpus:
        raise SpecError(
            f"train.cpus_per_worker: {workers} worker(s) x {plan.cpus_per_worker:g} CPU need {needed:g} CPUs, "
            f"but this cluster has {cluster_cpus:g}; lower it (or train.num_workers.min), or use 'auto'"
        )
