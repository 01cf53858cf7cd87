"""What KubeRay 1.7 refuses (or silently gets wrong) beyond its CRD schemas, checked before anything is applied.

Every rule is KubeRay's own, at tag v1.7.0 of github.com/ray-project/kuberay; the comment above each cites
the file and function, relative to ``ray-operator/controllers/ray/``. KubeRay checks them after the API
server has stored the object and reports only the first as an event and a failed status; here every
broken rule is reported, each as one line starting with the field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

# utils/constant.go: MaxRayClusterNameLength, and MaxRayJobNameLength = MaxRayServiceNameLength = it - 6.
MAX_NAMES = {"RayCluster": 53, "RayJob": 47, "RayService": 47, "RayCronJob": 36}
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
UPGRADE_TYPES = ("NewClusterWithIncrementalUpgrade", "NewCluster", "None")
INCREMENTAL = "NewClusterWithIncrementalUpgrade"
EXTERNAL_STORAGE_NS = "ray.io/external-storage-namespace"
INITIALIZING_TIMEOUT = "ray.io/initializing-timeout"
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
# Kubernetes resources that may be overcommitted; any other (nvidia.com/gpu, ...) needs requests == limits.
OVERCOMMITTABLE = ("cpu", "memory", "ephemeral-storage")


def object_errors(obj: dict[str, Any]) -> list[str]:
    kind = obj.get("kind")
    metadata = _dict(obj.get("metadata"))
    spec = _dict(obj.get("spec"))
    annotations = _dict(metadata.get("annotations"))
    errors = list(_name(kind, metadata.get("name", "")))
    if kind == "RayCluster":
        errors += _cluster(spec, annotations, "spec")
    elif kind == "RayJob":
        errors += _rayjob(spec, annotations)
    elif kind == "RayService":
        errors += _rayservice(spec, annotations)
    return errors


def release_errors(objects: list[dict[str, Any]]) -> list[str]:
    """Rules across objects: GCS fault-tolerance storage namespaces in Redis.

    common/pod.go configureRedisFT: a cluster's Redis keys live under gcsFaultToleranceOptions
    .externalStorageNamespace, else its ray.io/external-storage-namespace annotation, else its own UID; and
    raycluster_controller.go (the GCSFaultToleranceRedisCleanupFinalizer branch of reconcile) runs a Job that
    deletes that namespace's keys whenever the RayCluster is deleted. Two clusters with one namespace means
    deleting either wipes the other's state: a RayService's active and pending clusters during an upgrade,
    each retry of an ephemeral RayJob, or two objects given the same name.
    """
    errors = []
    owners: dict[str, str] = {}
    for obj in objects:
        cluster = _cluster_of(obj)
        if cluster is None:
            continue
        namespace = _storage_namespace(obj, cluster)
        if not namespace:
            continue
        name = f"{obj.get('kind')} {_dict(obj.get('metadata')).get('name')}"
        if obj.get("kind") != "RayCluster":
            errors.append(f"{name}: externalStorageNamespace {namespace!r} would be shared by every cluster it "
                          "creates, and deleting one deletes the others' GCS state in Redis: leave it unset so "
                          "KubeRay uses each cluster's UID")
        if namespace in owners:
            errors.append(f"{name}: externalStorageNamespace {namespace!r} is also {owners[namespace]}'s: "
                          "deleting either cluster deletes the other's GCS state in Redis")
        owners.setdefault(namespace, name)
    return errors


# -- metadata ----------------------------------------------------------------------------------------------


def _name(kind: str | None, name: Any) -> Iterator[str]:
    # utils/validation.go ValidateRayClusterMetadata, ValidateRayJobMetadata, ValidateRayServiceMetadata,
    # ValidateRayCronJobSpec: a DNS-1035 label, short enough for the suffixes KubeRay appends.
    limit = MAX_NAMES.get(kind or "")
    if limit and (not isinstance(name, str) or len(name) > limit or not DNS_1035.match(name)):
        yield f"metadata.name: {kind} name {name!r} should be a DNS-1035 label of at most {limit} characters"


# -- RayCluster specs (of a RayCluster, a RayJob's rayClusterSpec, a RayService's rayClusterConfig) -------------


def _cluster(spec: dict[str, Any], annotations: dict[str, Any], at: str) -> list[str]:
    errors: list[str] = []
    head = _dict(spec.get("headGroupSpec"))
    head_pod = _dict(_dict(head.get("template")).get("spec"))
    head_env = _env(head_pod)
    groups = [_dict(g) for g in _list(spec.get("workerGroupSpecs"))]
    autoscaling = spec.get("enableInTreeAutoscaling") is True
    autoscaler = _dict(spec.get("autoscalerOptions"))
    ft = spec.get("gcsFaultToleranceOptions")
    # utils/validation.go validateRayGroupResources, validateRayGroupLabels (via ValidateRayClusterSpec).
    for where, group, name in [(f"{at}.headGroupSpec", head, "Head"),
                               *((f"{at}.workerGroupSpecs[{i}]", g, g.get("groupName")) for i, g in
                                 enumerate(groups))]:
        params = _dict(group.get("rayStartParams"))
        if any(params.get(k) for k in ("num-cpus", "num-gpus", "memory", "resources")) and group.get("resources"):
            errors.append(f"{where}: resource fields should not be set in both rayStartParams and resources for "
                          f"{name} group; use only one")
        if "labels" in params:
            errors.append(f"{where}.rayStartParams.labels: not supported for {name} group; use the group's "
                          "top-level labels field instead")
    for i, group in enumerate(groups):
        where, name = f"{at}.workerGroupSpecs[{i}]", group.get("groupName")
        low, high = group.get("minReplicas"), group.get("maxReplicas")
        # utils/validation.go ValidateRayClusterSpec: replica bounds.
        if not autoscaling and (low is None or high is None):
            errors.append(f"{where}: worker group {name} must set both minReplicas and maxReplicas when "
                          "autoscaling is disabled")
        if _int(low) and _int(high) and low > high:
            errors.append(f"{where}: worker group {name} has minReplicas {low} greater than maxReplicas {high}")
        # utils/validation.go ValidateRayClusterSpec: suspending a group is the autoscaler's job when it runs.
        if autoscaling and group.get("suspend") is True:
            errors.append(f"{where}.suspend: worker group {name} cannot be suspended with the autoscaler enabled")
        # utils/validation.go validateWorkerGroupPriority: priority needs Ray 2.56 and autoscaler v2.
        if group.get("priority"):
            if _older(spec.get("rayVersion"), (2, 56)):
                errors.append(f"{where}.priority: worker group {name}: priority is set, but the minimum Ray "
                              f"version is 2.56.0, got {spec.get('rayVersion')!r}")
            if not _autoscaler_v2(spec, head_env):
                errors.append(f"{where}.priority: worker group {name}: priority is only supported with "
                              "autoscaler v2 enabled")
        # utils/validation.go ValidateRayClusterSpec: autoscaler v2 replaces failed Pods itself.
        if _autoscaler_v2(spec, head_env) and _dict(_dict(group.get("template")).get("spec")).get(
                "restartPolicy", "Never") != "Never":
            errors.append(f"{where}.template.spec.restartPolicy: should be Never or unset when using autoscaler V2")
    if _autoscaler_v2(spec, head_env) and head_pod.get("restartPolicy", "Never") != "Never":
        errors.append(f"{at}.headGroupSpec.template.spec.restartPolicy: should be Never or unset when using "
                      "autoscaler V2")
    # utils/validation.go ValidateRayClusterSpec: RAY_enable_autoscaler_v2 and the autoscaler settings.
    v2_env = head_env.get("RAY_enable_autoscaler_v2")
    if not autoscaling and v2_env is not None and _dict(v2_env).get("value") in ("1", "true"):
        errors.append(f"{at}.headGroupSpec: RAY_enable_autoscaler_v2 cannot be {v2_env.get('value')!r} when "
                      "enableInTreeAutoscaling is false")
    if autoscaling and "version" in autoscaler and v2_env is not None:
        errors.append(f"{at}.autoscalerOptions.version: both it and the head's RAY_enable_autoscaler_v2 env var "
                      "are set; use only the former")
    idle = autoscaler.get("idleTimeoutSeconds")
    if _int(idle) and idle < 0:
        errors.append(f"{at}.autoscalerOptions.idleTimeoutSeconds: must be non-negative, got {idle}")
    # utils/validation.go ValidateRayClusterSpec: the Redis connection of GCS fault tolerance is KubeRay's.
    if ft is None and "RAY_REDIS_ADDRESS" in head_env and annotations.get("ray.io/ft-enabled") != "true":
        errors.append(f"{at}.headGroupSpec: RAY_REDIS_ADDRESS implicitly enables GCS fault tolerance; set "
                      "gcsFaultToleranceOptions instead")
    if ft is not None:
        if _dict(head.get("rayStartParams")).get("redis-password"):
            errors.append(f"{at}.headGroupSpec.rayStartParams.redis-password: cannot be set with "
                          "gcsFaultToleranceOptions; use gcsFaultToleranceOptions.redisPassword")
        for var, field in (("REDIS_PASSWORD", "redisPassword"), ("RAY_REDIS_ADDRESS", "redisAddress")):
            if var in head_env:
                errors.append(f"{at}.headGroupSpec: cannot set the {var} env var in the head Pod with "
                              f"gcsFaultToleranceOptions; use gcsFaultToleranceOptions.{field}")
        if annotations.get(EXTERNAL_STORAGE_NS):
            errors.append(f"metadata.annotations.{EXTERNAL_STORAGE_NS}: cannot be set with "
                          "gcsFaultToleranceOptions; use gcsFaultToleranceOptions.externalStorageNamespace")
    if _dict(head.get("rayStartParams")).get("redis-username") or "REDIS_USERNAME" in head_env:
        errors.append(f"{at}.headGroupSpec: cannot set a Redis username in rayStartParams or env vars; use "
                      "gcsFaultToleranceOptions.redisUsername")
    # utils/validation.go ValidateRayClusterSpec: token authentication and its minimum Ray version.
    auth = _dict(spec.get("authOptions"))
    if auth.get("mode") == "token" and _older(spec.get("rayVersion"), (2, 52)):
        errors.append(f"{at}.rayVersion: authOptions.mode is 'token' but the minimum Ray version is 2.52.0, got "
                      f"{spec.get('rayVersion')!r}")
    if auth.get("enableK8sTokenAuth"):
        if auth.get("mode") != "token":
            errors.append(f"{at}.authOptions.enableK8sTokenAuth: enabled but authOptions.mode is not 'token'")
        elif _older(spec.get("rayVersion"), (2, 55)):
            errors.append(f"{at}.authOptions.enableK8sTokenAuth: the minimum Ray version is 2.55.0, got "
                          f"{spec.get('rayVersion')!r}")
        if auth.get("secretName"):
            errors.append(f"{at}.authOptions.secretName: cannot be set with enableK8sTokenAuth")
    for where, template in [(f"{at}.headGroupSpec", head), *((f"{at}.workerGroupSpecs[{i}]", g)
                                                            for i, g in enumerate(groups))]:
        errors += _container_resources(f"{where}.template.spec", _dict(_dict(template.get("template")).get("spec")))
    return errors


def _container_resources(at: str, pod: dict[str, Any]) -> Iterator[str]:
    """Resources the API server refuses when the operator creates the Pod, long after the object was accepted.

    Kubernetes pkg/apis/core/validation/validation.go ValidateResourceRequirements: a request above its limit,
    and a request of a resource that cannot be overcommitted (GPUs and other extended resources) without an
    equal limit. KubeRay common/pod.go generateRayStartCommand and addWellKnownAcceleratorResources read CPUs,
    memory and GPUs from the limits, so a GPU request without a limit would also give Ray no GPU.
    """
    for i, container in enumerate(_list(pod.get("containers"))):
        resources = _dict(_dict(container).get("resources"))
        requests, limits = _dict(resources.get("requests")), _dict(resources.get("limits"))
        where = f"{at}.containers[{i}].resources"
        for name, request in requests.items():
            limit = limits.get(name)
            overcommittable = name in OVERCOMMITTABLE or name.startswith("hugepages-")
            if not overcommittable and limit is None:
                yield f"{where}.limits.{name}: must be set to the request ({request}): {name} cannot be overcommitted"
            elif not overcommittable and _quantity(limit) != _quantity(request):
                yield f"{where}.requests.{name}: {request} must equal the limit ({limit}) for {name}"
            elif limit is not None and _quantity(request) > _quantity(limit):
                yield f"{where}.requests.{name}: {request} must be less than or equal to the {name} limit ({limit})"


# -- RayJob ------------------------------------------------------------------------------------------------


def _rayjob(spec: dict[str, Any], annotations: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    selector = spec.get("clusterSelector")
    mode = spec.get("submissionMode", "K8sJobMode")
    backoff = spec.get("backoffLimit")
    shutdown = spec.get("shutdownAfterJobFinishes") is True
    # utils/validation.go ValidateRayJobSpec and validateDeletionConfiguration.
    if spec.get("suspend") and not shutdown:
        errors.append("spec.suspend: a RayJob with shutdownAfterJobFinishes false cannot be suspended")
    ttl = spec.get("ttlSecondsAfterFinished", 0)
    if _int(ttl) and ttl < 0:
        errors.append(f"spec.ttlSecondsAfterFinished: must be a non-negative integer, got {ttl}")
    if _int(ttl) and ttl > 0 and not shutdown:
        errors.append("spec.ttlSecondsAfterFinished: a RayJob with shutdownAfterJobFinishes false cannot have it "
                      "(it would delete nothing)")
    if selector:
        if spec.get("suspend"):
            errors.append("spec.suspend: the clusterSelector mode does not support suspend")
        if not _dict(selector).get("ray.io/cluster"):
            errors.append("spec.clusterSelector: needs the cluster name under ray.io/cluster")
        if mode == "SidecarMode":
            errors.append("spec.clusterSelector: not supported in SidecarMode")
        if _int(backoff) and backoff > 0:
            errors.append(f"spec.backoffLimit: {backoff} is incompatible with clusterSelector (a retry needs a new "
                          "cluster; the selected one is not the job's)")
    elif not isinstance(spec.get("rayClusterSpec"), dict):
        errors.append("spec: one of rayClusterSpec or clusterSelector must be set")
    if mode == "InteractiveMode" and _int(backoff) and backoff > 0:
        errors.append(f"spec.backoffLimit: {backoff} is incompatible with InteractiveMode")
    if mode == "SidecarMode":
        for field in ("submitterPodTemplate", "submitterConfig"):
            if field in spec:
                errors.append(f"spec.{field}: SidecarMode does not support it")
    for field in ("activeDeadlineSeconds", "preRunningDeadlineSeconds"):
        value = spec.get(field)
        if _int(value) and value <= 0:
            errors.append(f"spec.{field}: must be a positive integer, got {value}")
    if _int(backoff) and backoff < 0:
        errors.append(f"spec.backoffLimit: must not be negative, got {backoff}")
    # utils/validation.go ValidateRayJobSpec: runtimeEnvYAML must parse (dashboardclient.UnmarshalRuntimeEnvYAML).
    if spec.get("runtimeEnvYAML"):
        try:
            env = yaml.safe_load(spec["runtimeEnvYAML"])
            if not isinstance(env, dict):
                errors.append("spec.runtimeEnvYAML: must be a YAML mapping")
        except yaml.MarkedYAMLError as exc:
            errors.append(f"spec.runtimeEnvYAML: not valid YAML: {exc.problem} (line {exc.problem_mark.line + 1})")
    cluster = spec.get("rayClusterSpec")
    if isinstance(cluster, dict):
        if _dict(cluster.get("authOptions")).get("enableK8sTokenAuth"):
            errors.append("spec.rayClusterSpec.authOptions.enableK8sTokenAuth: not supported for RayJob")
        errors += _cluster(cluster, annotations, "spec.rayClusterSpec")
    return errors


# -- RayService --------------------------------------------------------------------------------------------


def _rayservice(spec: dict[str, Any], annotations: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    cluster = _dict(spec.get("rayClusterConfig"))
    # utils/validation.go ValidateRayServiceSpec.
    if _dict(cluster.get("authOptions")).get("enableK8sTokenAuth"):
        errors.append("spec.rayClusterConfig.authOptions.enableK8sTokenAuth: not supported for RayService")
    errors += _cluster(cluster, annotations, "spec.rayClusterConfig")
    if _dict(_dict(_dict(cluster.get("headGroupSpec")).get("headService")).get("metadata")).get("name"):
        errors.append("spec.rayClusterConfig.headGroupSpec.headService.metadata.name: should not be set (each of "
                      "the service's clusters needs its own)")
    strategy = _dict(spec.get("upgradeStrategy"))
    kind = strategy.get("type")
    if kind is not None and kind not in UPGRADE_TYPES:
        errors.append(f"spec.upgradeStrategy.type: {kind!r} is invalid, valid options are {', '.join(UPGRADE_TYPES)}")
    delay = spec.get("rayClusterDeletionDelaySeconds")
    if _int(delay) and delay < 0:
        errors.append(f"spec.rayClusterDeletionDelaySeconds: should be a non-negative integer, got {delay}")
    if kind == INCREMENTAL:
        errors += _incremental(cluster, strategy.get("clusterUpgradeOptions"))
    # utils/validation.go ValidateRayServiceMetadata, validateInitializingTimeout.
    timeout = annotations.get(INITIALIZING_TIMEOUT)
    if timeout and not _positive_timeout(str(timeout)):
        errors.append(f"metadata.annotations.{INITIALIZING_TIMEOUT}: {timeout!r} must be a positive Go duration "
                      "(5m, 1h) or a positive integer of seconds")
    return errors


def _incremental(cluster: dict[str, Any], options: Any) -> Iterator[str]:
    # utils/validation.go ValidateClusterUpgradeOptions (via ValidateRayServiceSpec).
    at = "spec.upgradeStrategy.clusterUpgradeOptions"
    if cluster.get("enableInTreeAutoscaling") is not True:
        yield f"spec.upgradeStrategy.type: the Ray autoscaler is required for {INCREMENTAL}"
    if not isinstance(options, dict):
        yield f"{at}: required for {INCREMENTAL}"
        return
    surge = options.get("maxSurgePercent", 100)  # KubeRay's default when unset
    step = options.get("stepSizePercent")
    if not _int(surge) or not 0 <= surge <= 100:
        yield f"{at}.maxSurgePercent: must be between 0 and 100, got {surge}"
    if not _int(step) or not 0 <= step <= 100:
        yield f"{at}.stepSizePercent: must be between 0 and 100, got {step}"
    elif _int(surge) and step > surge:
        yield f"{at}.stepSizePercent: {step} must be less than or equal to maxSurgePercent ({surge})"
    interval = options.get("intervalSeconds")
    if not _int(interval) or interval <= 0:
        yield f"{at}.intervalSeconds: must be greater than 0, got {interval}"
    if not options.get("gatewayClassName"):
        yield f"{at}.gatewayClassName: required for {INCREMENTAL}"


# -- helpers -----------------------------------------------------------------------------------------------


def _cluster_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = _dict(obj.get("spec"))
    cluster = {"RayCluster": spec, "RayJob": spec.get("rayClusterSpec"),
               "RayService": spec.get("rayClusterConfig")}.get(obj.get("kind", ""))
    return cluster if isinstance(cluster, dict) else None


def _storage_namespace(obj: dict[str, Any], cluster: dict[str, Any]) -> str | None:
    """The explicit GCS storage namespace in Redis, in common/pod.go configureRedisFT's order."""
    options = cluster.get("gcsFaultToleranceOptions")
    annotations = _dict(_dict(obj.get("metadata")).get("annotations"))
    if options is None and annotations.get("ray.io/ft-enabled") != "true":
        return None
    return _dict(options).get("externalStorageNamespace") or annotations.get(EXTERNAL_STORAGE_NS)


