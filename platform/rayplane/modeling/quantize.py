"""Compressed variants of a model: int8 dynamic quantization of its Linear layers, PyTorch's built-in kind.

Weights are stored as int8 with a scale per tensor; activations are quantized on the fly per batch, so no
calibration data is needed and the variant's state dict loads back with ``weights_only=True``.
"""

from __future__ import annotations

import warnings

import torch

VARIANTS = ("int8",)


def quantize(model: torch.nn.Module, variant: str) -> torch.nn.Module:
    """``model`` (float, in eval mode) as ``variant``; a new module, the original is left as it was."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    with warnings.catch_warnings():
        # torch.ao.quantization announces its move to torchao; the built-in path is what the issue asks for.
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
