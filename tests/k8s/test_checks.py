"""The schema checks themselves catch what the API server, KubeRay or Ray would refuse (or silently drop)."""

from __future__ import annotations

import copy

import pytest
import yaml
from k8s.k8s_checks import CHART, by_kind, helm_template, validation_errors

from rayplane.k8s.schemas import crd_schema, normalize


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    return by_kind(helm_template("--values", str(CHART / "ci" / "rayservice-values.yaml"),
                                 "--set", "cluster.enabled=true,rayJob.enabled=true"))


def broken(obj: dict, change) -> dict:
    obj = copy.deepcopy(obj)
    change(obj["spec"])
    return obj


def head(cluster: dict) -> dict:
    return cluster["headGroupSpec"]["template"]["spec"]["containers"][0]


def serve_config(service: dict, change) -> None:
    config = yaml.safe_load(service["serveConfigV2"])
    change(config["applications"][0])
    service["serveConfigV2"] = yaml.safe_dump(config)


CASES = {
    "typo in a RayCluster field": ("RayCluster", lambda s: s.update(enableInTreeAutoscalling=True),
                                   "'enableInTreeAutoscalling' was unexpected"),
    "typo in a container field": ("RayCluster", lambda s: head(s).update(imagePullPolcy="Always"),
                                  "'imagePullPolcy' was unexpected"),
    "string for a replica count": ("RayCluster", lambda s: s["workerGroupSpecs"][0].update(maxReplicas="4"),
                                   "'4' is not of type 'integer'"),
    "bad enum": ("RayCluster", lambda s: s["autoscalerOptions"].update(upscalingMode="Fast"), "'Fast' is not one of"),
    "duplicate container port": ("RayCluster", lambda s: head(s)["ports"].append(dict(head(s)["ports"][0])),
                                 "duplicate keys"),
    "required field missing": ("RayCluster", lambda s: s["workerGroupSpecs"][0].pop("groupName"),
                               "'groupName' is a required property"),
    "bad runtime env": ("RayJob", lambda s: s.update(runtimeEnvYAML="env_vars: {A: 1}\n"),
                        "must be of type Dict[str, str]"),
    "unknown runtime env field": ("RayJob", lambda s: s.update(runtimeEnvYAML="workdir: s3://b/w.zip\n"),
                                  "unknown fields ['workdir']"),
    "entrypoint is not rayplane": ("RayJob", lambda s: s.update(entrypoint="python train.py"),
                                   "not rayplane run|train|tune"),
    "bad serve option": ("RayService", lambda s: serve_config(s, lambda app: app["deployments"][0].update(
        num_replicas="many")), "`num_replicas` must be an int or \"auto\""),
    "typo in a serve option": ("RayService", lambda s: serve_config(s, lambda app: app.update(
        route_prefx=app.pop("route_prefix"))), "unknown fields ['route_prefx']"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_objects_are_caught(objects, case):
    kind, change, message = CASES[case]
    assert validation_errors(objects[kind]) == []
    errors = validation_errors(broken(objects[kind], change))
    assert any(message in e for e in errors), errors


def test_built_in_objects_and_missing_schemas(objects):
    policy = copy.deepcopy(objects["NetworkPolicy"])
    policy["spec"]["ingress"][0]["form"] = policy["spec"]["ingress"][0].pop("from")
    assert any("'form' was unexpected" in e for e in validation_errors(policy))
    unknown = {"apiVersion": "v1", "kind": "RayplaneThing", "metadata": {"name": "x"}}
    assert any("Couldn't find schema for kind RayplaneThing" in e for e in validation_errors(unknown))


def test_metadata_is_object_meta(objects):
    obj = copy.deepcopy(objects["RayJob"])
    obj["metadata"]["label"] = {"a": "b"}
    assert any("'label' was unexpected" in e for e in validation_errors(obj))


def test_api_server_defaulting_and_null_pruning(objects):
    cluster = copy.deepcopy(objects["RayCluster"])
    cluster["spec"]["suspend"] = None
    stored = normalize(cluster, crd_schema("RayCluster"))
    assert "suspend" not in stored["spec"]
    assert stored["spec"]["workerGroupSpecs"][0]["numOfHosts"] == 1
    assert validation_errors(cluster) == []
    assert yaml.safe_dump(cluster)  # the original is left as it was
    assert cluster["spec"]["suspend"] is None
