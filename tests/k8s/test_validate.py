"""`rayplane k8s validate`: each rule KubeRay enforces beyond its CRD schemas (rayplane.k8s.operator_rules cites
where in KubeRay's source) fails with the line a user sees, and the chart's own objects pass."""

from __future__ import annotations

import copy

import pytest
import yaml
from k8s.k8s_checks import CHART, by_kind, helm_template

from rayplane.cli.main import main
from rayplane.k8s.yamlout import dump_all


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    kinds = by_kind(helm_template("--values", str(CHART / "ci" / "rayservice-values.yaml"),
                                  "--set", "cluster.enabled=true,rayJob.enabled=true"))
    return {kind: obj for kind, obj in kinds.items() if obj["apiVersion"] == "ray.io/v1"}


def validate(capsys, tmp_path, objects: list[dict]) -> tuple[int, list[str]]:
    path = tmp_path / "objects.yaml"
    path.write_text(dump_all(objects))
    code = main(["k8s", "validate", str(path)])
    out = capsys.readouterr()
    return code, (out.err or out.out).splitlines()


def on_release_cluster(job: dict) -> None:
    """A RayJob that runs on an existing cluster instead of its own."""
    for field in ("rayClusterSpec", "shutdownAfterJobFinishes", "ttlSecondsAfterFinished"):
        job["spec"].pop(field)
    job["spec"]["clusterSelector"] = {"ray.io/cluster": "rayplane"}


def cluster(obj: dict) -> dict:
    return {"RayCluster": obj["spec"], "RayJob": obj["spec"].get("rayClusterSpec"),
            "RayService": obj["spec"].get("rayClusterConfig")}[obj["kind"]]


def head_container(obj: dict) -> dict:
    return cluster(obj)["headGroupSpec"]["template"]["spec"]["containers"][0]


def worker(obj: dict) -> dict:
    return cluster(obj)["workerGroupSpecs"][0]


def worker_resources(obj: dict, **changes: dict) -> None:
    resources = worker(obj)["template"]["spec"]["containers"][0]["resources"]
    for kind, quantities in changes.items():
        resources[kind].update(quantities)


def gcs_ft(obj: dict) -> None:
    cluster(obj)["gcsFaultToleranceOptions"] = {"redisAddress": "redis:6379"}


def incremental(obj: dict, **options) -> None:
    obj["spec"]["upgradeStrategy"] = {"type": "NewClusterWithIncrementalUpgrade"}
    if options:
        obj["spec"]["upgradeStrategy"]["clusterUpgradeOptions"] = {
            "gatewayClassName": "istio", "stepSizePercent": 25, "intervalSeconds": 30, **options}


def both(changes):
    def change(obj):
        for c in changes:
            c(obj)
    return change


