"""The built-in model, used when a workload has no ``model.code``."""

from __future__ import annotations

from torch import nn


def build_model(input_dim: int, output_dim: int, hidden: int = 64, layers: int = 2, dropout: float = 0.0) -> nn.Module:
    blocks: list[nn.Module] = []
    width = input_dim
    for _ in range(int(layers)):
        blocks += [nn.Linear(width, int(hidden)), nn.ReLU()]
        if dropout:
            blocks.append(nn.Dropout(float(dropout)))
        width = int(hidden)
    blocks.append(nn.Linear(width, output_dim))
    return nn.Sequential(*blocks)
