"""Versioned models under the storage root, with a commit protocol that holds on object stores, and aliases."""

from rayplane.registry.aliases import CHAMPION, AliasEvent, AliasLog
from rayplane.registry.store import ModelRegistry, ModelVersion

__all__ = ["CHAMPION", "AliasEvent", "AliasLog", "ModelRegistry", "ModelVersion"]
