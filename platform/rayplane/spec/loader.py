"""One path from YAML to a validated ``WorkloadSpec``, with errors that name each bad field."""

from __future__ import annotations

import hashlib
import json
import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rayplane.errors import SpecError
from rayplane.spec.models import SECRET_IN_URI, WorkloadSpec
from rayplane.spec.suggest import did_you_mean


def load_spec(source: str | Path | dict[str, Any], base_dir: str | Path | None = None) -> WorkloadSpec:
    """Read and validate a workload spec from a YAML file or a dict.

    Relative paths in the spec (data, model code, storage) resolve against the file's directory, or
    ``base_dir`` for a dict. Raises ``SpecError`` listing every problem with its field path.
    """
    if isinstance(source, dict):
        raw, origin = source, "spec"
        base = Path(base_dir or Path.cwd())
    else:
        path = Path(source)
        origin = str(path)
        if not path.is_file():
            raise SpecError(f"{path}: no such spec file")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML: {exc}") from None
        base = Path(base_dir) if base_dir else path.resolve().parent
    if not isinstance(raw, dict):
        raise SpecError(f"{origin}: expected a mapping with 'name' and 'data' at the top, got {type(raw).__name__}")
    try:
        spec = WorkloadSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(format_errors(origin, exc)) from None
    spec._base_dir = base.resolve()
    return spec


def override(spec: WorkloadSpec, changes: dict[str, Any]) -> WorkloadSpec:
    """A re-validated copy of ``spec`` with dotted-path ``changes`` (``{"tune.num_samples": 8}``) applied."""
    raw = spec.model_dump(mode="json", exclude_unset=True)
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = raw
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return load_spec(raw, base_dir=spec.base_dir)


def spec_hash(spec: WorkloadSpec) -> str:
    """A stable digest of what the spec says (not where it was read from)."""
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def format_errors(origin: str, exc: ValidationError) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s) in the workload spec:"]
    for err in exc.errors(include_url=False):
        loc = _without_tags(err["loc"])
        field = ".".join(str(p) for p in loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            known = _known_keys(WorkloadSpec, err["loc"][:-1])
            msg = f"unknown field{did_you_mean(loc[-1], known)}"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "literal_error":
            msg = err["msg"] + did_you_mean(err.get("input", ""), _expected(err))
        elif err["type"] == "union_tag_invalid":
            tag = err["ctx"]["tag"]
            msg = f"unknown type {tag!r}, expected one of {err['ctx']['expected_tags']}"
            msg += did_you_mean(tag, _expected(err))
        else:
            msg = err["msg"].removeprefix("Value error, ")
            # Cross-field checks on the whole spec name their own field: "tune.metric: ...".
            named = re.match(r"^([a-z_]+(?:\.[a-z_]+)+): (.*)$", msg, re.S)
            if named and not loc:
                field, msg = named.groups()
        # A mapping's repr would bury the message; the field path already points at it.
        quiet = err["type"] in ("missing", "extra_forbidden", SECRET_IN_URI) or isinstance(err.get("input"), dict)
        given = "" if quiet else f" (got {_short(err.get('input'))})"
        lines.append(f"  - {field}: {msg}{given}")
    return "\n".join(lines)


def _expected(err: dict) -> list[str]:
    ctx = err.get("ctx") or {}
    text = str(ctx.get("expected") or ctx.get("expected_tags") or "")
    return [t.strip(" '\"") for t in text.replace(" or ", ",").split(",") if t.strip()]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _without_tags(loc: tuple) -> list:
    """The location as the user wrote it: pydantic adds a tagged union's tag as an extra step."""
    shown, annotation = [], WorkloadSpec
    for part in loc:
        nxt = _step(annotation, part)
        if nxt is None and _scalar_union(annotation):
            continue  # pydantic names the member it tried ("float", "literal['auto']"); the user wrote no such key
        if not (nxt is not None and isinstance(nxt, type) and nxt in _flatten(annotation)):
            shown.append(part)
        annotation = nxt
    return shown


def _scalar_union(annotation: Any) -> bool:
    members = [m for m in _flatten(annotation) if m is not type(None)]
    return len(members) > 1 and not any(isinstance(m, type) and issubclass(m, BaseModel) for m in members)


def _known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names valid at ``loc`` (walking nested models, dicts, lists and tagged unions)."""
    annotation: Any = model
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    models = [a for a in _flatten(annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
    return sorted({name for m in models for name in m.model_fields})


def _step(annotation: Any, part: Any) -> Any:
    for option in _flatten(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            if part in option.model_fields:
                return option.model_fields[part].annotation
            # A tagged union puts the tag in the location: match it to the member's Literal.
            tag = option.model_fields.get("type")
            if tag is not None and part in typing.get_args(tag.annotation):
                return option
        origin = typing.get_origin(option)
        if origin is dict and isinstance(part, str):
            return typing.get_args(option)[1]
        if origin is list and isinstance(part, int):
            return typing.get_args(option)[0]
    return None


def _flatten(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _flatten(arg)]
    return [annotation]
