"""rayplane: one declarative workload spec from sharded Parquet to a served model, on Ray.

The Python API mirrors the CLI::

    import rayplane
    spec = rayplane.load_spec("workloads/flights_delay/workload.yaml")
    result = rayplane.run(spec, serve=False)
"""

from rayplane.batch import predict
from rayplane.errors import (
    ClusterError,
    DataError,
    K8sError,
    RayplaneError,
    RegistryError,
    ServeError,
    SpecError,
    TrainingError,
)
from rayplane.monitoring import drift
from rayplane.pipeline import RunResult, run, train, tune
from rayplane.spec import WorkloadSpec, load_spec, spec_hash

__all__ = [
    "ClusterError",
    "DataError",
    "K8sError",
    "RayplaneError",
    "RegistryError",
    "RunResult",
    "ServeError",
    "SpecError",
    "TrainingError",
    "WorkloadSpec",
    "drift",
    "load_spec",
    "predict",
    "run",
    "spec_hash",
    "train",
    "tune",
]
