"""A version's ancestry: each warm-started version records its ``parent`` (``name:vN``) in its metadata."""

from __future__ import annotations

from rayplane.errors import RegistryError
from rayplane.registry.store import ModelRegistry, ModelVersion


def lineage(registry: ModelRegistry, version: ModelVersion) -> list[str]:
    """``[version, parent, grandparent, ...]`` as ``name:vN``; a parent no longer listed ends the chain there."""
    chain, current = [version.uri], version
    while (parent := current.metadata.get("parent")) and parent not in chain:
        chain.append(parent)
        name, _, number = parent.rpartition(":v")
        try:
            current = registry.get(name, int(number))
        except (RegistryError, ValueError):
            break
    return chain