S = "RayService rayplane-serve: spec.upgradeStrategy"
RULES = {
    # name: (kind, change, the line `rayplane k8s validate` prints)
    "name too long": ("RayService", lambda o: o["metadata"].update(name="s" * 48),
                      f"RayService {'s' * 48}: metadata.name: RayService name '{'s' * 48}' should be a DNS-1035 "
                      "label of at most 47 characters"),
    "minReplicas above maxReplicas": ("RayCluster", lambda o: worker(o).update(minReplicas=5),
                                      "RayCluster rayplane: spec.workerGroupSpecs[0]: worker group cpu has "
                                      "minReplicas 5 greater than maxReplicas 4"),
    "labels in rayStartParams": ("RayCluster", lambda o: worker(o)["rayStartParams"].update(labels="a=b"),
                                 "RayCluster rayplane: spec.workerGroupSpecs[0].rayStartParams.labels: not "
                                 "supported for cpu group; use the group's top-level labels field instead"),
    "resources twice": ("RayCluster", lambda o: worker(o).update(resources={"TPU": "1"}, rayStartParams={
        "num-cpus": "2"}), "RayCluster rayplane: spec.workerGroupSpecs[0]: resource fields should not be set in "
                           "both rayStartParams and resources for cpu group; use only one"),
    "Ray below the operator's minimum for token auth": (
        "RayCluster", lambda o: o["spec"].update(rayVersion="2.40.0"),
        "RayCluster rayplane: spec.rayVersion: authOptions.mode is 'token' but the minimum Ray version is 2.52.0, "
        "got '2.40.0'"),
    "worker priority on old Ray": (
        "RayCluster", both([lambda o: o["spec"].update(rayVersion="2.55.0"), lambda o: worker(o).update(priority=5)]),
        "RayCluster rayplane: spec.workerGroupSpecs[0].priority: worker group cpu: priority is set, but the minimum "
        "Ray version is 2.56.0, got '2.55.0'"),
    "redis password in rayStartParams": (
        "RayCluster", both([gcs_ft, lambda o: cluster(o)["headGroupSpec"]["rayStartParams"].update(
            {"redis-password": "x"})]),
        "RayCluster rayplane: spec.headGroupSpec.rayStartParams.redis-password: cannot be set with "
        "gcsFaultToleranceOptions; use gcsFaultToleranceOptions.redisPassword"),
    "redis username in env": (
        "RayCluster", lambda o: head_container(o)["env"].append({"name": "REDIS_USERNAME", "value": "ray"}),
        "RayCluster rayplane: spec.headGroupSpec: cannot set a Redis username in rayStartParams or env vars; use "
        "gcsFaultToleranceOptions.redisUsername"),
    "restartPolicy with autoscaler v2": (
        "RayCluster", lambda o: cluster(o)["headGroupSpec"]["template"]["spec"].update(restartPolicy="Always"),
        "RayCluster rayplane: spec.headGroupSpec.template.spec.restartPolicy: should be Never or unset when using "
        "autoscaler V2"),
    "autoscaler version twice": (
        "RayCluster", lambda o: head_container(o)["env"].append({"name": "RAY_enable_autoscaler_v2", "value": "1"}),
        "RayCluster rayplane: spec.autoscalerOptions.version: both it and the head's RAY_enable_autoscaler_v2 env "
        "var are set; use only the former"),
    "GPU requests without limits": (
        "RayCluster", lambda o: worker_resources(o, requests={"nvidia.com/gpu": 1}),
        "RayCluster rayplane: spec.workerGroupSpecs[0].template.spec.containers[0].resources.limits.nvidia.com/gpu: "
        "must be set to the request (1): nvidia.com/gpu cannot be overcommitted"),
    "limits below requests": (
        "RayCluster", lambda o: worker_resources(o, limits={"memory": "4Gi"}),
        "RayCluster rayplane: spec.workerGroupSpecs[0].template.spec.containers[0].resources.requests.memory: 8Gi "
        "must be less than or equal to the memory limit (4Gi)"),
    "TTL on a job that keeps its cluster": (
        "RayJob", lambda o: o["spec"].update(shutdownAfterJobFinishes=False),
        "RayJob rayplane-job: spec.ttlSecondsAfterFinished: a RayJob with shutdownAfterJobFinishes false cannot "
        "have it (it would delete nothing)"),
    "backoffLimit with clusterSelector": (
        "RayJob", both([on_release_cluster, lambda o: o["spec"].update(backoffLimit=2)]),
        "RayJob rayplane-job: spec.backoffLimit: 2 is incompatible with clusterSelector (a retry needs a new "
        "cluster; the selected one is not the job's)"),
    "clusterSelector without a cluster name": (
        "RayJob", both([on_release_cluster, lambda o: o["spec"].update(clusterSelector={"app": "x"})]),
        "RayJob rayplane-job: spec.clusterSelector: needs the cluster name under ray.io/cluster"),
    "no cluster at all": ("RayJob", lambda o: o["spec"].pop("rayClusterSpec"),
                          "RayJob rayplane-job: spec: one of rayClusterSpec or clusterSelector must be set"),
    "runtimeEnvYAML not YAML": (
        "RayJob", lambda o: o["spec"].update(runtimeEnvYAML="env_vars: {A: [\n"),
        "RayJob rayplane-job: spec.runtimeEnvYAML: not valid YAML: expected the node content, but found "
        "'<stream end>' (line 2)"),
    "unknown upgrade strategy": (
        "RayService", lambda o: o["spec"].update(upgradeStrategy={"type": "BlueGreen"}),
        f"{S}.type: 'BlueGreen' is invalid, valid options are NewClusterWithIncrementalUpgrade, NewCluster, None"),
    "incremental upgrade without options": (
        "RayService", incremental,
        f"{S}.clusterUpgradeOptions: required for NewClusterWithIncrementalUpgrade"),
    "step above max surge": (
        "RayService", lambda o: incremental(o, stepSizePercent=50, maxSurgePercent=20),
        f"{S}.clusterUpgradeOptions.stepSizePercent: 50 must be less than or equal to maxSurgePercent (20)"),
    "incremental upgrade without a gateway class": (
        "RayService", lambda o: incremental(o, gatewayClassName=""),
        f"{S}.clusterUpgradeOptions.gatewayClassName: required for NewClusterWithIncrementalUpgrade"),
    "incremental upgrade without autoscaling": (
        "RayService", both([lambda o: incremental(o, maxSurgePercent=50),
                            lambda o: cluster(o).update(enableInTreeAutoscaling=False)]),
        f"{S}.type: the Ray autoscaler is required for NewClusterWithIncrementalUpgrade"),
    "head service named": (
        "RayService", lambda o: cluster(o)["headGroupSpec"].update(headService={"metadata": {"name": "svc"}}),
        "RayService rayplane-serve: spec.rayClusterConfig.headGroupSpec.headService.metadata.name: should not be "
        "set (each of the service's clusters needs its own)"),
    "bad initializing timeout": (
        "RayService", lambda o: o["metadata"].setdefault("annotations", {}).update(
            {"ray.io/initializing-timeout": "soon"}),
        "RayService rayplane-serve: metadata.annotations.ray.io/initializing-timeout: 'soon' must be a positive Go "
        "duration (5m, 1h) or a positive integer of seconds"),
    "autoscaling off without replica bounds": (
        "RayCluster", both([lambda o: o["spec"].update(enableInTreeAutoscaling=False),
                            lambda o: o["spec"].pop("autoscalerOptions"), lambda o: worker(o).pop("maxReplicas")]),
        "RayCluster rayplane: spec.workerGroupSpecs[0]: worker group cpu must set both minReplicas and maxReplicas "
        "when autoscaling is disabled"),
    "suspended group with the autoscaler": (
        "RayCluster", lambda o: worker(o).update(suspend=True),
        "RayCluster rayplane: spec.workerGroupSpecs[0].suspend: worker group cpu cannot be suspended with the "
        "autoscaler enabled"),
    "worker priority without autoscaler v2": (
        "RayCluster", both([lambda o: o["spec"]["autoscalerOptions"].update(version="v1"),
                            lambda o: worker(o).update(priority=5)]),
        "RayCluster rayplane: spec.workerGroupSpecs[0].priority: worker group cpu: priority is only supported with "
        "autoscaler v2 enabled"),
    "worker restartPolicy with autoscaler v2": (
        "RayCluster", lambda o: worker(o)["template"]["spec"].update(restartPolicy="OnFailure"),
        "RayCluster rayplane: spec.workerGroupSpecs[0].template.spec.restartPolicy: should be Never or unset when "
        "using autoscaler V2"),
    "autoscaler v2 env without autoscaling": (
        "RayCluster", both([lambda o: o["spec"].update(enableInTreeAutoscaling=False),
                            lambda o: o["spec"].pop("autoscalerOptions"),
                            lambda o: head_container(o)["env"].append({"name": "RAY_enable_autoscaler_v2",
                                                                       "value": "true"})]),
        "RayCluster rayplane: spec.headGroupSpec: RAY_enable_autoscaler_v2 cannot be 'true' when "
        "enableInTreeAutoscaling is false"),
    "negative idle timeout": (
        "RayCluster", lambda o: o["spec"]["autoscalerOptions"].update(idleTimeoutSeconds=-1),
        "RayCluster rayplane: spec.autoscalerOptions.idleTimeoutSeconds: must be non-negative, got -1"),
    "redis address without fault tolerance": (
        "RayCluster", lambda o: head_container(o)["env"].append({"name": "RAY_REDIS_ADDRESS", "value": "r:6379"}),
        "RayCluster rayplane: spec.headGroupSpec: RAY_REDIS_ADDRESS implicitly enables GCS fault tolerance; set "
        "gcsFaultToleranceOptions instead"),
    "redis password env with fault tolerance": (
        "RayCluster", both([gcs_ft, lambda o: head_container(o)["env"].append({"name": "REDIS_PASSWORD",
                                                                                "value": "x"})]),
        "RayCluster rayplane: spec.headGroupSpec: cannot set the REDIS_PASSWORD env var in the head Pod with "
        "gcsFaultToleranceOptions; use gcsFaultToleranceOptions.redisPassword"),
    "storage namespace annotation with fault tolerance": (
        "RayCluster", both([gcs_ft, lambda o: o["metadata"].setdefault("annotations", {}).update(
            {"ray.io/external-storage-namespace": "ns"})]),
        "RayCluster rayplane: metadata.annotations.ray.io/external-storage-namespace: cannot be set with "
        "gcsFaultToleranceOptions; use gcsFaultToleranceOptions.externalStorageNamespace"),
    "Kubernetes token auth without token mode": (
        "RayCluster", lambda o: o["spec"]["authOptions"].update(mode="disabled", enableK8sTokenAuth=True),
        "RayCluster rayplane: spec.authOptions.enableK8sTokenAuth: enabled but authOptions.mode is not 'token'"),
    "Kubernetes token auth on old Ray": (
        "RayCluster", both([lambda o: o["spec"].update(rayVersion="2.53.0"),
                            lambda o: o["spec"]["authOptions"].update(enableK8sTokenAuth=True)]),
        "RayCluster rayplane: spec.authOptions.enableK8sTokenAuth: the minimum Ray version is 2.55.0, got '2.53.0'"),
    "Kubernetes token auth with a token Secret": (
        "RayCluster", lambda o: o["spec"]["authOptions"].update(enableK8sTokenAuth=True, secretName="token"),
        "RayCluster rayplane: spec.authOptions.secretName: cannot be set with enableK8sTokenAuth"),
    "Kubernetes token auth in a RayJob": (
        "RayJob", lambda o: cluster(o)["authOptions"].update(enableK8sTokenAuth=True),
        "RayJob rayplane-job: spec.rayClusterSpec.authOptions.enableK8sTokenAuth: not supported for RayJob"),
    "Kubernetes token auth in a RayService": (
        "RayService", lambda o: cluster(o)["authOptions"].update(enableK8sTokenAuth=True),
        "RayService rayplane-serve: spec.rayClusterConfig.authOptions.enableK8sTokenAuth: not supported for "
        "RayService"),
    "GPU request unlike its limit": (
        "RayCluster", lambda o: worker_resources(o, requests={"nvidia.com/gpu": 1}, limits={"nvidia.com/gpu": 2}),
        "RayCluster rayplane: spec.workerGroupSpecs[0].template.spec.containers[0].resources.requests.nvidia.com/gpu: "
        "1 must equal the limit (2) for nvidia.com/gpu"),
    "suspending a job that keeps its cluster": (
        "RayJob", lambda o: o["spec"].update(suspend=True, shutdownAfterJobFinishes=False, ttlSecondsAfterFinished=0),
        "RayJob rayplane-job: spec.suspend: a RayJob with shutdownAfterJobFinishes false cannot be suspended"),
    "suspending a job on the release cluster": (
        "RayJob", both([on_release_cluster, lambda o: o["spec"].update(suspend=True, shutdownAfterJobFinishes=True)]),
        "RayJob rayplane-job: spec.suspend: the clusterSelector mode does not support suspend"),
    "clusterSelector in SidecarMode": (
        "RayJob", both([on_release_cluster, lambda o: o["spec"].update(submissionMode="SidecarMode")]),
        "RayJob rayplane-job: spec.clusterSelector: not supported in SidecarMode"),
    "SidecarMode with a submitter pod": (
        "RayJob", lambda o: o["spec"].update(submissionMode="SidecarMode"),
        "RayJob rayplane-job: spec.submitterPodTemplate: SidecarMode does not support it"),
    "retries in InteractiveMode": (
        "RayJob", lambda o: o["spec"].update(submissionMode="InteractiveMode", backoffLimit=1),
        "RayJob rayplane-job: spec.backoffLimit: 1 is incompatible with InteractiveMode"),
    "zero deadline": ("RayJob", lambda o: o["spec"].update(activeDeadlineSeconds=0),
                      "RayJob rayplane-job: spec.activeDeadlineSeconds: must be a positive integer, got 0"),
    "zero pre-running deadline": (
        "RayJob", lambda o: o["spec"].update(preRunningDeadlineSeconds=0),
        "RayJob rayplane-job: spec.preRunningDeadlineSeconds: must be a positive integer, got 0"),
    "negative backoffLimit": ("RayJob", lambda o: o["spec"].update(backoffLimit=-1),
                              "RayJob rayplane-job: spec.backoffLimit: must not be negative, got -1"),
    "negative TTL": ("RayJob", lambda o: o["spec"].update(ttlSecondsAfterFinished=-5),
                     "RayJob rayplane-job: spec.ttlSecondsAfterFinished: must be a non-negative integer, got -5"),
    "runtimeEnvYAML not a mapping": ("RayJob", lambda o: o["spec"].update(runtimeEnvYAML="- pip\n"),
                                     "RayJob rayplane-job: spec.runtimeEnvYAML: must be a YAML mapping"),
    "negative cluster deletion delay": (
        "RayService", lambda o: o["spec"].update(rayClusterDeletionDelaySeconds=-1),
        "RayService rayplane-serve: spec.rayClusterDeletionDelaySeconds: should be a non-negative integer, got -1"),
    "surge above 100": (
        "RayService", lambda o: incremental(o, maxSurgePercent=150),
        f"{S}.clusterUpgradeOptions.maxSurgePercent: must be between 0 and 100, got 150"),
    "no step size": (
        "RayService", lambda o: incremental(o, stepSizePercent=None),
        f"{S}.clusterUpgradeOptions.stepSizePercent: must be between 0 and 100, got None"),
    "zero interval": (
        "RayService", lambda o: incremental(o, intervalSeconds=0),
        f"{S}.clusterUpgradeOptions.intervalSeconds: must be greater than 0, got 0"),
    "one GCS namespace for a RayService's clusters": (
        "RayService", both([gcs_ft, lambda o: cluster(o)["gcsFaultToleranceOptions"].update(
            externalStorageNamespace="prod")]),
        "RayService rayplane-serve: externalStorageNamespace 'prod' would be shared by every cluster it creates, and "
        "deleting one deletes the others' GCS state in Redis: leave it unset so KubeRay uses each cluster's UID"),
}


