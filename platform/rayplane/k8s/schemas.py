"""Kubernetes objects checked offline against the schemas the API server would use.

- ray.io objects: the KubeRay v1.7.0 CRDs shipped in ``rayplane/k8s/crds`` (openAPIV3Schema), after what
  the API server does first (drop nulls, apply defaults); unknown fields are rejected (the server would prune
  them silently, which hides typos), list-map keys must be unique, and metadata is checked as ObjectMeta.
- Built-in objects and every pod template a ray.io object describes: kubernetes-validate, strict, for the
  oldest and newest Kubernetes the chart supports; a kind without a schema is an error.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from importlib import resources
from typing import Any

import yaml

KUBERAY_VERSION = "1.7.0"
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest it is tested on.
K8S_VERSIONS = ("1.29", "1.34")
# Transition rules compare with the stored object; on create they always hold.
TRANSITION_RULES = {"self == oldSelf"}
CRD_FILES = {"RayCluster": "rayclusters", "RayJob": "rayjobs", "RayService": "rayservices",
             "RayCronJob": "raycronjobs"}


@functools.cache
def crd_schema(kind: str) -> dict[str, Any]:
    """The v1 openAPIV3Schema of a KubeRay kind, from the CRD shipped in this package."""
    text = resources.files("rayplane.k8s").joinpath("crds", f"ray.io_{CRD_FILES[kind]}.yaml").read_text()
    # libyaml: the pure-Python loader takes ~10 s per CRD file.
    crd = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
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
def _strict_validator(kind: str):
    import jsonschema

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
    if kind not in CRD_FILES:
        return [f"{kind}: not a kind of KubeRay {KUBERAY_VERSION} (expected one of {', '.join(CRD_FILES)})"]
    schema = crd_schema(kind)
    stored = normalize(obj, schema)
    errors = [f"{'.'.join(map(str, e.absolute_path)) or kind}: {e.message}"
              for e in _strict_validator(kind).iter_errors(stored)]
    errors += [e.lstrip(".") for e in api_server_rules(stored, schema)]
    errors += builtin_errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj.get("metadata", {})})
    return errors


@functools.cache
def _kubernetes_validate():
    import kubernetes_validate

    # It re-reads its (large) JSON schemas on every call; they never change, so read each once.
    kubernetes_validate.utils.schema_contents = functools.cache(kubernetes_validate.utils.schema_contents)
    return kubernetes_validate


def builtin_errors(obj: dict[str, Any], prefix: str = "") -> list[str]:
    """kubernetes-validate's findings, their paths below ``prefix`` (where the object sits in its parent)."""
    kubernetes_validate = _kubernetes_validate()
    found: dict[str, list[str]] = {}
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join([prefix, *map(str, exc.path)] if prefix else map(str, exc.path))
            found.setdefault(f"{path or obj.get('kind')}: {exc.message}", []).append(version)
        except kubernetes_validate.SchemaNotFoundError as exc:
            found.setdefault(f"{prefix or obj.get('kind')}: {exc.message}", []).append(version)
    # A finding for every version is one problem; one for some versions names them.
    return [e if len(v) == len(K8S_VERSIONS) else f"{e} (Kubernetes {', '.join(v)})" for e, v in found.items()]


def cluster_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The RayCluster spec a ray.io object carries (None for a RayJob on an existing cluster)."""
    spec = obj.get("spec") or {}
    field = {"RayCluster": None, "RayJob": "rayClusterSpec", "RayService": "rayClusterConfig"}.get(obj["kind"], "")
    if field is None:
        return spec
    return spec.get(field) if field else None


def pod_templates(obj: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod template) for every pod a KubeRay object describes."""
    cluster = cluster_spec(obj)
    prefix = {"RayCluster": "spec", "RayJob": "spec.rayClusterSpec", "RayService": "spec.rayClusterConfig"}
    if cluster:
        where = prefix[obj["kind"]]
        if isinstance(cluster.get("headGroupSpec"), dict):
            yield f"{where}.headGroupSpec.template", cluster["headGroupSpec"].get("template") or {}
        for i, group in enumerate(cluster.get("workerGroupSpecs") or []):
            yield f"{where}.workerGroupSpecs[{i}].template", group.get("template") or {}
    if obj["kind"] == "RayJob" and isinstance(obj["spec"].get("submitterPodTemplate"), dict):
        yield "spec.submitterPodTemplate", obj["spec"]["submitterPodTemplate"]


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Every schema finding of one object, each prefixed with the field path it concerns."""
    if obj.get("apiVersion", "").split("/")[0] == "ray.io":
        errors = crd_errors(obj)
        for where, template in pod_templates(obj):
            pod = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "check"}, "template": template}
            errors += builtin_errors(pod, where.removesuffix(".template"))
        return errors
    return builtin_errors(obj)
