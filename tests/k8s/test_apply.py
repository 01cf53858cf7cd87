"""`rayplane k8s apply` and `status` through the real Kubernetes client against kmock, an in-memory
Kubernetes API server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

import kmock
import pytest
import yaml
from k8s.k8s_checks import CHART, REPO, by_kind, helm_template
from tests_helpers import free_port

from rayplane.cli.main import main

SPEC = REPO / "workloads" / "flights_delay" / "workload.yaml"
RAYJOBS = kmock.resource("ray.io", "v1", "rayjobs")
RAYSERVICES = kmock.resource("ray.io", "v1", "rayservices")


class ApplyingEmulator(kmock.KubernetesEmulator):
    """kmock's stateful API server, plus what it leaves out and a real server does: a server-side apply
    (PATCH with application/apply-patch+yaml) of an object that does not exist creates it."""

    async def _handle(self, request):
        content_type = request.headers.get("Content-Type", "")
        if request.action == kmock.action.UPDATE and content_type.startswith("application/apply-patch"):
            key = (request.resource, request.namespace, request.name)
            async with self._lock:
                if key not in self._objects:
                    self._objects[key] = request.data
                elif self._objects[key].deleted:
                    self._objects[key].create(request.data)
        return await super()._handle(request)


@dataclass
class Kube:
    api: ApplyingEmulator
    kubeconfig: Path

    def stored(self, resource, namespace: str, name: str) -> dict:
        return self.api.objects[resource, namespace, name].raw

    def requests(self, method: str) -> list:
        return [r for r in self.api if r.method == method]  # the handler iterates over the requests it served


@pytest.fixture()
def kube(tmp_path):
    """The API server runs on its own event loop thread: the Kubernetes client under test is synchronous."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="kmock", daemon=True)
    thread.start()
    api = ApplyingEmulator()
    # The KubeRay CRDs are installed: their resources list (empty) before any object exists.
    for resource, kind in ((RAYJOBS, "RayJob"), (RAYSERVICES, "RayService")):
        api.resources[resource].kind = kind
        api.resources[resource].namespaced = True
    server = kmock.Server(api)

    async def start():
        await api.__aenter__()
        await server.__aenter__()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": str(server.url).rstrip("/")}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "tester"}}],
        "users": [{"name": "tester", "user": {"token": "not-checked"}}],
    }))
    try:
        yield Kube(api, kubeconfig)
    finally:
        async def stop():
            await server.__aexit__(None, None, None)
            await api.__aexit__(None, None, None)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_apply_creates_then_updates_by_server_side_apply(kube, capsys):
    args = ["k8s", "apply", str(SPEC), "--namespace", "ml", "--kubeconfig", str(kube.kubeconfig)]
    code, out, err = cli(capsys, *args, "--model-version", "1")
    assert code == 0, err
    assert out.splitlines() == ["applied RayJob ml/flights-delay-run", "applied RayService ml/flights-delay"]
    patches = kube.requests("PATCH")
    assert [r.url.path for r in patches] == ["/apis/ray.io/v1/namespaces/ml/rayjobs/flights-delay-run",
                                             "/apis/ray.io/v1/namespaces/ml/rayservices/flights-delay"]
    for request in patches:
        assert request.headers["Content-Type"] == "application/apply-patch+yaml"
        assert request.params == {"fieldManager": "rayplane", "force": "true"}
    job = kube.stored(RAYJOBS, "ml", "flights-delay-run")
    assert job["spec"]["clusterSelector"] == {"ray.io/cluster": "rayplane"}
    assert job["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "rayplane"

    code, _, err = cli(capsys, *args, "--model-version", "2", "--only", "rayservice")
    assert code == 0, err
    service = kube.stored(RAYSERVICES, "ml", "flights-delay")
    assert service["metadata"]["annotations"]["rayplane.io/model-version"] == "2"
    assert "/models/flights_delay/v2" in service["spec"]["serveConfigV2"]
    assert len(kube.requests("POST")) == 0, "apply never creates with POST: one request creates or updates"


def test_status_reads_back_what_the_operator_wrote(kube, capsys):
    assert cli(capsys, "k8s", "apply", str(SPEC), "-n", "ml", "--model-version", "1",
               "--kubeconfig", str(kube.kubeconfig))[0] == 0
    # What KubeRay writes into the status subresource while it runs the job and serves the model.
    kube.api.objects[RAYJOBS, "ml", "flights-delay-run"].patch({"status": {
        "jobDeploymentStatus": "Running", "jobStatus": "RUNNING", "rayClusterName": "rayplane"}})
    kube.api.objects[RAYSERVICES, "ml", "flights-delay"].patch({"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "NonZeroServeEndpoints"}],
        "numServeEndpoints": 2,
        "activeServiceStatus": {"rayClusterName": "flights-delay-raycluster-x7k2p",
                                "applicationStatuses": {"flights_delay": {"status": "RUNNING"}}}}})
    code, out, err = cli(capsys, "k8s", "status", str(SPEC), "-n", "ml", "--kubeconfig", str(kube.kubeconfig))
    assert code == 0, err
    assert out.splitlines() == [
        "RayJob      flights-delay-run  Running       job RUNNING; cluster rayplane",
        "RayService  flights-delay      Ready         cluster flights-delay-raycluster-x7k2p; flights_delay RUNNING; "
        "2 serve endpoint(s)",
    ]
    lists = [r for r in kube.requests("GET") if r.url.path.endswith(("/rayjobs", "/rayservices"))]
    assert {r.params["labelSelector"] for r in lists} == {
        "app.kubernetes.io/part-of=rayplane,rayplane.io/workload=flights_delay"}


