"""Data-parallel PyTorch training with Ray Train V2."""

from rayplane.training.resources import ResourcePlan, plan_resources
from rayplane.training.trainer import TrainOutcome, build_trainer, train_model

__all__ = ["ResourcePlan", "TrainOutcome", "build_trainer", "plan_resources", "train_model"]
