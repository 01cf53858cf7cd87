"""Validation metrics computed on every worker's shard and summed across workers.

Only sums travel (counts, loss sums, a score histogram for AUC), so the metric is exact for accuracy and
RMSE and within a histogram bin for AUC, whatever the number of workers.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist

from rayplane.modeling.tasks import as_target

AUC_BINS = 2048


def all_reduce(tensor: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(tensor)
    return tensor


class ValidationAccumulator:
    """Sums per batch, then ``compute()`` the task's metrics (after an all-reduce)."""

    def __init__(self, task: str, label_stats: dict[str, Any], loss: torch.nn.Module) -> None:
        self.task = task
        self.label_stats = label_stats
        self.loss = loss
        # rows, loss sum, correct, baseline correct, squared error, absolute error, baseline squared error
        self.sums = torch.zeros(7, dtype=torch.float64)
        self.hist = torch.zeros(2, AUC_BINS, dtype=torch.float64)

    def update(self, outputs: torch.Tensor, y: torch.Tensor) -> None:
        target = as_target(self.task, y)
        n = target.shape[0]
        self.sums[0] += n
        self.sums[1] += float(self.loss(outputs, target)) * n
        if self.task == "binary":
            probs = torch.sigmoid(outputs.view(-1)).double()
            labels = target.view(-1)
            self.sums[2] += float(((probs >= 0.5).float() == labels).sum())
            majority = float(self.label_stats["positive_rate"] >= 0.5)
            self.sums[3] += float((labels == majority).sum())
            bins = (probs * (AUC_BINS - 1)).round().long()
            self.hist[1].index_add_(0, bins[labels == 1], torch.ones(int((labels == 1).sum()), dtype=torch.float64))
            self.hist[0].index_add_(0, bins[labels == 0], torch.ones(int((labels == 0).sum()), dtype=torch.float64))
        elif self.task == "multiclass":
            self.sums[2] += float((outputs.argmax(dim=1) == target).sum())
            majority = int(torch.tensor(self.label_stats["class_counts"]).argmax())
            self.sums[3] += float((target == majority).sum())
        else:
            std = float(self.label_stats["std"])
            err = (outputs.view(-1).double() - target.view(-1).double()) * std
            self.sums[4] += float((err**2).sum())
            self.sums[5] += float(err.abs().sum())
            # The baseline predicts the training mean, which is 0 in standardised units.
            self.sums[6] += float(((target.view(-1).double() * std) ** 2).sum())

    def compute(self) -> dict[str, float]:
        sums = all_reduce(self.sums.clone())
        rows = max(float(sums[0]), 1.0)
        metrics = {"val_loss": float(sums[1]) / rows, "val_rows": int(sums[0])}
        if self.task in ("binary", "multiclass"):
            metrics["val_accuracy"] = float(sums[2]) / rows
            metrics["val_baseline_accuracy"] = float(sums[3]) / rows
        if self.task == "binary":
            metrics["val_auc"] = _auc(all_reduce(self.hist.clone()))
        if self.task == "regression":
            metrics["val_rmse"] = (float(sums[4]) / rows) ** 0.5
            metrics["val_mae"] = float(sums[5]) / rows
            metrics["val_baseline_rmse"] = (float(sums[6]) / rows) ** 0.5
        return metrics


def _auc(hist: torch.Tensor) -> float:
    """Area under the ROC curve from score histograms of negatives (row 0) and positives (row 1)."""
    neg, pos = hist[0], hist[1]
    total_pos, total_neg = float(pos.sum()), float(neg.sum())
    if total_pos == 0 or total_neg == 0:
        return 0.5
    pos_above = torch.flip(torch.cumsum(torch.flip(pos, [0]), 0), [0]) - pos
    return float((neg * (pos_above + 0.5 * pos)).sum()) / (total_pos * total_neg)
