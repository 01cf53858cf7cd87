"""Hyperparameter search with Ray Tune, OptunaSearch (TPE) and ASHA."""

from rayplane.tuning.tuner import tune_model

__all__ = ["tune_model"]
