"""helm/rayplane with the real helm binary: lint, render a matrix of values, validate every object."""

from __future__ import annotations

import shlex
import subprocess

import pytest
import yaml
from k8s.k8s_checks import CHART, REPO, assert_valid, by_kind, cluster_spec, helm_template, pod_templates, tool

CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
OVERLAY_VALUES = sorted((REPO / "k8s" / "overlays").glob("*/chart-values.yaml"))
MATRIX = {p.name.removesuffix("-values.yaml"): p for p in CI_VALUES}
MATRIX.update({f"overlay-{p.parent.name}": p for p in OVERLAY_VALUES})


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {name: helm_template("--values", str(path)) for name, path in MATRIX.items()}


def test_matrix_covers_the_issue_cases():
    assert {"default", "autoscaling-off", "gpu", "gcs-ft", "rayservice", "rayjob", "rayjob-release",
            "ingress", "overlay-dev", "overlay-production"} <= MATRIX.keys()


@pytest.mark.parametrize("values", CI_VALUES + OVERLAY_VALUES, ids=lambda p: p.parent.name + "/" + p.name)
def test_helm_lint_strict(values):
    out = subprocess.run([str(tool("helm")), "lint", "--strict", str(CHART), "--values", str(values)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in out.stdout


def test_helm_is_the_pinned_version():
    out = subprocess.run([str(tool("helm")), "version", "--template", "{{.Version}}"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.startswith("v3.19."), out.stdout


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_every_object_validates(rendered, name):
    objects = rendered[name]
    assert any(o["apiVersion"] == "ray.io/v1" for o in objects)
    assert_valid(objects)


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_secure_by_default(rendered, name):
    """Every pod: non-root, RuntimeDefault seccomp, no privilege escalation, all capabilities dropped;
    the dashboard on a ClusterIP Service; token authentication; a NetworkPolicy over every Ray pod."""
    kinds = by_kind(rendered[name])
    rays = [o for o in rendered[name] if o["apiVersion"] == "ray.io/v1"]
    policy = kinds["NetworkPolicy"]["spec"]
    for obj in rays:
        cluster = cluster_spec(obj)
        if cluster:
            assert cluster["authOptions"] == {"mode": "token", **_secret_name(name)}
            assert cluster["headGroupSpec"]["serviceType"] == "ClusterIP"
            assert cluster["headGroupSpec"].get("enableIngress") is not True
            if cluster["enableInTreeAutoscaling"]:
                _assert_locked_down(cluster["autoscalerOptions"]["securityContext"])
        for where, template in pod_templates(obj):
            pod = template["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
            for container in pod["containers"]:
                _assert_locked_down(container["securityContext"])
            labels = template["metadata"]["labels"]
            assert policy["podSelector"]["matchLabels"].items() <= labels.items(), where
            if pod.get("serviceAccountName"):
                assert pod["automountServiceAccountToken"] is False, where


def _assert_locked_down(context: dict) -> None:
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}


def _secret_name(name: str) -> dict:
    return {"secretName": "rayplane-token"} if name == "gcs-ft" else {}


def test_service_account_has_no_rbac(rendered):
    for objects in rendered.values():
        kinds = {o["kind"] for o in objects}
        assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
        assert by_kind(objects)["ServiceAccount"]["automountServiceAccountToken"] is False


def test_network_policy_opens_only_listed_ports(rendered):
    policy = by_kind(rendered["default"])["NetworkPolicy"]["spec"]
    assert policy["policyTypes"] == ["Ingress"]
    own, operator, serve = policy["ingress"]
    assert own == {"from": [{"podSelector": policy["podSelector"]}]} and "ports" not in own
    assert operator["from"][0]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "kuberay-operator"}
    assert operator["ports"] == [{"port": 8265, "protocol": "TCP"}]
    assert serve["ports"] == [{"port": 8000, "protocol": "TCP"}]
    ingress = by_kind(rendered["ingress"])["NetworkPolicy"]["spec"]["ingress"]
    assert [rule.get("ports") for rule in ingress[2:]] == [
        [{"port": 8265, "protocol": "TCP"}], [{"port": 8000, "protocol": "TCP"}], [{"port": 8080, "protocol": "TCP"}]]


def test_defaults_autoscale_in_tree(rendered):
    spec = by_kind(rendered["default"])["RayCluster"]["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["upscalingMode"] == "Default"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == 60
    assert spec["rayVersion"] == "2.60.0"
    images = {c["image"] for _, t in pod_templates(by_kind(rendered["default"])["RayCluster"])
              for c in t["spec"]["containers"]}
    assert images == {"rayplane:0.1.0-ray2.60.0"}, "the image tag carries the pinned Ray version"
    # With autoscaling KubeRay gives the head its own account (bound to its cluster-scoped Role).
    head = spec["headGroupSpec"]["template"]["spec"]
    assert "serviceAccountName" not in head
    [cpu] = spec["workerGroupSpecs"]
    assert (cpu["groupName"], cpu["minReplicas"], cpu["replicas"], cpu["maxReplicas"]) == ("cpu", 0, 1, 4)


def test_autoscaling_off(rendered):
    spec = by_kind(rendered["autoscaling-off"])["RayCluster"]["spec"]
    assert spec["enableInTreeAutoscaling"] is False
    assert "autoscalerOptions" not in spec
    assert spec["headGroupSpec"]["template"]["spec"]["serviceAccountName"] == "rayplane"
    assert [g["replicas"] for g in spec["workerGroupSpecs"]] == [2]


def test_gpu_group(rendered):
    groups = {g["groupName"]: g for g in by_kind(rendered["gpu"])["RayCluster"]["spec"]["workerGroupSpecs"]}
    assert sorted(groups) == ["cpu", "gpu"]
    pod = groups["gpu"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["containers"][0]["image"] == "rayplane:0.1.0-ray2.60.0-cu128"
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert pod["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert (groups["gpu"]["minReplicas"], groups["gpu"]["maxReplicas"]) == (0, 3)


def test_gcs_fault_tolerance(rendered):
    spec = by_kind(rendered["gcs-ft"])["RayCluster"]["spec"]
    assert spec["gcsFaultToleranceOptions"] == {
        "redisAddress": "redis-master.redis.svc.cluster.local:6379",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "rayplane-redis", "key": "redis-password"}}},
        "externalStorageNamespace": "rayplane-prod",
    }
    kinds = by_kind(rendered["gcs-ft"])
    assert "PersistentVolumeClaim" not in kinds, "an existing claim is used, none created"
    head = spec["headGroupSpec"]["template"]["spec"]
    assert head["volumes"] == [{"name": "rayplane-storage", "persistentVolumeClaim": {"claimName": "shared-models"}}]


def test_rayservice(rendered):
    kinds = by_kind(rendered["rayservice"])
    assert "RayCluster" not in kinds
    service = kinds["RayService"]
    values = yaml.safe_load((CHART / "ci" / "rayservice-values.yaml").read_text())
    assert yaml.safe_load(service["spec"]["serveConfigV2"]) == values["rayService"]["serveConfig"]
    assert service["spec"]["upgradeStrategy"] == {"type": "NewCluster"}
    assert service["metadata"]["name"] == "rayplane-serve"
    assert cluster_spec(service) == cluster_spec(by_kind(helm_template())["RayCluster"]), \
        "the RayService's cluster is the chart's cluster spec"


def test_rayjob_on_its_own_cluster(rendered):
    kinds = by_kind(rendered["rayjob"])
    job = kinds["RayJob"]["spec"]
    assert "RayCluster" not in kinds
    assert shlex.split(job["entrypoint"]) == ["rayplane", "tune", "workload.yaml", "--trials", "8"]
    assert yaml.safe_load(job["runtimeEnvYAML"]) == {
        "env_vars": {"RAY_DATA_DISABLE_PROGRESS_BARS": "1"},
        "working_dir": "s3://example-bucket/workloads/flights_delay.zip"}
    assert (job["shutdownAfterJobFinishes"], job["ttlSecondsAfterFinished"], job["activeDeadlineSeconds"],
            job["backoffLimit"]) == (True, 600, 7200, 1)
    assert "clusterSelector" not in job
    assert job["rayClusterSpec"] == cluster_spec(by_kind(helm_template())["RayCluster"])


def test_rayjob_on_the_release_cluster(rendered):
    kinds = by_kind(rendered["rayjob-release"])
    job = kinds["RayJob"]["spec"]
    assert job["clusterSelector"] == {"ray.io/cluster": kinds["RayCluster"]["metadata"]["name"]}
    assert "rayClusterSpec" not in job and "shutdownAfterJobFinishes" not in job
    assert shlex.split(job["entrypoint"]) == ["rayplane", "train", "/app/workloads/flights_delay/workload.yaml"]
    assert "runtimeEnvYAML" not in job


def test_ingress_with_tls_and_monitoring(rendered):
    kinds = by_kind(rendered["ingress"])
    ingress = kinds["Ingress"]["spec"]
    assert ingress["tls"] == [{"hosts": ["ray.example.com"], "secretName": "ray-example-com-tls"}]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": "rayplane-head-svc", "port": {"name": "dashboard"}}
    monitor = kinds["PodMonitor"]["spec"]
    assert kinds["PodMonitor"]["metadata"]["labels"]["release"] == "prometheus"
    for where, template in pod_templates(kinds["RayCluster"]):
        assert monitor["selector"]["matchLabels"].items() <= template["metadata"]["labels"].items(), where
        ports = {p["name"]: p["containerPort"] for p in template["spec"]["containers"][0]["ports"]}
        assert ports["metrics"] == 8080, where
    assert monitor["podMetricsEndpoints"][0]["port"] == "metrics"
    head_env = {e["name"]: e["value"] for e in
                kinds["RayCluster"]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["env"]}
    assert head_env["RAY_GRAFANA_IFRAME_HOST"] == "https://grafana.example.com"
    assert head_env["RAY_PROMETHEUS_HOST"] == "http://prometheus.monitoring.svc:9090"


def test_release_name_shapes_every_name():
    objects = helm_template("--values", str(CHART / "ci" / "rayservice-values.yaml"),
                            "--set", "cluster.enabled=true,rayJob.enabled=true", release="ml")
    names = {o["kind"]: o["metadata"]["name"] for o in objects}
    assert names == {"RayCluster": "ml-rayplane", "RayJob": "ml-rayplane-job", "RayService": "ml-rayplane-serve",
                     "ServiceAccount": "ml-rayplane", "NetworkPolicy": "ml-rayplane",
                     "PersistentVolumeClaim": "ml-rayplane-storage"}
    assert all(o["metadata"]["namespace"] == "rayplane" for o in objects)
