"""Serving a registered model version with Ray Serve behind a FastAPI ingress."""

from rayplane.serve.config import application_config
from rayplane.serve.endpoint import Endpoint, deploy, serve_forever

__all__ = ["Endpoint", "application_config", "deploy", "serve_forever"]
