"""A rayplane run's key figures as Ray metrics, exported with Ray's own on every node's Prometheus endpoint.

Ray prefixes application metrics with ``ray_``, so Prometheus sees e.g. ``ray_rayplane_train_samples_per_second``.
Every series carries the workload's name; Ray adds the node and process. Recording outside a Ray worker or
driver does nothing (there is no exporter to send to).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

LATENCY_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]


@cache
def _metrics():
    # Created on first use, inside the process that records: a metric belongs to that process's Ray worker.
    from ray.util.metrics import Counter, Gauge, Histogram

    return {
        "samples": Gauge("rayplane_train_samples_per_second", "Training throughput of the last epoch (all workers).",
                         tag_keys=("workload", "run")),
        "epoch": Gauge("rayplane_train_epoch", "Last finished epoch.", tag_keys=("workload", "run")),
        "metric": Gauge("rayplane_train_metric", "Metrics reported at the end of the last epoch (val_auc, "
                        "val_rmse, val_loss, ...).", tag_keys=("workload", "run", "metric")),
        "latency": Histogram("rayplane_serve_request_latency_seconds", "Time to answer one prediction request.",
                             boundaries=LATENCY_BUCKETS_S, tag_keys=("workload", "version")),
        "requests": Counter("rayplane_serve_requests_total", "Prediction requests by HTTP status.",
                            tag_keys=("workload", "version", "status")),
        "records": Counter("rayplane_serve_records_total", "Records predicted.", tag_keys=("workload", "version")),
        "drift": Gauge("rayplane_feature_drift", "Population stability index of a feature over the replica's window "
                       "of live requests against the version's training data.",
                       tag_keys=("model", "version", "feature")),
    }


def _ready() -> bool:
    import ray

    return ray.is_initialized()


def record_train_epoch(workload: str, run: str, epoch: int, samples_per_s: float,
                       metrics: Mapping[str, float]) -> None:
    """After each epoch, from one worker (rank 0): throughput of all workers and the reported metrics."""
    if not _ready():
        return
    m = _metrics()
    tags = {"workload": workload, "run": run}
    m["samples"].set(float(samples_per_s), tags=tags)
    m["epoch"].set(float(epoch), tags=tags)
    for name, value in metrics.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            m["metric"].set(float(value), tags={**tags, "metric": name})


def observe_request(workload: str, version: str | int, seconds: float, records: int, status: int = 200) -> None:
    """After each prediction request, from the replica (or proxy code) that answered it."""
    if not _ready():
        return
    m = _metrics()
    tags = {"workload": workload, "version": str(version)}
    m["latency"].observe(float(seconds), tags=tags)
    m["requests"].inc(1.0, tags={**tags, "status": str(status)})
    if records:
        m["records"].inc(float(records), tags=tags)


def record_drift(model: str, version: str | int, psi: Mapping[str, float]) -> None:
    """The PSI of each feature over a serving replica's window of live requests."""
    if not _ready():
        return
    gauge = _metrics()["drift"]
    for feature, value in psi.items():
        gauge.set(float(value), tags={"model": model, "version": str(version), "feature": feature})
