"""The chart's monitoring: the Grafana dashboard and the PrometheusRule query only metrics that exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import ray
from k8s.k8s_checks import CHART, REPO, assert_valid, by_kind, helm_template

DASHBOARD = CHART / "dashboards" / "rayplane.json"
# Prometheus suffixes of a histogram's series.
SUFFIXES = ("_bucket", "_sum", "_count")
METRIC = re.compile(r"\b(ray_[a-z0-9_]+)\b")


def rayplane_metrics() -> set[str]:
    """What rayplane.metrics registers, as Prometheus names (Ray prefixes application metrics with ray_)."""
    source = (REPO / "platform" / "rayplane" / "metrics.py").read_text()
    return {f"ray_{name}" for name in re.findall(r"(?:Gauge|Counter|Histogram)\(\"(rayplane_[a-z0-9_]+)\"", source)}


def ray_exports(name: str) -> bool:
    """Whether Ray's own code defines the metric (its Prometheus name without the ray_ prefix)."""
    bare = name.removeprefix("ray_")
    return any(f'"{bare}"' in path.read_text(errors="ignore") for path in Path(ray.__file__).parent.rglob("*.py")
               if "serve" in path.parts or "_private" in path.parts)


def unknown_metrics(expressions: list[str]) -> set[str]:
    ours = rayplane_metrics()
    names = {m for expr in expressions for m in METRIC.findall(expr)}
    bare = {next((n.removesuffix(s) for s in SUFFIXES if n.endswith(s) and n.removesuffix(s) in ours), n)
            for n in names}
    return {n for n in bare if n not in ours and not ray_exports(n)}


def test_rayplane_metrics_are_found():
    assert {"ray_rayplane_train_samples_per_second", "ray_rayplane_serve_requests_total",
            "ray_rayplane_serve_request_latency_seconds"} <= rayplane_metrics()
    assert unknown_metrics(["rate(ray_rayplane_serve_requests_totl[5m])"]) == {"ray_rayplane_serve_requests_totl"}


def test_dashboard_queries_known_metrics():
    dashboard = json.loads(DASHBOARD.read_text())
    targets = [t for panel in dashboard["panels"] for t in panel["targets"]]
    expressions = [t["expr"] for t in targets]
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Training throughput (samples/s)", "Validation metrics (last epoch)", "Request rate by status (req/s)",
            "Request latency", "Error rate (5xx share)", "Healthy Serve replicas"} <= titles
    assert unknown_metrics(expressions) == set()
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


@pytest.fixture(scope="module")
def monitoring() -> dict[str, dict]:
    enabled = ("prometheusRule", "grafanaDashboard", "podMonitor")
    return by_kind(helm_template("--set", ",".join(f"monitoring.{m}.enabled=true" for m in enabled)))


def test_dashboard_configmap_is_the_file(monitoring):
    config = monitoring["ConfigMap"]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["rayplane.json"]) == json.loads(DASHBOARD.read_text())
    assert_valid([config])


def test_alerts_query_known_metrics(monitoring):
    rules = monitoring["PrometheusRule"]["spec"]["groups"][0]["rules"]
    assert [r["alert"] for r in rules] == ["RayplaneEndpointErrorRate", "RayplaneLatencyP99OverBudget",
                                           "RayplaneTrainingStalled"]
    assert unknown_metrics([r["expr"] for r in rules]) == set()
    assert "> 0.05" in rules[0]["expr"] and "> 0.5" in rules[1]["expr"] and "[30m]" in rules[2]["expr"]
    # Prometheus's templating survives Helm's: the summary still holds {{ $labels.workload }}.
    assert "{{ $labels.workload }}" in rules[0]["annotations"]["summary"]
