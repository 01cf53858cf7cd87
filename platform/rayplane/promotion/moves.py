"""Moving aliases: promote a version (through the gate when it would replace a champion) and roll back.

An alias move is one event in the registry's alias log (``rayplane.registry.aliases``), so it is atomic and
safe under concurrent writers on object storage too. Concurrent promotions each land as their own event and
the alias ends on the one committed last; each event records the champion it was judged against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rayplane.errors import PromotionError
from rayplane.registry import CHAMPION, AliasEvent, ModelRegistry
from rayplane.registry.aliases import rollback_target
from rayplane.spec import WorkloadSpec

if TYPE_CHECKING:
    from rayplane.promotion.gate import Decision


@dataclass(frozen=True)
class Promotion:
    event: AliasEvent
    decision: Decision | None  # None when there was no champion to compare with, or the alias is not gated

    def describe(self) -> str:
        gate = f"; gate {self.decision.describe()}" if self.decision else ""
        return f"{self.event.describe()}{gate}"


def promote(spec: WorkloadSpec, version: int, *, alias: str = CHAMPION, force: bool = False,
            reason: str = "") -> Promotion:
    """Point ``alias`` at ``version``. Replacing a champion passes the spec's gate first: a challenger worse than
    ``promotion.min_delta`` allows raises PromotionError with both figures, unless ``force`` (recorded)."""
    models = ModelRegistry.for_spec(spec)
    challenger = models.get(spec.name, version)
    log = models.alias_log(spec.name, alias)
    current = log.current()
    if current is not None and current.version == version:
        raise PromotionError(f"{challenger.uri} is already {alias!r} (since event #{current.seq}, {current.at})")
    decision = None
    if alias == CHAMPION and current is not None:
        # Imported here: the gate needs torch, moving a user alias or rolling back does not.
        from rayplane.promotion.gate import judge

        decision = judge(spec, challenger, models.get(spec.name, current.version))
        if not decision.passed and not force:
            raise PromotionError(f"not promoted to {alias!r}: {decision.describe()}; --force overrides")
    event = log.append(version, "promote", previous=current.version if current else None, reason=reason,
                       forced=bool(force and decision and not decision.passed),
                       gate=decision.as_dict() if decision else None)
    return Promotion(event, decision)


def rollback(spec: WorkloadSpec, *, alias: str = CHAMPION, reason: str = "") -> AliasEvent:
    """Point ``alias`` back at the version it held before its current one."""
    models = ModelRegistry.for_spec(spec)
    log = models.alias_log(spec.name, alias)
    events = log.events()
    target = models.get(spec.name, rollback_target(events)).version
    return log.append(target, "rollback", previous=events[-1].version, reason=reason)
