"""``rayplane k8s validate``: Kubernetes objects checked offline the way the API server and KubeRay would.

Three layers, each reported as one line per problem (``Kind name: field: what is wrong``):

- schemas (``rayplane.k8s.schemas``): ray.io objects against KubeRay's CRDs, built-in objects and every pod
  template against Kubernetes' own schemas;
- KubeRay's rules beyond its schemas (``rayplane.k8s.operator_rules``), per object and across objects;
- the payloads KubeRay hands to Ray: ``serveConfigV2`` against Ray Serve's deploy schema (a typo'd option
  would be ignored) and ``runtimeEnvYAML`` against Ray's RuntimeEnv.

Objects of other API groups without a schema here (Prometheus Operator's PodMonitor and PrometheusRule)
are passed over: no offline schema exists to check them against.
"""

from __future__ import annotations

from typing import Any

import yaml

from rayplane.errors import K8sError
from rayplane.k8s import operator_rules, schemas

UNCHECKED_GROUPS = ("monitoring.coreos.com",)


def parse(text: str, source: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML stream (a kind: List is unpacked)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise K8sError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    objects = []
    for i, doc in enumerate(docs):
        if isinstance(doc, dict) and doc.get("kind") == "List":
            docs.extend(doc.get("items") or [])
        elif not (isinstance(doc, dict) and isinstance(doc.get("kind"), str) and doc.get("apiVersion")):
            raise K8sError(f"{source}: document {i + 1} is not a Kubernetes object (no apiVersion and kind)")
        else:
            objects.append(doc)
    return objects


def problems(objects: list[dict[str, Any]]) -> list[str]:
    """Every problem of ``objects``, as they would be applied together; empty when all are valid."""
    found = []
    for obj in objects:
        if obj["apiVersion"].split("/")[0] in UNCHECKED_GROUPS:
            continue
        name = f"{obj['kind']} {(obj.get('metadata') or {}).get('name', '<no name>')}"
        errors = schemas.schema_errors(obj)
        if obj["apiVersion"].split("/")[0] == "ray.io":
            errors += operator_rules.object_errors(obj) + ray_payload_errors(obj)
        found += [f"{name}: {e}" for e in errors]
    return found + operator_rules.release_errors(objects)


def ray_payload_errors(obj: dict[str, Any]) -> list[str]:
    """serveConfigV2 and runtimeEnvYAML, validated by Ray's own classes."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "RayService" and isinstance(spec.get("serveConfigV2"), str):
        return _serve_config_errors(spec["serveConfigV2"])
    if obj["kind"] == "RayJob" and isinstance(spec.get("runtimeEnvYAML"), str):
        return _runtime_env_errors(spec["runtimeEnvYAML"])
    return []


def _serve_config_errors(text: str) -> list[str]:
    from ray.serve.schema import DeploymentSchema, ServeApplicationSchema, ServeDeploySchema

    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [f"spec.serveConfigV2: not valid YAML ({' '.join(str(exc).split())})"]
    if not isinstance(config, dict):
        return ["spec.serveConfigV2: must be a YAML mapping"]
    errors = []
    try:
        ServeDeploySchema.model_validate(config)
    except ValueError as exc:  # pydantic's ValidationError
        errors.append(f"spec.serveConfigV2: {' '.join(str(exc).split())}")
    # Serve ignores keys it does not know; a typo'd option would silently not apply.
    levels = [(config, ServeDeploySchema, "spec.serveConfigV2")]
    for i, app in enumerate(config.get("applications") or []):
        if isinstance(app, dict):
            levels.append((app, ServeApplicationSchema, f"spec.serveConfigV2.applications[{i}]"))
            levels += [(d, DeploymentSchema, f"spec.serveConfigV2.applications[{i}].deployments[{j}]")
                       for j, d in enumerate(app.get("deployments") or []) if isinstance(d, dict)]
    for node, model, where in levels:
        unknown = set(node) - set(model.model_fields)
        if unknown:
            errors.append(f"{where}: unknown fields {sorted(unknown)}")
    return errors


def _runtime_env_errors(text: str) -> list[str]:
    from ray.runtime_env import RuntimeEnv

    try:
        env = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # operator_rules reports it, as KubeRay does
    if not isinstance(env, dict):
        return []
    unknown = set(env) - set(RuntimeEnv.known_fields)
    if unknown:
        return [f"spec.runtimeEnvYAML: unknown fields {sorted(unknown)}"]
    try:
        RuntimeEnv(**env)
    except (TypeError, ValueError) as exc:
        return [f"spec.runtimeEnvYAML: {' '.join(str(exc).split())}"]
    return []
