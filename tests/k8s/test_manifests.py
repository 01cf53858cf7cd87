"""k8s/ (kustomize base and overlays) never drifts from the chart: generated from it, and proven equal."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import yaml
from k8s.k8s_checks import REPO, helm_template, tool

GENERATE = REPO / "k8s" / "generate.py"
OVERLAYS = sorted(p.parent for p in (REPO / "k8s" / "overlays").glob("*/chart-values.yaml"))


def load_generate():
    spec = importlib.util.spec_from_file_location("k8s_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def kustomize(path) -> list[dict]:
    out = subprocess.run([str(tool("kubectl")), "kustomize", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def keyed(objects: list[dict]) -> dict[tuple, dict]:
    return {(o["apiVersion"], o["kind"], o["metadata"]["name"]): o for o in objects}


def test_generated_files_are_current():
    """Base, overlays, the packaged cluster template and the chart README's value table."""
    tool("helm")
    out = subprocess.run([sys.executable, str(GENERATE), "--check"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr


def test_base_is_the_chart_defaults():
    assert keyed(kustomize(REPO / "k8s" / "base")) == keyed(helm_template("--skip-tests"))


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_overlay_is_the_chart_with_its_values(overlay):
    expected = helm_template("--values", str(overlay / "chart-values.yaml"), "--skip-tests")
    assert keyed(kustomize(overlay)) == keyed(expected)


def test_overlays_change_something():
    base = keyed(helm_template("--skip-tests"))
    assert {o.name for o in OVERLAYS} == {"dev", "production"}
    for overlay in OVERLAYS:
        assert keyed(kustomize(overlay)) != base, overlay.name


def test_every_value_must_be_documented():
    generate = load_generate()
    text = "image:\n  # -- The image.\n  repository: x\n  # -- Its tag,\n  # on two lines.\n  tag: y\n"
    assert generate.documented_values(text) == [
        (("image", "repository"), "The image."), (("image", "tag"), "Its tag, on two lines.")]
    with pytest.raises(ValueError, match=r"no '# --' comment on image\.tag$"):
        generate.documented_values("image:\n  # -- The image.\n  repository: x\n  tag: y\n")
    # A documented mapping documents what is inside it.
    assert generate.documented_values("# -- Limits.\nresources:\n  cpu: 1\n") == [(("resources",), "Limits.")]


def test_json_patch_rebuilds_the_target():
    """The overlays' patches, applied by an RFC 6902 implementation, give back the target object."""
    import jsonpatch

    generate = load_generate()
    old = {"a": {"b": 1, "c/d": [1, 2]}, "gone": True, "list": [{"x": 1}]}
    new = {"a": {"b": 2, "c/d": [1, 2, 3]}, "added": {"k": "v"}, "list": [{"x": 2}]}
    ops = generate.json_patch(old, new)
    assert {"op": "replace", "path": "/a/c~1d", "value": [1, 2, 3]} in ops
    assert jsonpatch.apply_patch(old, ops) == new
