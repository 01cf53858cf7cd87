"""Aliases of a model's versions (``champion`` and any user alias) as an append-only log of immutable events.

    <models>/<name>/.aliases/<alias>/<N>.json        event N: the alias now points at a version (who, when, why)
    <models>/<name>/.aliases/<alias>/.claims/<N>.<token>

Nothing is ever rewritten, because object stores cannot replace an object conditionally: each move of an alias is
a new event whose number is claimed as version numbers are (``rayplane.registry.claims``), and the event file,
written whole in one put, is the commit. The alias points where its newest event says. So concurrent moves
each land as their own event and readers always see one target: the one committed last; a mover killed at any
step leaves at most a claimed number (a gap).

The history is replayed as a stack of targets: a promotion pushes its version, a rollback cuts the stack back to
the last time its target held the alias. So a rollback is "the champion before this one", repeated rollbacks walk
further back, and two concurrent rollbacks to the same version leave the same stack as one.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from rayplane.errors import RegistryError
from rayplane.registry.claims import claim_next, scan
from rayplane.storage import Location

ALIASES = ".aliases"
CHAMPION = "champion"
ALIAS_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
EVENT = re.compile(r"^(\d+)\.json$")
ACTIONS = ("promote", "rollback")


@dataclass(frozen=True)
class AliasEvent:
    alias: str
    seq: int
    version: int
    action: str  # one of ACTIONS
    previous: int | None  # the alias's target when the event was decided
    user: str
    at: str
    reason: str = ""
    forced: bool = False
    gate: dict[str, Any] | None = field(default=None, repr=False)  # the gate's figures, when it ran

    def describe(self) -> str:
        came = f"v{self.previous}" if self.previous is not None else "none"
        why = f": {self.reason}" if self.reason else ""
        return (f"#{self.seq} {self.at} {self.user} {self.action} {self.alias} {came} -> v{self.version}"
                f"{' (forced)' if self.forced else ''}{why}")


def check_alias(alias: str) -> str:
    if not ALIAS_NAME.match(alias):
        raise RegistryError(f"--alias {alias!r}: an alias is 1-31 lower-case letters, digits, '-' or '_', "
                            "starting with a letter")
    return alias


def current_user() -> str:
    """Who moved an alias: RAYPLANE_USER (a CI job names its pipeline), else the login name."""
    return os.environ.get("RAYPLANE_USER") or getpass.getuser()


class AliasLog:
    """The events of one alias of one model; ``model`` is ``<models>/<name>``."""

    def __init__(self, model: Location, alias: str) -> None:
        self.alias = check_alias(alias)
        self.directory = model / ALIASES / alias

    def numbers(self) -> list[int]:
        return scan(self.directory, EVENT)[0]

    def events(self) -> list[AliasEvent]:
        return [self._read(n) for n in self.numbers()]

    def current(self) -> AliasEvent | None:
        numbers = self.numbers()
        return self._read(numbers[-1]) if numbers else None

    def append(self, version: int, action: str, *, previous: int | None, reason: str = "", forced: bool = False,
               gate: dict[str, Any] | None = None) -> AliasEvent:
        if action not in ACTIONS:
            raise ValueError(f"unknown alias action {action!r}")
        try:
            seq = claim_next(self.directory, EVENT, token=uuid.uuid4().hex)
            event = AliasEvent(self.alias, seq, version, action, previous, current_user(),
                               datetime.now(timezone.utc).isoformat(timespec="seconds"), reason, forced, gate)
            (self.directory / f"{seq}.json").write_bytes(json.dumps(asdict(event), indent=2, sort_keys=True).encode())
        except OSError as exc:
            raise RegistryError(f"cannot move alias {self.alias!r} under {self.directory.display}: {exc}") from exc
        return event

    def _read(self, seq: int) -> AliasEvent:
        location = self.directory / f"{seq}.json"
        try:
            return AliasEvent(**json.loads(location.read_bytes()))
        except (OSError, ValueError, TypeError) as exc:
            raise RegistryError(f"{location.display}: unreadable alias event ({exc})") from None


def targets(events: list[AliasEvent]) -> list[int]:
    """The stack of targets the events leave, oldest first; its top is where the alias points."""
    stack: list[int] = []
    for event in events:
        if event.action == "rollback" and event.version in stack:
            del stack[len(stack) - stack[::-1].index(event.version):]
        else:
            stack.append(event.version)
    return stack


def rollback_target(events: list[AliasEvent]) -> int:
    """The version the alias held before its current target took it."""
    stack = targets(events)
    if len(stack) < 2:
        alias = events[0].alias if events else CHAMPION
        held = f"only ever pointed at v{stack[0]}" if stack else "never pointed at any version"
        raise RegistryError(f"cannot roll back {alias!r}: it {held}, there is no previous target")
    return stack[-2]
