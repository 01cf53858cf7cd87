"""The flights_delay network: a wide & deep MLP over the preprocessed features.

The wide part is one linear layer straight from the inputs (the one-hot carrier/route effects and the
roughly linear weather effects); the deep part learns the interactions (late evening x bad weather x
congested destination). Their logits are summed.
"""

from __future__ import annotations

import torch
from torch import nn


class WideAndDeep(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.wide = nn.Linear(input_dim, output_dim)
        blocks: list[nn.Module] = []
        width = input_dim
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, output_dim))
        self.deep = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.wide(x) + self.deep(x)


def build_model(input_dim: int, output_dim: int, hidden: int = 64, layers: int = 2, dropout: float = 0.1) -> nn.Module:
    return WideAndDeep(input_dim, output_dim, int(hidden), int(layers), float(dropout))
