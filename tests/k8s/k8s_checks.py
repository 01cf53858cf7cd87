"""Helpers of the Kubernetes tests: the real helm binary, and offline checks of what it renders.

The checks are `rayplane k8s validate`'s (``rayplane.k8s.validate``): the KubeRay v1.7.0 CRDs shipped in the
package, Kubernetes' schemas through kubernetes-validate, KubeRay's own rules and Ray's payload schemas.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from rayplane.k8s.validate import problems

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "rayplane"
TOOLS = REPO / ".tools" / "bin"


def tool(name: str) -> Path:
    """helm/kubectl from .ci/install-helm. Skips locally when absent; CI (CI=true) must have them."""
    path = TOOLS / name
    if not path.is_file():
        message = f"{path} is missing: run bash .ci/install-helm"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def helm_template(*args: str, release: str = "rayplane", namespace: str = "rayplane") -> list[dict[str, Any]]:
    out = subprocess.run([str(tool("helm")), "template", release, str(CHART), "--namespace", namespace, *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def helm_error(*args: str) -> str:
    """helm template's error for values that must be rejected (the command must fail)."""
    out = subprocess.run([str(tool("helm")), "template", "rayplane", str(CHART), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0, f"helm accepted {args}:\n{out.stdout[:2000]}"
    return out.stderr


def rayplane_entrypoint_errors(obj: dict[str, Any]) -> list[str]:
    """What the chart and `rayplane k8s render` promise beyond validity: a RayJob runs rayplane."""
    if obj["kind"] != "RayJob":
        return []
    words = shlex.split(obj["spec"]["entrypoint"])
    if words[:1] != ["rayplane"] or words[1:2] not in (["run"], ["train"], ["tune"]):
        return [f"RayJob entrypoint is not rayplane run|train|tune: {words}"]
    return []


def validation_errors(obj: dict[str, Any]) -> list[str]:
    """Everything `rayplane k8s validate` finds in one object, plus the rayplane entrypoint check."""
    return problems([obj]) + rayplane_entrypoint_errors(obj)


def assert_valid(objects: list[dict[str, Any]]) -> None:
    errors = problems(objects) + [e for obj in objects for e in rayplane_entrypoint_errors(obj)]
    assert not errors, "\n".join(errors)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Objects keyed by kind, or by kind/name for the kinds a release has several of (ServiceAccounts)."""
    counts = Counter(obj["kind"] for obj in objects)
    kinds: dict[str, dict[str, Any]] = {}
    for obj in objects:
        key = obj["kind"] if counts[obj["kind"]] == 1 else f"{obj['kind']}/{obj['metadata']['name']}"
        assert key not in kinds, f"two {key} objects"
        kinds[key] = obj
    return kinds