def test_the_chart_objects_pass(capsys, tmp_path, objects):
    code, lines = validate(capsys, tmp_path, list(objects.values()))
    assert code == 0, lines
    assert lines == [f"{tmp_path / 'objects.yaml'}: 3 object(s) valid"]


def test_rules_are_many():
    assert len(RULES) >= 12


@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule(capsys, tmp_path, objects, rule):
    kind, change, line = RULES[rule]
    obj = copy.deepcopy(objects[kind])
    change(obj)
    code, lines = validate(capsys, tmp_path, [obj])
    assert code == 1
    assert lines[0].startswith(f"error: {tmp_path / 'objects.yaml'}: ")
    assert f"  - {line}" in lines, "\n".join(lines)


def test_two_clusters_sharing_a_gcs_namespace(capsys, tmp_path, objects):
    first, second = copy.deepcopy(objects["RayCluster"]), copy.deepcopy(objects["RayCluster"])
    second["metadata"]["name"] = "other"
    for obj in (first, second):
        cluster(obj)["gcsFaultToleranceOptions"] = {"redisAddress": "redis:6379", "externalStorageNamespace": "ns"}
    code, lines = validate(capsys, tmp_path, [first, second])
    assert code == 1
    assert lines[1:] == ["  - RayCluster other: externalStorageNamespace 'ns' is also RayCluster rayplane's: deleting "
                         "either cluster deletes the other's GCS state in Redis"]


