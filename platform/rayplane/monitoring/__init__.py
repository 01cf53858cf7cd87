"""The monitoring stage: what a version's model sees now against the training data it was fitted on."""

from rayplane.monitoring.check import drift
from rayplane.monitoring.psi import Baseline, DriftReport

__all__ = ["Baseline", "DriftReport", "drift"]