def _autoscaler_v2(spec: dict[str, Any], head_env: dict[str, Any]) -> bool:
    """utils/util.go IsAutoscalingV2Enabled: autoscalerOptions.version v2, or the head's env var."""
    if spec.get("enableInTreeAutoscaling") is not True:
        return False
    if _dict(spec.get("autoscalerOptions")).get("version") == "v2":
        return True
    return _dict(head_env.get("RAY_enable_autoscaler_v2")).get("value") in ("1", "true")


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    """The env vars of a pod's Ray container (KubeRay's RayContainerIndex: the first)."""
    containers = _list(pod.get("containers"))
    first = _dict(containers[0]) if containers else {}
    return {e.get("name"): e for e in map(_dict, _list(first.get("env")))}


def _older(version: Any, minimum: tuple[int, int]) -> bool:
    match = re.match(r"^v?(\d+)\.(\d+)", str(version or ""))
    return match is None or (int(match[1]), int(match[2])) < minimum


def _positive_timeout(text: str) -> bool:
    if text.isdigit() or (text.startswith("-") and text[1:].isdigit()):
        return int(text) > 0
    return bool(GO_DURATION.match(text)) and any(c in "123456789" for c in text)


QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
SUFFIXES = {"": 1, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
            "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def _quantity(value: Any) -> float:
    match = QUANTITY.match(str(value))
    if not match or match[2] not in SUFFIXES:
        return float("nan")  # the schema check reports a malformed quantity; comparisons with nan are False
    return float(match[1]) * SUFFIXES[match[2]]


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