def test_stdin_and_bad_input(capsys, tmp_path, monkeypatch, objects):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO(dump_all([objects["RayJob"]])))
    assert main(["k8s", "validate"]) == 0
    assert capsys.readouterr().out.strip() == "stdin: 1 object(s) valid"
    path = tmp_path / "bad.yaml"
    path.write_text("kind: RayJob\n")
    assert main(["k8s", "validate", str(path)]) == 1
    assert capsys.readouterr().err.strip() == (f"error: {path}: document 1 is not a Kubernetes object "
                                               "(no apiVersion and kind)")
    path.write_text("a: [\n")
    assert main(["k8s", "validate", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"error: {path}: not valid YAML: ")
    assert main(["k8s", "validate", str(tmp_path / "missing.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_kinds_and_list_documents(capsys, tmp_path, objects):
    thing = {"apiVersion": "ray.io/v1", "kind": "RayThing", "metadata": {"name": "x"}}
    listed = {"apiVersion": "v1", "kind": "List", "items": [objects["RayJob"], thing]}
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump(listed))
    assert main(["k8s", "validate", str(path)]) == 1
    assert capsys.readouterr().err.splitlines()[1:] == [
        "  - RayThing x: RayThing: not a kind of KubeRay 1.7.0 (expected one of RayCluster, RayJob, RayService, "
        "RayCronJob)"]


def test_cron_job_names(capsys, tmp_path, objects):
    """KubeRay appends a timestamp to a RayCronJob's name for its RayJobs: 36 characters at most."""
    cron = {"apiVersion": "ray.io/v1", "kind": "RayCronJob", "metadata": {"name": "c" * 37},
            "spec": {"schedule": "0 * * * *", "jobTemplate": objects["RayJob"]["spec"]}}
    code, lines = validate(capsys, tmp_path, [cron])
    assert code == 1
    assert f"  - RayCronJob {'c' * 37}: metadata.name: RayCronJob name '{'c' * 37}' should be a DNS-1035 label of at " \
           "most 36 characters" in lines, lines
