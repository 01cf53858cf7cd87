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


def decode_columns(task: str, outputs: torch.Tensor, label_stats: dict[str, Any]) -> dict[str, np.ndarray]:
    """Model outputs for a batch -> the answer's fields as columns (what batch scoring writes)."""
    out = outputs.detach().float()
    if task == "binary":
        probs = torch.sigmoid(out.view(-1)).numpy().astype(np.float64)
        return {"label": (probs >= 0.5).astype(np.int64), "probability": probs}
    if task == "multiclass":
        probs = torch.softmax(out, dim=1).numpy().astype(np.float64)
        return {"label": probs.argmax(axis=1).astype(np.int64), "probabilities": probs}
    values = out.view(-1).numpy() * label_stats["std"] + label_stats["mean"]
    return {"prediction": np.asarray(values, dtype=np.float64)}


def decode(task: str, outputs: torch.Tensor, label_stats: dict[str, Any]) -> list[dict[str, Any]]:
    """Model outputs for a batch -> one JSON-ready answer per record (probabilities to 6 places)."""
    columns = decode_columns(task, outputs, label_stats)
    if task == "binary":
        return [{"label": int(y), "probability": round(float(p), 6)}
                for y, p in zip(columns["label"], columns["probability"])]
    if task == "multiclass":
        return [{"label": int(y), "probabilities": [round(float(p), 6) for p in row]}
                for y, row in zip(columns["label"], columns["probabilities"])]
    return [{"prediction": float(v)} for v in columns["prediction"]]
