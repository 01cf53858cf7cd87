"""Spec search-space dimensions -> Ray Tune sampling domains (OptunaSearch converts them to Optuna's)."""

from __future__ import annotations

from typing import Any

from ray import tune
from rayplane.spec.models import Choice, IntRange, LogUniform, Uniform


def to_tune_space(search_space: dict[str, Any]) -> dict[str, Any]:
    return {name: _domain(dim) for name, dim in search_space.items()}


def _domain(dim):
    if isinstance(dim, LogUniform):
        return tune.loguniform(dim.low, dim.high)
    if isinstance(dim, Uniform):
        return tune.uniform(dim.low, dim.high)
    if isinstance(dim, IntRange):
        # Tune's integer ranges exclude the upper bound; the spec's include it.
        return tune.lograndint(dim.low, dim.high + 1) if dim.log else tune.randint(dim.low, dim.high + 1)
    if isinstance(dim, Choice):
        return tune.choice(dim.values)
    raise TypeError(f"unsupported search dimension {dim!r}")
