"""Every call rayplane makes to the Kubernetes API: server-side apply and listing of KubeRay objects."""

from __future__ import annotations

import json
from typing import Any

from rayplane.errors import K8sError

FIELD_MANAGER = "rayplane"
GROUP, VERSION = "ray.io", "v1"
PLURALS = {"RayJob": "rayjobs", "RayService": "rayservices", "RayCluster": "rayclusters"}


class KubeClient:
    """Talks to the cluster of a kubeconfig (default: $KUBECONFIG or ~/.kube/config), or in-cluster."""

    def __init__(self, kubeconfig: str | None = None, context: str | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self._api = None

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or update ``obj`` by server-side apply; rayplane owns the fields it sets."""
        meta = obj["metadata"]
        what = f"{obj['kind']} {meta['namespace']}/{meta['name']}"
        return self._call(what, "patch_namespaced_custom_object",
                          GROUP, VERSION, meta["namespace"], _plural(obj["kind"]), meta["name"], obj,
                          field_manager=FIELD_MANAGER, force=True,
                          _content_type="application/apply-patch+yaml")

    def list(self, kind: str, namespace: str, label_selector: str) -> list[dict[str, Any]]:
        found = self._call(f"{kind}s in namespace {namespace}", "list_namespaced_custom_object",
                           GROUP, VERSION, namespace, _plural(kind), label_selector=label_selector)
        return found.get("items", [])

    def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return getattr(self._custom_objects(), method)(*args, **kwargs)
        except ApiException as exc:
            raise K8sError(f"{what}: {_api_message(exc)}") from None
        except HTTPError as exc:
            raise K8sError(f"{what}: cannot reach the Kubernetes API: {exc}") from None

    def _custom_objects(self):
        if self._api is None:
            from kubernetes import client, config
            from kubernetes.config.config_exception import ConfigException

            try:
                api_client = config.new_client_from_config(config_file=self.kubeconfig, context=self.context)
            except ConfigException as kube_error:
                if self.kubeconfig or self.context:
                    raise K8sError(f"kubeconfig: {kube_error}") from None
                try:
                    config.load_incluster_config()
                except ConfigException:
                    raise K8sError(f"no Kubernetes configuration: {kube_error} (pass --kubeconfig, or run in a pod)"
                                   ) from None
                api_client = client.ApiClient()
            self._api = client.CustomObjectsApi(api_client)
        return self._api


def _plural(kind: str) -> str:
    return PLURALS[kind]


def _api_message(exc: Any) -> str:
    """The API server's own message (a Status object), e.g. a missing CRD or a rejected field."""
    try:
        status = json.loads(exc.body)
        detail = status.get("message") or status.get("reason")
    except (TypeError, ValueError, AttributeError):
        detail = None
    hint = " (are the KubeRay operator and its CRDs installed?)" if exc.status == 404 else ""
    return f"HTTP {exc.status} {exc.reason}: {detail or exc.body}{hint}"
