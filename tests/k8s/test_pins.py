"""Versions pinned in several places agree: the image's Ray and torch, the chart's rayVersion, the project's."""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib.metadata import version

import yaml
from k8s.k8s_checks import CHART, REPO, tool

DOCKERFILE = (REPO / "k8s" / "image" / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def arg(name: str) -> str:
    return re.search(rf"^ARG {name}=(\S+)$", DOCKERFILE, re.M).group(1)


def pin(package: str) -> str:
    return next(re.search(r"==([\w.]+)", d).group(1) for d in PYPROJECT["project"]["dependencies"]
                if re.match(rf"{re.escape(package)}\b", d))


def test_ray_version_is_pinned_together():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert arg("RAY_VERSION") == values["image"]["rayVersion"] == pin("ray") == version("ray")
    assert "FROM rayproject/ray:${RAY_VERSION}-py311" in DOCKERFILE


def test_torch_and_rayplane_versions():
    assert arg("TORCH_VERSION") == pin("torch") == version("torch").split("+")[0]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["appVersion"] == PYPROJECT["project"]["version"], "the default image tag carries appVersion"


def test_install_helm_is_idempotent():
    tool("helm")
    out = subprocess.run(["bash", str(REPO / ".ci" / "install-helm")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "helm v3.19.0 and kubectl v1.34.5 already in .tools/bin"


def test_packaged_crds_are_the_charts_kuberay():
    """`rayplane k8s validate` checks against the KubeRay the chart is written for, one CRD per kind."""
    from rayplane.k8s.schemas import CRD_FILES, KUBERAY_VERSION, crd_schema

    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["annotations"]["rayplane.io/kuberay-version"] == KUBERAY_VERSION
    crds = REPO / "platform" / "rayplane" / "k8s" / "crds"
    assert sorted(p.name for p in crds.iterdir()) == ["LICENSE",
                                                      *sorted(f"ray.io_{f}.yaml" for f in CRD_FILES.values())]
    for kind, plural in CRD_FILES.items():
        crd = yaml.load((crds / f"ray.io_{plural}.yaml").read_text(), Loader=yaml.CSafeLoader)
        assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == ("ray.io", kind)
        assert "spec" in crd_schema(kind)["properties"], kind
