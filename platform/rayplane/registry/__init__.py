"""Versioned models under a root directory."""

from rayplane.registry.store import ModelRegistry, ModelVersion

__all__ = ["ModelRegistry", "ModelVersion"]
