"""Compressed variants of a model: int8 dynamic quantization of its Linear layers, PyTorch's built-in kind.

Weights are stored as int8 with a scale per tensor; activations are quantized on the fly per batch, so no
calibration data is needed and the variant's state dict loads back with ``weights_only=True``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

VARIANTS = ("int8",)


def quantize(model: torch.nn.Module, variant: str) -> torch.nn.Module:
    """``model`` (float, in eval mode) as ``variant``; a new module, the original is left as it was."""
    # Imported here: the CLI reads VARIANTS for its options without paying for torch.
    import torch

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")
    with quiet_deprecations():
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


@contextmanager
def quiet_deprecations() -> Iterator[None]:
    """torch announces that its built-in quantized tensors will move to torchao (on every quantization and every
    load of quantized weights); they are what torch 2.13 has built in, and what a variant uses."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(quantized tensor creation|TypedStorage is deprecated)")
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
