"""Load a workload's ``build_model`` from its file and build the network."""

from __future__ import annotations

import hashlib
import inspect
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torch import nn

from rayplane.errors import SpecError
from rayplane.modeling import mlp


def read_model_code(code_path: str | Path | None) -> str | None:
    """The source of a workload's model file (None for the built-in MLP).

    Training ships the source, not the path, to its workers: on a multi-node cluster each node unpacks the
    job's working directory somewhere else.
    """
    if code_path is None:
        return None
    path = Path(code_path)
    if not path.is_file():
        raise SpecError(f"model.code: {path} does not exist")
    return path.read_text()


def load_builder(source: str | None, origin: str = "model.py") -> Callable[..., nn.Module]:
    """``build_model`` defined by ``source``, or the built-in MLP when it is None."""
    if source is None:
        return mlp.build_model
    # A name from the source's digest keeps two workloads' model files apart in one process.
    module = types.ModuleType("rayplane_model_" + hashlib.sha1(source.encode()).hexdigest()[:12])
    module.__file__ = origin
    try:
        exec(compile(source, origin, "exec"), module.__dict__)
    except Exception as exc:
        raise SpecError(f"model.code: importing {origin} failed: {type(exc).__name__}: {exc}") from exc
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise SpecError(f"model.code: {origin} defines no build_model(input_dim, output_dim, **params)")
    return builder


def build_model(
    source: str | None, input_dim: int, output_dim: int, params: dict[str, Any], origin: str = "model.py"
) -> nn.Module:
    builder = load_builder(source, origin)
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = [k for k in params if k not in accepted and not takes_any]
    if unknown:
        where = origin if source is not None else "the built-in MLP"
        raise SpecError(f"model.params: build_model in {where} takes no {', '.join(unknown)}")
    model = builder(input_dim, output_dim, **params)
    if not isinstance(model, nn.Module):
        raise SpecError(f"model.code: build_model in {origin} returned {type(model).__name__}, not torch.nn.Module")
    return model
