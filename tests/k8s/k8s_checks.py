"""Offline checks of rendered Kubernetes objects against the real schemas.

- ray.io objects: the KubeRay v1.7.0 CRDs' openAPIV3Schema (from ../shared), after what the API server does
  first: drop nulls, apply defaults; unknown fields are rejected (the server would prune them silently,
  which hides typos), list-map keys must be unique, and metadata is checked as ObjectMeta.
- Built-in objects and every Ray pod template: kubernetes-validate, strict; a missing schema fails.
- serveConfigV2: ray.serve.schema.ServeDeploySchema; runtimeEnvYAML: ray.runtime_env.RuntimeEnv.
- What the KubeRay 1.7 operator itself refuses beyond the CRD (its utils/validation.go), for the fields
  rayplane sets.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CRDS = SHARED / "kuberay" / "v1.7.0" / "crds"
CHART = REPO / "helm" / "rayplane"
TOOLS = REPO / ".tools" / "bin"
# kubernetes-validate re-reads its (large) JSON schemas on every call; they never change, so read each once.
kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the kubectl the tools ship.
K8S_VERSIONS = ("1.29", "1.34")
# Transition rules compare with the stored object; on create they always hold.
TRANSITION_RULES = {"self == oldSelf"}


def tool(name: str) -> Path:
    """helm/kubectl from .ci/install-helm. Skips locally when absent; CI (CI=true) must have them."""
    path = TOOLS / name
    if not path.is_file():
        message = f"{path} is missing: run bash .ci/install-helm"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_shared() -> None:
    if not CRDS.is_dir():
        pytest.skip(f"KubeRay CRDs not found at {CRDS} (../shared is absent)")


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


# -- KubeRay CRDs ------------------------------------------------------------------------------------------


@functools.cache
def crd_schema(kind: str) -> dict[str, Any]:
    require_shared()
    path = CRDS / f"ray.io_{kind.lower()}s.yaml"
    # libyaml: the pure-Python loader takes ~10 s per CRD file.
    crd = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert crd["spec"]["names"]["kind"] == kind, f"{path} is not the {kind} CRD"
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    return version["schema"]["openAPIV3Schema"]


def normalize(value: Any, schema: dict[str, Any]) -> Any:
    """What the API server stores before validating: nulls of non-nullable fields dropped, defaults applied."""
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {}
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else {})
            if item is None and not sub.get("nullable"):
                continue
            out[key] = normalize(item, sub)
        for key, sub in props.items():
            if key not in out and "default" in sub:
                out[key] = normalize(copy.deepcopy(sub["default"]), sub)
        return out
    if isinstance(value, list) and "items" in schema:
        return [normalize(item, schema["items"]) for item in value]
    return value


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields rejected wherever the CRD lists properties and keeps no unknowns."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if "properties" in schema:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(schema["additionalProperties"])
    if "items" in schema:
        out["items"] = strict(schema["items"])
    if "anyOf" in schema:
        out["anyOf"] = [strict(s) for s in schema["anyOf"]]
    if schema.get("nullable"):
        out["type"] = [schema["type"], "null"]
    return out


@functools.cache
def strict_crd_validator(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(strict(crd_schema(kind)))


def api_server_rules(value: Any, schema: dict[str, Any], path: str = "") -> Iterator[str]:
    """Rules outside JSON Schema: unique list-map keys and sets, and CEL rules (none is evaluated here)."""
    for rule in schema.get("x-kubernetes-validations", []):
        if rule["rule"] not in TRANSITION_RULES:
            yield f"{path}: sets a field with a CEL rule this check cannot evaluate: {rule['rule']}"
    if isinstance(value, dict):
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                yield from api_server_rules(item, sub, f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        list_type = schema.get("x-kubernetes-list-type")
        if list_type == "map":
            keys = [tuple(item.get(k) for k in schema["x-kubernetes-list-map-keys"]) for item in value]
            if len(keys) != len(set(keys)):
                yield f"{path}: duplicate keys {schema['x-kubernetes-list-map-keys']} in {keys}"
        elif list_type == "set" and len(value) != len({yaml.safe_dump(v) for v in value}):
            yield f"{path}: duplicate items in a set: {value}"
        for i, item in enumerate(value):
            yield from api_server_rules(item, schema["items"], f"{path}[{i}]")


def crd_errors(obj: dict[str, Any]) -> list[str]:
    kind = obj["kind"]
    schema = crd_schema(kind)
    stored = normalize(obj, schema)
    errors = [f"{kind}.{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in strict_crd_validator(kind).iter_errors(stored)]
    errors += list(api_server_rules(stored, schema, kind))
    errors += builtin_errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
                             f"{kind} metadata")
    return errors


# -- built-in objects ----------------------------------------------------------------------------------------


def builtin_errors(obj: dict[str, Any], what: str | None = None) -> list[str]:
    what = what or f"{obj['kind']} {obj['metadata'].get('name')}"
    errors = []
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{what} (Kubernetes {version}): {'.'.join(map(str, exc.path))}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{what}: {exc.message}")
    return errors


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod template) for every pod a KubeRay object describes."""
    spec = obj["spec"]
    cluster = {"RayCluster": spec, "RayJob": spec.get("rayClusterSpec"),
               "RayService": spec.get("rayClusterConfig")}[obj["kind"]]
    if cluster:
        yield "head", cluster["headGroupSpec"]["template"]
        for group in cluster.get("workerGroupSpecs", []):
            yield f"worker group {group.get('groupName')}", group["template"]
    if obj["kind"] == "RayJob":
        yield "submitter", spec["submitterPodTemplate"]


