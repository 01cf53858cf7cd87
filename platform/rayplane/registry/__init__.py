"""Versioned models under the storage root, with a commit protocol that holds on object stores."""

from rayplane.registry.store import ModelRegistry, ModelVersion

__all__ = ["ModelRegistry", "ModelVersion"]
