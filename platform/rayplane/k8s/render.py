"""A workload spec as KubeRay objects, built as plain dicts.

- RayJob: runs ``rayplane run|train|tune SPEC`` on the chart's RayCluster (``clusterSelector``) or on an
  ephemeral cluster of the same shape, deleted after the job.
- RayService: serves one registered model version; its ``serveConfigV2`` is ``application_config``, the
  same Serve application local serving deploys.
- Helm values: the same two for the chart (``rayJob``, ``rayService.serveConfig``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rayplane.errors import K8sError, RegistryError, StorageError
from rayplane.k8s.template import ClusterTemplate
from rayplane.registry import CHAMPION, ModelRegistry
from rayplane.storage import Storage
from rayplane.spec import WorkloadSpec, spec_hash
from rayplane.spec.models import URI_RE, StorageSpec

# Where k8s/image/Dockerfile copies the repository's workloads/ (with their prepared data).
IMAGE_WORKLOADS = "/app/workloads"
COMMANDS = ("run", "train", "tune")
INCREMENTAL = "NewClusterWithIncrementalUpgrade"
UPGRADE_STRATEGIES = ("NewCluster", INCREMENTAL, "None")
# KubeRay appends 6 characters to RayJob and RayService names for their clusters, whose names stop at 53.
MAX_NAME = 47
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
API_VERSION = "ray.io/v1"
MANAGED_BY = "app.kubernetes.io/managed-by"
WORKLOAD = "rayplane.io/workload"


@dataclass(frozen=True)
class RenderOptions:
    namespace: str = "default"
    # Base name of the objects; default: the workload name as a DNS label.
    name: str | None = None
    command: str = "run"
    # The RayCluster the job runs on; None gives the job its own cluster, deleted when it finishes.
    cluster: str | None = "rayplane"
    # The spec's path on the cluster; default: where the image keeps it, or its name in working_dir.
    spec_path: str | None = None
    # A URI the cluster fetches the spec's directory from (Ray runtime_env working_dir).
    working_dir: str | None = None
    model_version: int | None = None
    ttl_seconds: int = 300
    active_deadline_seconds: int | None = None
    upgrade_strategy: str = "NewCluster"
    # clusterUpgradeOptions of NewClusterWithIncrementalUpgrade (KubeRay requires them for that strategy).
    upgrade_options: dict[str, Any] | None = None


class Renderer:
    def __init__(self, spec: WorkloadSpec, spec_file: str | Path, options: RenderOptions,
                 template: ClusterTemplate) -> None:
        self.spec = spec
        self.spec_file = Path(spec_file)
        self.options = options
        self.template = template

    # -- objects -------------------------------------------------------------------------------------------

    def rayjob(self) -> dict[str, Any]:
        opts = self.options
        spec: dict[str, Any] = {"entrypoint": shlex.join(self.entrypoint())}
        runtime_env = self.runtime_env()
        if runtime_env:
            spec["runtimeEnvYAML"] = yaml.safe_dump(runtime_env, sort_keys=False)
        spec.update(backoffLimit=0, submissionMode="K8sJobMode", submitterPodTemplate=self.template.submitter())
        if opts.active_deadline_seconds:
            spec["activeDeadlineSeconds"] = opts.active_deadline_seconds
        if opts.cluster:
            spec["clusterSelector"] = {"ray.io/cluster": opts.cluster}
        else:
            spec.update(shutdownAfterJobFinishes=True, ttlSecondsAfterFinished=opts.ttl_seconds,
                        rayClusterSpec=self.template.cluster_spec())
        return self._object("RayJob", f"{self.base_name}-{opts.command}", spec)

    def rayservice(self, version: int) -> dict[str, Any]:
        spec = {
            "upgradeStrategy": self.upgrade_strategy(),
            "excludeHeadPodFromServeSvc": True,
            "serveConfigV2": yaml.safe_dump(self.serve_config(version), sort_keys=False),
            "rayClusterConfig": self.template.cluster_spec(),
        }
        service = self._object("RayService", self.base_name, spec)
        service["metadata"]["annotations"]["rayplane.io/model-version"] = str(version)
        return service

    def helm_values(self, version: int | None) -> dict[str, Any]:
        """Values for helm/rayplane that make the chart's RayJob (and RayService) the same as these objects."""
        opts = self.options
        values: dict[str, Any] = {"rayJob": {
            "enabled": True,
            "command": opts.command,
            "spec": self.cluster_spec_path(),
            "workingDir": opts.working_dir or "",
            "cluster": "release" if opts.cluster else "ephemeral",
        }}
        if version is not None:
            strategy = self.upgrade_strategy()
            values["rayService"] = {"enabled": True, "serveConfig": self.serve_config(version),
                                    "upgradeStrategy": strategy["type"]}
            if "clusterUpgradeOptions" in strategy:
                values["rayService"]["clusterUpgradeOptions"] = strategy["clusterUpgradeOptions"]
        return values

    # -- parts ---------------------------------------------------------------------------------------------

    def upgrade_strategy(self) -> dict[str, Any]:
        strategy: dict[str, Any] = {"type": self.options.upgrade_strategy}
        options = self.options.upgrade_options
        if self.options.upgrade_strategy == INCREMENTAL:
            # KubeRay's ValidateClusterUpgradeOptions refuses the strategy without these.
            if not options or not options.get("gatewayClassName"):
                raise K8sError(f"--upgrade-strategy {INCREMENTAL} needs --gateway-class (the Gateway API class "
                               "that splits traffic between the old and the new cluster)")
            strategy["clusterUpgradeOptions"] = dict(options)
        elif options:
            raise K8sError(f"--gateway-class, --step-size-percent, --interval-seconds and --max-surge-percent "
                           f"apply to --upgrade-strategy {INCREMENTAL} only, not {self.options.upgrade_strategy}")
        return strategy

    def entrypoint(self) -> list[str]:
        words = ["rayplane", self.options.command, self.cluster_spec_path()]
        # On Kubernetes the RayService serves; a job's `run` stops once the model is registered.
        return [*words, "--no-serve"] if self.options.command == "run" else words

    def runtime_env(self) -> dict[str, Any]:
        working_dir = self.options.working_dir
        if not working_dir:
            return {}
        if not URI_RE.match(working_dir) or working_dir.startswith("file://"):
            raise K8sError(f"--working-dir {working_dir}: not a URI the cluster can fetch (s3://, gs://, "
                           "https://.../workload.zip); a local directory is not visible to the RayJob")
        return {"working_dir": working_dir}

    def cluster_spec_path(self) -> str:
        if self.options.spec_path:
            return self.options.spec_path
        if self.options.working_dir:
            return self.spec_file.name
        return f"{IMAGE_WORKLOADS}/{self.spec.base_dir.name}/{self.spec_file.name}"

    def serve_config(self, version: int) -> dict[str, Any]:
        from rayplane.serve.config import LOGGING, application_config

        # The top-level logging config is what turns the proxy's access log off, as `rayplane serve` does.
        return {"applications": [application_config(self.spec, self.model_dir(version))], "logging_config": LOGGING}

    def model_dir(self, version: int) -> str:
        return Storage(self.storage_root()).version(self.spec.name, version).uri

    def storage_root(self) -> str:
        """The spec's own storage.root when it sets one, else the chart's (its volume or object store)."""
        root = self.spec.storage.root
        if root == StorageSpec.model_fields["root"].default:
            return self.template.storage_root
        if not URI_RE.match(root) and not root.startswith("/"):
            raise K8sError(f"storage.root: {root!r} is not a place every pod shares; on Kubernetes use an object "
                           "store URI (s3://bucket/prefix) or an absolute path on a shared volume, or drop it to "
                           f"use the chart's ({self.template.storage_root})")
        return root.rstrip("/")

    def registry(self) -> ModelRegistry:
        return ModelRegistry(Storage(self.storage_root()).models())

    def model_version(self) -> tuple[int | None, str]:
        """--model-version, else the champion, else the latest version registered under the storage root, if the
        registry can be read here; and which of these it is. After a promotion or a rollback, applying again
        changes only the RayService's serveConfigV2 (the model directory), which KubeRay updates in place."""
        if self.options.model_version is not None:
            return self.options.model_version, "--model-version"
        registry = self.registry()
        try:
            champion = registry.alias_log(self.spec.name, CHAMPION).current()
            if champion is not None:
                return champion.version, CHAMPION
            return registry.get(self.spec.name).version, f"the latest version; no version is {CHAMPION} yet"
        except (RegistryError, StorageError, OSError):
            return None, "unknown"

    @property
    def base_name(self) -> str:
        return self.options.name or self.spec.name.replace("_", "-")

    def _object(self, kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        if not DNS_1035.match(name) or len(name) > MAX_NAME:
            raise K8sError(f"{kind} name {name!r} must be a DNS-1035 label of at most {MAX_NAME} characters "
                           "(KubeRay's limit): choose another with --name")
        return {
            "apiVersion": API_VERSION,
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": self.options.namespace,
                "labels": {MANAGED_BY: "rayplane", "app.kubernetes.io/part-of": "rayplane", WORKLOAD: self.spec.name},
                "annotations": {**self.template.cluster_annotations, "rayplane.io/spec-hash": spec_hash(self.spec)},
            },
            "spec": spec,
        }