def test_status_before_the_operator_and_with_nothing(kube, capsys):
    code, out, _ = cli(capsys, "k8s", "status", "-n", "ml", "--kubeconfig", str(kube.kubeconfig))
    assert code == 0
    assert out.strip() == "no rayplane RayJobs or RayServices in namespace ml (app.kubernetes.io/part-of=rayplane)"
    cli(capsys, "k8s", "apply", str(SPEC), "-n", "ml", "--only", "rayjob", "--kubeconfig", str(kube.kubeconfig))
    code, out, _ = cli(capsys, "k8s", "status", "-n", "ml", "--kubeconfig", str(kube.kubeconfig))
    assert out.strip() == "RayJob      flights-delay-run  Pending       not picked up by the KubeRay operator yet"


def test_status_shows_what_the_chart_created(kube, capsys):
    """The chart's RayJob and RayService (labelled by Helm, not managed by rayplane) are listed too."""
    from rayplane.k8s.client import KubeClient

    chart = by_kind(helm_template("--values", str(CHART / "ci" / "rayservice-values.yaml"),
                                  "--set", "rayJob.enabled=true", namespace="ml", release="ml"))
    client = KubeClient(str(kube.kubeconfig))
    for kind in ("RayJob", "RayService"):
        client.apply(chart[kind])
    assert cli(capsys, "k8s", "apply", str(SPEC), "-n", "ml", "--only", "rayjob", "--release", "ml",
               "--kubeconfig", str(kube.kubeconfig))[0] == 0
    code, out, err = cli(capsys, "k8s", "status", "-n", "ml", "--kubeconfig", str(kube.kubeconfig))
    assert code == 0, err
    assert sorted(line.split()[1] for line in out.splitlines()) == ["flights-delay-run", "ml-rayplane-job",
                                                                    "ml-rayplane-serve"]
    assert all("not picked up by the KubeRay operator yet" in line for line in out.splitlines())
    assert cli(capsys, "k8s", "status", str(SPEC), "-n", "ml", "--kubeconfig", str(kube.kubeconfig))[0] == 0
    # kmock lists every object whatever the selector; a real API server lists only those it selects: every
    # rayplane object, and the chart's RayService also when SPEC (its one application's workload) is given.
    selectors = [r.params["labelSelector"] for r in kube.requests("GET") if r.url.path.endswith(("/rayjobs",
                                                                                                 "/rayservices"))]
    assert sorted(set(selectors)) == ["app.kubernetes.io/part-of=rayplane",
                                      "app.kubernetes.io/part-of=rayplane,rayplane.io/workload=flights_delay"]
    for selector, obj in [(selectors[0], chart["RayJob"]), (selectors[0], chart["RayService"]),
                          (selectors[-1], chart["RayService"])]:
        labels = obj["metadata"]["labels"]
        assert all(labels.get(k) == v for k, v in (term.split("=") for term in selector.split(","))), \
            f"{selector} does not select the chart's {obj['kind']}"


def test_apply_validates_first(kube, capsys):
    """An object KubeRay would refuse is never sent: here an incremental upgrade whose step exceeds its surge."""
    code, _, err = cli(capsys, "k8s", "apply", str(SPEC), "-n", "ml", "--model-version", "1", "--kubeconfig",
                       str(kube.kubeconfig), "--upgrade-strategy", "NewClusterWithIncrementalUpgrade",
                       "--gateway-class", "istio", "--step-size-percent", "50", "--max-surge-percent", "20")
    assert code == 1
    assert err.splitlines()[1:] == [
        "  - RayService flights-delay: spec.upgradeStrategy.clusterUpgradeOptions.stepSizePercent: 50 must be less "
        "than or equal to maxSurgePercent (20)"]
    assert kube.requests("PATCH") == []


def test_missing_crds_are_named(kube, capsys):
    del kube.api.resources[RAYJOBS]
    code, _, err = cli(capsys, "k8s", "status", "-n", "ml", "--kubeconfig", str(kube.kubeconfig))
    assert code == 1
    assert err.startswith("error: RayJobs in namespace ml: HTTP 404")
    assert "are the KubeRay operator and its CRDs installed?" in err


def test_api_errors_are_one_line(kube, capsys):
    """A rejected apply (here: the API server answers 422) is reported with the server's message."""
    kube.api["patch", RAYJOBS] << 422 << {
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Invalid", "code": 422,
        "message": 'RayJob.ray.io "flights-delay-run" is invalid: spec.entrypoint: Required value'}
    code, _, err = cli(capsys, "k8s", "apply", str(SPEC), "-n", "ml", "--only", "rayjob",
                       "--kubeconfig", str(kube.kubeconfig))
    assert code == 1
    assert err.strip() == ('error: RayJob ml/flights-delay-run: HTTP 422 Unprocessable Entity: '
                           'RayJob.ray.io "flights-delay-run" is invalid: spec.entrypoint: Required value')


def test_unreachable_cluster_and_bad_kubeconfig(tmp_path, capsys):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "gone", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
        "users": [{"name": "u", "user": {}}]}))
    code, _, err = cli(capsys, "k8s", "status", "--kubeconfig", str(kubeconfig))
    assert code == 1 and "cannot reach the Kubernetes API" in err
    code, _, err = cli(capsys, "k8s", "status", "--kubeconfig", str(kubeconfig), "--context", "nope")
    assert code == 1 and "kubeconfig:" in err and "nope" in err
