"""Load a workload's ``build_model`` from its file and build the network."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from rayplane.errors import SpecError
from rayplane.modeling import mlp


def load_builder(code_path: str | Path | None) -> Callable[..., nn.Module]:
    """``build_model`` from ``code_path``, or the built-in MLP when it is None."""
    if code_path is None:
        return mlp.build_model
    path = Path(code_path)
    if not path.is_file():
        raise SpecError(f"model.code: {path} does not exist")
    # A name from the path's digest keeps two workloads' model.py files apart in one process.
    name = "rayplane_model_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise SpecError(f"model.code: importing {path} failed: {type(exc).__name__}: {exc}") from exc
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise SpecError(f"model.code: {path} defines no build_model(input_dim, output_dim, **params)")
    return builder


def build_model(code_path: str | Path | None, input_dim: int, output_dim: int, params: dict[str, Any]) -> nn.Module:
    builder = load_builder(code_path)
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [k for k in params if k not in accepted and not takes_any]
    if unknown:
        raise SpecError(f"model.params: build_model in {code_path or 'the built-in MLP'} takes no {', '.join(unknown)}")
    model = builder(input_dim, output_dim, **params)
    if not isinstance(model, nn.Module):
        raise SpecError(f"model.code: build_model in {code_path} returned {type(model).__name__}, not torch.nn.Module")
    return model