def cluster_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    spec = obj["spec"]
    return {"RayCluster": spec, "RayJob": spec.get("rayClusterSpec"), "RayService": spec.get("rayClusterConfig")
            }[obj["kind"]]


def ray_payload_errors(obj: dict[str, Any]) -> list[str]:
    """serveConfigV2 and runtimeEnvYAML, validated by Ray's own classes."""
    from ray.runtime_env import RuntimeEnv
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    errors = []
    spec = obj["spec"]
    if obj["kind"] == "RayService":
        config = yaml.safe_load(spec["serveConfigV2"])
        try:
            ServeDeploySchema.model_validate(config)
        except Exception as exc:  # pydantic's ValidationError, or a YAML error: both are findings
            errors.append(f"RayService serveConfigV2: {exc}")
        # Serve ignores keys it does not know; a typo'd option would silently not apply.
        levels = [(config, ServeDeploySchema, "serveConfigV2")]
        for i, app in enumerate(config.get("applications", [])):
            levels.append((app, ServeApplicationSchema, f"applications[{i}]"))
            levels += [(d, DeploymentSchema, f"applications[{i}].deployments[{j}]")
                       for j, d in enumerate(app.get("deployments", []))]
        for node, model, where in levels:
            unknown = set(node) - set(model.model_fields)
            if unknown:
                errors.append(f"RayService {where}: unknown fields {sorted(unknown)}")
    if obj["kind"] == "RayJob":
        if "runtimeEnvYAML" in spec:
            env = yaml.safe_load(spec["runtimeEnvYAML"])
            unknown = set(env) - set(RuntimeEnv.known_fields)
            if unknown:
                errors.append(f"RayJob runtimeEnvYAML: unknown fields {sorted(unknown)}")
            try:
                RuntimeEnv(**env)
            except Exception as exc:  # RuntimeEnv raises TypeError or ValueError on bad fields
                errors.append(f"RayJob runtimeEnvYAML: {exc}")
        words = shlex.split(spec["entrypoint"])
        if words[:1] != ["rayplane"] or words[1:2] not in (["run"], ["train"], ["tune"]):
            errors.append(f"RayJob entrypoint is not rayplane run|train|tune: {words}")
    return errors


# KubeRay's name limits: it appends suffixes to RayCluster names, and 6 characters to RayJob/RayService names.
MAX_NAMES = {"RayCluster": 53, "RayJob": 47, "RayService": 47}
UPGRADE_TYPES = {"NewCluster", "NewClusterWithIncrementalUpgrade", "None"}


def operator_errors(obj: dict[str, Any]) -> list[str]:
    kind, name, spec = obj["kind"], obj["metadata"]["name"], obj["spec"]
    errors = []
    if len(name) > MAX_NAMES[kind] or not re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name):
        errors.append(f"{kind} name {name!r}: not a DNS-1035 label of at most {MAX_NAMES[kind]} characters")
    if kind == "RayJob":
        if spec.get("ttlSecondsAfterFinished", 0) > 0 and not spec.get("shutdownAfterJobFinishes"):
            errors.append("RayJob: ttlSecondsAfterFinished needs shutdownAfterJobFinishes")
        if "clusterSelector" in spec and not spec["clusterSelector"].get("ray.io/cluster"):
            errors.append("RayJob: clusterSelector needs ray.io/cluster")
        if ("clusterSelector" in spec) == ("rayClusterSpec" in spec):
            errors.append("RayJob: set exactly one of rayClusterSpec and clusterSelector")
        if spec.get("activeDeadlineSeconds", 1) <= 0:
            errors.append("RayJob: activeDeadlineSeconds must be positive")
    if kind == "RayService" and spec.get("upgradeStrategy", {}).get("type", "NewCluster") not in UPGRADE_TYPES:
        errors.append(f"RayService: upgradeStrategy.type must be one of {sorted(UPGRADE_TYPES)}")
    cluster = cluster_spec(obj)
    if cluster:
        if cluster.get("authOptions", {}).get("mode") == "token" and \
                tuple(map(int, cluster.get("rayVersion", "0.0").split(".")[:2])) < (2, 52):
            errors.append(f"{kind}: token authentication needs rayVersion 2.52 or later")
        groups = [g.get("groupName") for g in cluster.get("workerGroupSpecs", [])]
        if len(groups) != len(set(groups)) or "headgroup" in groups:
            errors.append(f"{kind}: worker group names must be unique and not headgroup: {groups}")
        for group in [cluster["headGroupSpec"], *cluster.get("workerGroupSpecs", [])]:
            params = group.get("rayStartParams", {})
            if "labels" in params or ("gcsFaultToleranceOptions" in cluster and "redis-password" in params):
                errors.append(f"{kind}: rayStartParams set what KubeRay reserves: {sorted(params)}")
    return errors


def validation_errors(obj: dict[str, Any]) -> list[str]:
    group = obj["apiVersion"].split("/")[0]
    if group == "ray.io":
        errors = crd_errors(obj) + operator_errors(obj) + ray_payload_errors(obj)
        for where, template in pod_templates(obj):
            pod = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"}, "template": template}
            errors += builtin_errors(pod, f"{obj['kind']} {where} pod")
        return errors
    if group == "monitoring.coreos.com":
        return []  # no schema offline; tests check the PodMonitor's selector and port instead
    return builtin_errors(obj)


def assert_valid(objects: list[dict[str, Any]]) -> None:
    errors = [e for obj in objects for e in validation_errors(obj)]
    assert not errors, "\n".join(errors)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds: dict[str, dict[str, Any]] = {}
    for obj in objects:
        assert obj["kind"] not in kinds, f"two {obj['kind']} objects"
        kinds[obj["kind"]] = obj
    return kinds
