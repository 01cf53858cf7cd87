"""helm/rayplane with the real helm binary: lint, render a matrix of values, validate every object."""

from __future__ import annotations

import http.server
import shlex
import subprocess
import sys
import threading

import pytest
import yaml
from k8s.k8s_checks import CHART, REPO, assert_valid, by_kind, helm_error, helm_template, tool

from rayplane.k8s.schemas import cluster_spec, pod_templates

CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
OVERLAY_VALUES = sorted((REPO / "k8s" / "overlays").glob("*/chart-values.yaml"))
MATRIX = {p.name.removesuffix("-values.yaml"): p for p in CI_VALUES}
MATRIX.update({f"overlay-{p.parent.name}": p for p in OVERLAY_VALUES})


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {name: helm_template("--values", str(path)) for name, path in MATRIX.items()}


def test_matrix_covers_the_issue_cases():
    assert {"default", "autoscaling-off", "gpu", "gcs-ft", "rayservice", "rayjob", "rayjob-release",
            "ingress", "object-store", "object-store-identity", "production", "overlay-dev",
            "overlay-production"} <= MATRIX.keys()


def helm_lint(*args: str) -> subprocess.CompletedProcess:
    """helm lint --strict, which exits 0 even when the chart's own fail() fires: it only logs "[INFO] Fail"."""
    out = subprocess.run([str(tool("helm")), "lint", "--strict", str(CHART), *args],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 chart(s) linted, 0 chart(s) failed" in out.stdout
    return out


@pytest.mark.parametrize("values", CI_VALUES + OVERLAY_VALUES, ids=lambda p: p.parent.name + "/" + p.name)
def test_helm_lint_strict(values):
    out = helm_lint("--values", str(values))
    assert "[INFO] Fail" not in out.stderr, out.stderr


def test_lint_passes_what_the_chart_refuses():
    """Why the chart's refusals are tested with `helm template` (helm_error), never with lint alone."""
    out = helm_lint("--set", "workerGroups.cpu.minReplicas=5")
    assert "[INFO] Fail: workerGroups.cpu: minReplicas (5) is greater than maxReplicas (4)" in out.stderr
    assert "workerGroups.cpu: minReplicas (5) is greater than maxReplicas (4)" in helm_error(
        "--set", "workerGroups.cpu.minReplicas=5")


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


API_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_head_rbac_is_what_the_autoscaler_needs(rendered, name):
    """The head runs under the chart's own head account; the chart's Role (named as KubeRay names the one it
    would create, so KubeRay creates none) lets it read pods and read/patch its own RayCluster only; the API
    token is mounted in the autoscaler container alone, never in a container that runs user code."""
    objects = rendered[name]
    kinds = by_kind(objects)
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    assert set(accounts) == {"rayplane", "rayplane-head"}
    assert all(a["automountServiceAccountToken"] is False for a in accounts.values())
    assert not {o["kind"] for o in objects} & {"ClusterRole", "ClusterRoleBinding"}
    cluster = kinds.get("RayCluster")
    if cluster and cluster["spec"]["enableInTreeAutoscaling"]:
        role, binding = kinds["Role"], kinds["RoleBinding"]
        assert role["metadata"]["name"] == binding["metadata"]["name"] == cluster["metadata"]["name"]
        assert role["rules"] == [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            {"apiGroups": ["ray.io"], "resources": ["rayclusters"], "resourceNames": [cluster["metadata"]["name"]],
             "verbs": ["get", "patch"]}]
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "rayplane-head", "namespace": "rayplane"}]
        assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                      "name": role["metadata"]["name"]}
    else:
        assert "Role" not in kinds and "RoleBinding" not in kinds
    for obj in objects:
        if obj["apiVersion"] != "ray.io/v1":
            continue
        for where, template in pod_templates(obj):
            pod = template["spec"]
            assert pod["automountServiceAccountToken"] is False, where
            assert pod["serviceAccountName"] == ("rayplane-head" if where.endswith("headGroupSpec.template")
                                                 else "rayplane"), where
            for container in pod["containers"]:
                assert all(m["mountPath"] != API_TOKEN for m in container.get("volumeMounts", [])), where
        spec = cluster_spec(obj)
        if spec and spec["enableInTreeAutoscaling"]:
            assert spec["autoscalerOptions"]["volumeMounts"] == [
                {"name": "autoscaler-api-access", "mountPath": API_TOKEN, "readOnly": True}]
            volumes = {v["name"]: v for v in spec["headGroupSpec"]["template"]["spec"]["volumes"]}
            assert volumes["autoscaler-api-access"]["projected"]["sources"][0] == {
                "serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}


def test_cloud_identity_reaches_the_head(rendered):
    """serviceAccount.annotations (IRSA here) are on the account every Ray pod, the head included, runs as."""
    objects = rendered["object-store-identity"]
    accounts = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceAccount"}
    for account in accounts.values():
        assert account["metadata"]["annotations"] == {
            "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/rayplane"}
    for where, template in pod_templates(by_kind(objects)["RayCluster"]):
        assert template["spec"]["serviceAccountName"] in accounts, where


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
        [{"port": 8265, "protocol": "TCP"}], [{"port": 8000, "protocol": "TCP"}],
        [{"port": p, "protocol": "TCP"} for p in (8080, 44217, 44227)]]


