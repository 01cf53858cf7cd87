"""The Serve application config: the one description of a served model, for every way of deploying it.

``application_config`` is an entry of ``ServeDeploySchema.applications``: KubeRay's RayService puts it in
``serveConfigV2``, and ``rayplane.serve.deploy`` builds the same application from it in-process. Its
``args`` carry the model directory and the ``serve`` section of the spec, and ``build_app`` derives the
deployment options from them with ``deployment_options``, the function that also writes the config's
``deployments`` entry, so the two paths cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from rayplane.errors import ServeError
from rayplane.spec.models import ServeSpec, WorkloadSpec

IMPORT_PATH = "rayplane.serve.app:build_app"
DEPLOYMENT = "ModelServer"
# Access logs cost a log line per request in both the proxy and the replica: a large share of a small
# model's request time. Serve's own logs (errors, scaling, replica starts) stay on.
LOGGING: dict[str, Any] = {"enable_access_log": False}
# Where Serve listens is a property of the cluster's proxies (serve.start / http_options), not of one app.
HTTP_KEYS = {"route_prefix", "host", "port"}


def application_config(spec: WorkloadSpec, model_dir: str) -> dict[str, Any]:
    """One ``ServeDeploySchema`` application serving the version registered in ``model_dir``."""
    return {
        "name": spec.name,
        "route_prefix": spec.route_prefix,
        "import_path": IMPORT_PATH,
        "args": app_args(spec.serve, model_dir),
        "logging_config": dict(LOGGING),
        "deployments": [deployment_options(spec.serve)],
    }


def app_args(serve: ServeSpec, model_dir: str) -> dict[str, Any]:
    return {"model_dir": str(model_dir), **serve.model_dump(mode="json", exclude=HTTP_KEYS)}


def parse_args(args: dict[str, Any]) -> tuple[str, ServeSpec]:
    """``build_app``'s args -> (model_dir, serve settings); ServeError naming each bad key."""
    if not isinstance(args, dict):
        raise ServeError(f"application args must be a mapping, got {type(args).__name__}")
    knobs = {k: v for k, v in args.items() if k != "model_dir"}
    model_dir = args.get("model_dir")
    if not isinstance(model_dir, str) or not model_dir:
        raise ServeError("application args: 'model_dir' (a registered model version: its path or URI) is required")
    misplaced = sorted(HTTP_KEYS & knobs.keys())
    if misplaced:
        raise ServeError(f"application args: {', '.join(misplaced)} belong to the application or http_options, "
                         "not to args")
    return model_dir, serve_settings(knobs, "application args")


def serve_settings(knobs: dict[str, Any], where: str) -> ServeSpec:
    """``serve`` settings from args or a user_config, checked by the spec's own rules."""
    if not isinstance(knobs, dict):
        raise ServeError(f"{where} must be a mapping, got {type(knobs).__name__}")
    try:
        return ServeSpec.model_validate(knobs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
        raise ServeError(f"{where}: {problems}") from None


def deployment_options(serve: ServeSpec) -> dict[str, Any]:
    """A ``ServeDeploySchema`` deployment entry, also usable as ``Deployment.options(**...)``."""
    scaling = serve.autoscaling
    return {
        "name": DEPLOYMENT,
        "max_ongoing_requests": serve.max_ongoing_requests,
        "autoscaling_config": {
            "min_replicas": scaling.min_replicas,
            "max_replicas": scaling.max_replicas,
            "target_ongoing_requests": scaling.target_ongoing_requests,
        },
        "ray_actor_options": {"num_cpus": serve.cpus_per_replica},
        # user_config reaches replicas through reconfigure(): editing it in a RayService retunes the
        # request path without restarting replicas.
        "user_config": request_limits(serve),
    }


def request_limits(serve: ServeSpec) -> dict[str, Any]:
    return {
        "max_batch_size": serve.max_batch_size,
        "batch_wait_timeout_s": serve.batch_wait_timeout_s,
        "max_records_per_request": serve.max_records_per_request,
    }
