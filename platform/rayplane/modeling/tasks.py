"""What the task (binary, multiclass, regression) means for the loss and for the answers served.

Regression labels are standardised by the preprocessor (``label_stats`` mean/std) so one learning rate fits
any target scale; predictions are mapped back here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def loss_fn(task: str) -> torch.nn.Module:
    if task == "binary":
        return torch.nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return torch.nn.CrossEntropyLoss()
    return torch.nn.MSELoss()


def as_target(task: str, y: torch.Tensor) -> torch.Tensor:
    """The label tensor in the shape and dtype the task's loss expects."""
    return y.long().view(-1) if task == "multiclass" else y.float().view(-1, 1)


def decode(task: str, outputs: torch.Tensor, label_stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Model outputs for a batch -> one JSON-ready answer per record."""
    out = outputs.detach().float()
    if task == "binary":
        probs = torch.sigmoid(out.view(-1)).numpy()
        return [{"label": int(p >= 0.5), "probability": round(float(p), 6)} for p in probs]
    if task == "multiclass":
        probs = torch.softmax(out, dim=1).numpy()
        return [
            {"label": int(row.argmax()), "probabilities": [round(float(p), 6) for p in row]} for row in probs
        ]
    values = out.view(-1).numpy() * label_stats["std"] + label_stats["mean"]
    return [{"prediction": float(v)} for v in np.asarray(values, dtype=np.float64)]