def test_defaults_autoscale_in_tree(rendered):
    spec = by_kind(rendered["default"])["RayCluster"]["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"]["upscalingMode"] == "Default"
    assert spec["autoscalerOptions"]["idleTimeoutSeconds"] == 60
    assert spec["rayVersion"] == "2.60.0"
    images = {c["image"] for _, t in pod_templates(by_kind(rendered["default"])["RayCluster"])
              for c in t["spec"]["containers"]}
    assert images == {"rayplane:0.1.0-ray2.60.0"}, "the image tag carries the pinned Ray version"
    head = spec["headGroupSpec"]["template"]["spec"]
    assert head["serviceAccountName"] == "rayplane-head"
    [cpu] = spec["workerGroupSpecs"]
    assert (cpu["groupName"], cpu["minReplicas"], cpu["replicas"], cpu["maxReplicas"]) == ("cpu", 0, 1, 4)


def test_autoscaling_off(rendered):
    spec = by_kind(rendered["autoscaling-off"])["RayCluster"]["spec"]
    assert spec["enableInTreeAutoscaling"] is False
    assert "autoscalerOptions" not in spec
    assert spec["headGroupSpec"]["template"]["spec"]["serviceAccountName"] == "rayplane-head"
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
        "redisUsername": {"valueFrom": {"secretKeyRef": {"name": "rayplane-redis", "key": "redis-username"}}},
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "rayplane-redis", "key": "redis-password"}}},
        "externalStorageNamespace": "rayplane-prod",
    }
    assert by_kind(rendered["gcs-ft"])["RayCluster"]["metadata"]["annotations"] == {
        "ray.io/gcs-ft-deletion-timeout": "600"}
    kinds = by_kind(rendered["gcs-ft"])
    assert "PersistentVolumeClaim" not in kinds, "an existing claim is used, none created"
    head = spec["headGroupSpec"]["template"]["spec"]
    claims = [v for v in head["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"name": "rayplane-storage", "persistentVolumeClaim": {"claimName": "shared-models"}}]


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
    names = sorted((o["kind"], o["metadata"]["name"]) for o in objects)
    assert names == [("NetworkPolicy", "ml-rayplane"), ("PersistentVolumeClaim", "ml-rayplane-storage"),
                     ("Pod", "ml-rayplane-test-endpoints"), ("RayCluster", "ml-rayplane"),
                     ("RayJob", "ml-rayplane-job"), ("RayService", "ml-rayplane-serve"),
                     ("Role", "ml-rayplane"), ("RoleBinding", "ml-rayplane"), ("ServiceAccount", "ml-rayplane"),
                     ("ServiceAccount", "ml-rayplane-head")]
    assert all(o["metadata"]["namespace"] == "rayplane" for o in objects)


def test_no_two_clusters_of_a_release_share_a_gcs_namespace():
    """KubeRay deletes a cluster's Redis namespace when the cluster is deleted: only the release's RayCluster
    names one; the RayService's clusters (two during an upgrade) and the RayJob's use their own UIDs."""
    objects = helm_template("--values", str(CHART / "ci" / "gcs-ft-values.yaml"),
                            "--values", str(CHART / "ci" / "rayservice-values.yaml"),
                            "--set", "cluster.enabled=true,rayJob.enabled=true")
    kinds = by_kind(objects)
    options = {kind: cluster_spec(kinds[kind])["gcsFaultToleranceOptions"] for kind in
               ("RayCluster", "RayJob", "RayService")}
    assert options["RayCluster"]["externalStorageNamespace"] == "rayplane-prod"
    for kind in ("RayJob", "RayService"):
        assert "externalStorageNamespace" not in options[kind], kind
        assert "ray.io/external-storage-namespace" not in kinds[kind]["metadata"].get("annotations", {}), kind
        # KubeRay copies these annotations onto the clusters it creates: the cleanup wait applies to them too.
        assert kinds[kind]["metadata"]["annotations"] == {"ray.io/gcs-ft-deletion-timeout": "600"}
    assert_valid(objects)  # includes rayplane.k8s.operator_rules.release_errors


def container_env(template: dict) -> dict:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in template["spec"]["containers"][0]["env"]}


def test_volume_storage_is_declared_shared(rendered):
    for where, template in pod_templates(by_kind(rendered["default"])["RayCluster"]):
        env = container_env(template)
        assert (env["RAYPLANE_HOME"], env["RAYPLANE_STORAGE_SHARED"]) == ("/mnt/rayplane", "true"), where
        mounts = {m["name"]: m["mountPath"] for m in template["spec"]["containers"][0]["volumeMounts"]}
        assert mounts["rayplane-storage"] == "/mnt/rayplane", where


@pytest.mark.parametrize("name", ["object-store", "object-store-identity"])
def test_object_storage_mode(rendered, name):
    """Every Ray container of every cluster (RayCluster, RayJob, and a RayService's below) gets the bucket as
    RAYPLANE_HOME, the endpoint and the Secret's keys by reference; no claim is created or mounted."""
    objects = rendered[name]
    kinds = by_kind(objects)
    assert "PersistentVolumeClaim" not in kinds
    credentials = {
        "AWS_ACCESS_KEY_ID": {"secretKeyRef": {"name": "rayplane-s3", "key": "access-key"}},
        "AWS_SECRET_ACCESS_KEY": {"secretKeyRef": {"name": "rayplane-s3", "key": "secret-key"}},
    } if name == "object-store" else {}
    endpoint = {"AWS_ENDPOINT_URL": "http://minio.minio.svc.cluster.local:9000"} if name == "object-store" else {}
    rays = [o for o in objects if o["apiVersion"] == "ray.io/v1"]
    for obj in rays:
        for where, template in pod_templates(obj):
            if where.endswith("submitterPodTemplate"):
                continue
            env = container_env(template)
            storage = {k: v for k, v in env.items() if k.startswith(("RAYPLANE_", "AWS_"))}
            assert storage == {"RAYPLANE_HOME": "s3://rayplane-models/prod", **endpoint, **credentials}, where
            volumes = [v for v in template["spec"]["volumes"] if "persistentVolumeClaim" in v]
            assert volumes == [], where


def test_schema_and_template_checks_of_object_storage():
    """A bad URI, a missing key name, and no URI at all are refused at install time, naming the value."""
    base = ["--set", "storage.mode=objectStore"]
    assert "at '/storage/objectStore/uri'" in helm_error(*base, "--set", "storage.objectStore.uri=bucket/prefix")
    assert "at '/storage/objectStore/uri'" in helm_error(*base)
    assert "at '/storage/objectStore/credentials/accessKeyIdKey'" in helm_error(
        *base, "--set", "storage.objectStore.uri=s3://b/p,storage.objectStore.credentials.secretName=s3",
        "--set", "storage.objectStore.credentials.accessKeyIdKey=")
    assert "at '/storage/objectStore/endpoint'" in helm_error(
        *base, "--set", "storage.objectStore.uri=s3://b/p,storage.objectStore.endpoint=minio:9000")


def test_production_additions(rendered):
    kinds = by_kind(rendered["production"])
    spec = kinds["RayCluster"]["spec"]
    head = spec["headGroupSpec"]["template"]
    cpu = spec["workerGroupSpecs"][0]["template"]
    assert head["metadata"]["annotations"] == {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
    assert head["metadata"]["labels"]["team"] == "ml-platform"
    assert head["metadata"]["labels"]["app.kubernetes.io/instance"] == "rayplane"
    assert cpu["metadata"]["annotations"] == {"prometheus.io/scrape": "false"}
    assert (head["spec"]["priorityClassName"], cpu["spec"]["priorityClassName"]) == (
        "rayplane-head", "rayplane-workers")
    assert cpu["spec"]["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    head_container, cpu_container = head["spec"]["containers"][0], cpu["spec"]["containers"][0]
    assert container_env(head)["RAY_LOG_TO_STDERR"] == "0"
    assert head_container["envFrom"] == [{"configMapRef": {"name": "rayplane-settings"}}]
    assert cpu_container["envFrom"] == [{"secretRef": {"name": "rayplane-worker-env"}}]
    assert {"name": "ca-bundle", "mountPath": "/etc/ssl/corporate", "readOnly": True} in head_container[
        "volumeMounts"]
    volumes = {v["name"]: v for v in head["spec"]["volumes"]}
    assert volumes["ca-bundle"] == {"name": "ca-bundle", "configMap": {"name": "corporate-ca"}}
    assert volumes["ray-logs"] == {"name": "ray-logs", "emptyDir": {"sizeLimit": "50Gi"}}
    assert volumes["shared-mem"] == {"name": "shared-mem", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}
    pdb = kinds["PodDisruptionBudget"]["spec"]
    assert pdb["maxUnavailable"] == "25%"
    assert pdb["selector"]["matchLabels"]["ray.io/node-type"] == "worker"
    assert pdb["selector"]["matchLabels"].items() - {("ray.io/node-type", "worker")} <= cpu["metadata"][
        "labels"].items()


def test_scratch_volumes_default_to_kuberays_sizes(rendered):
    """/dev/shm is as large as the container's memory limit (what KubeRay would inject), /tmp/ray is bounded."""
    spec = by_kind(rendered["default"])["RayCluster"]["spec"]
    for where, template, memory in [("head", spec["headGroupSpec"]["template"], "4Gi"),
                                    ("cpu", spec["workerGroupSpecs"][0]["template"], "8Gi")]:
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        assert volumes["shared-mem"]["emptyDir"] == {"medium": "Memory", "sizeLimit": memory}, where
        assert volumes["ray-logs"]["emptyDir"] == {"sizeLimit": "20Gi"}, where
        mounts = {m["mountPath"]: m["name"] for m in template["spec"]["containers"][0]["volumeMounts"]}
        assert (mounts["/tmp/ray"], mounts["/dev/shm"]) == ("ray-logs", "shared-mem"), where


def test_metrics_ports_are_declared_and_scraped(rendered):
    kinds = by_kind(rendered["production"])
    head = kinds["RayCluster"]["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in head["ports"]}
    assert (ports["metrics"], ports["as-metrics"], ports["dash-metrics"]) == (8080, 44217, 44227)
    endpoints = kinds["PodMonitor"]["spec"]["podMetricsEndpoints"]
    assert [e["port"] for e in endpoints] == ["metrics", "as-metrics", "dash-metrics"]


class FakeRay(http.server.BaseHTTPRequestHandler):
    """A dashboard that requires the token (or, when open, does not) and a Serve health route."""

    token = "s3cret"
    open_dashboard = False

    def do_GET(self):  # noqa: N802 (the http.server API)
        if self.path == "/api/jobs/":
            given = self.headers.get("Authorization")
            ok = self.open_dashboard or given == f"Bearer {self.token}"
            code = 200 if ok else (401 if given is None else 403)
        else:
            code = 200 if self.path == "/flights_delay/healthz" else 404
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("open_dashboard", [False, True])
def test_helm_test_hook_checks_auth_and_health(tmp_path, monkeypatch, open_dashboard):
    """The `helm test` pod's script, run against a local stand-in for the dashboard and Serve."""
    objects = helm_template("--values", str(CHART / "ci" / "rayservice-values.yaml"), "--set", "cluster.enabled=true")
    [pod] = [o for o in objects if o["kind"] == "Pod"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert_valid([pod])
    policy = by_kind(objects)["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"]
    assert policy.items() <= pod["metadata"]["labels"].items(), "the NetworkPolicy lets the test pod in"
    container = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    assert env["RAY_TOKEN"] == {"secretKeyRef": {"name": "rayplane", "key": "auth_token"}}
    assert env["HEALTH_URLS"] == "http://rayplane-serve-serve-svc:8000/flights_delay/healthz"
    monkeypatch.setattr(FakeRay, "open_dashboard", open_dashboard)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeRay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{server.server_port}"
    try:
        out = subprocess.run([sys.executable, "-c", container["args"][0]], capture_output=True, text=True, timeout=60,
                             env={"DASHBOARD_URL": local, "RAY_TOKEN": FakeRay.token,
                                  "HEALTH_URLS": env["HEALTH_URLS"].replace("http://rayplane-serve-serve-svc:8000",
                                                                            local)})
    finally:
        server.shutdown()
    if open_dashboard:
        assert out.returncode == 1
        assert f"FAIL {local}/api/jobs/ without the Ray token: 200, expected 401" in out.stdout
    else:
        assert out.returncode == 0, out.stdout + out.stderr
        assert out.stdout.strip() == "ok"
