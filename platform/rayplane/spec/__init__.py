"""The workload spec: models, loading and validation."""

from rayplane.spec.loader import load_spec, override, spec_hash
from rayplane.spec.models import WorkloadSpec

__all__ = ["WorkloadSpec", "load_spec", "override", "spec_hash"]
