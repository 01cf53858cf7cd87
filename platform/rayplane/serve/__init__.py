"""Serving a registered model version with Ray Serve behind a FastAPI ingress, and following an alias."""

from rayplane.serve.config import application_config
from rayplane.serve.endpoint import Endpoint, deploy, serve_forever
from rayplane.serve.follow import AliasFollower

__all__ = ["AliasFollower", "Endpoint", "application_config", "deploy", "serve_forever"]
