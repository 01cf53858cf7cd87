"""rayplane: one declarative workload spec from sharded Parquet to a served model, on Ray.

The Python API mirrors the CLI::

    import rayplane
    spec = rayplane.load_spec("workloads/flights_delay/workload.yaml")
    result = rayplane.run(spec, serve=False)
"""

import importlib

from rayplane.errors import (
    ClusterError,
    DataError,
    K8sError,
    PromotionError,
    RayplaneError,
    RegistryError,
    ServeError,
    SpecError,
    StorageError,
    TrainingError,
)
from rayplane.pipeline import RunResult, run, train, tune
from rayplane.promotion import promote, rollback
from rayplane.spec import WorkloadSpec, load_spec, spec_hash

__all__ = [
    "ClusterError",
    "DataError",
    "K8sError",
    "PromotionError",
    "RayplaneError",
    "RegistryError",
    "RunResult",
    "ServeError",
    "SpecError",
    "StorageError",
    "TrainingError",
    "WorkloadSpec",
    "drift",
    "load_spec",
    "predict",
    "promote",
    "rollback",
    "run",
    "spec_hash",
    "train",
    "tune",
]

# Imported on first use: the scoring and drift stages pull in pandas and pyarrow's readers, which `import
# rayplane` (every CLI command) should not pay for.
LAZY = {"predict": "rayplane.batch", "drift": "rayplane.monitoring"}


def __getattr__(name: str):
    if name in LAZY:
        return getattr(importlib.import_module(LAZY[name]), name)
    raise AttributeError(f"module 'rayplane' has no attribute {name!r}")
