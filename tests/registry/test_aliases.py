"""Aliases on a local disk and on a real S3 API server alike: each move an immutable event, the newest one
wins, rollback walks back the champion's history, and concurrent movers leave one consistent target."""

from __future__ import annotations

import multiprocessing

import pytest

from rayplane.errors import RegistryError
from rayplane.registry import CHAMPION, AliasLog, ModelRegistry
from rayplane.registry.aliases import rollback_target, targets
from rayplane.storage import Location


@pytest.fixture(params=["local", "s3"])
def models(request, tmp_path) -> str:
    if request.param == "local":
        return str(tmp_path / "models")
    return request.getfixturevalue("s3_bucket") + "/rayplane/models"


def registry_with(models: str, versions: int) -> ModelRegistry:
    registry = ModelRegistry(models)
    for i in range(versions):
        registry.register("m", {"model.pt": str(i).encode(), "preprocessor.json": b"{}"}, {})
    return registry


def test_moves_are_events_with_who_when_why_and_the_newest_wins(models, monkeypatch):
    registry = registry_with(models, 2)
    log = registry.alias_log("m", CHAMPION)
    assert log.current() is None and registry.aliases("m") == {} and registry.resolve("m", CHAMPION) is None
    monkeypatch.setenv("RAYPLANE_USER", "ci-pipeline")
    first = log.append(1, "promote", previous=None, reason="first version")
    second = log.append(2, "promote", previous=1, reason="better auc", forced=True, gate={"passed": False})
    registry.alias_log("m", "staging").append(1, "promote", previous=None)
    assert (first.seq, second.seq) == (1, 2)
    assert registry.aliases("m") == {"champion": 2, "staging": 1}
    assert registry.resolve("m", CHAMPION).version == 2
    assert log.events() == [first, second]
    assert (second.user, second.reason, second.forced, second.previous) == ("ci-pipeline", "better auc", True, 1)
    assert second.at and "champion v1 -> v2 (forced): better auc" in second.describe()
    stored = Location(models).files()
    assert {"m/.aliases/champion/1.json", "m/.aliases/champion/2.json"} <= stored.keys()
    # Alias events never list as versions.
    assert [v.version for v in registry.list("m")] == [1, 2]


def test_rollback_walks_back_the_champions_history():
    def event(seq, version, action="promote"):
        from rayplane.registry import AliasEvent

        return AliasEvent(CHAMPION, seq, version, action, None, "u", "t")

    history = [event(1, 1), event(2, 2), event(3, 3)]
    assert targets(history) == [1, 2, 3] and rollback_target(history) == 2
    history.append(event(4, 2, "rollback"))
    assert targets(history) == [1, 2] and rollback_target(history) == 1
    # Two concurrent rollbacks to the same version leave what one leaves.
    assert targets([*history, event(5, 2, "rollback")]) == [1, 2]
    history += [event(5, 1, "rollback"), event(6, 3)]
    assert targets(history) == [1, 3] and rollback_target(history) == 1
    with pytest.raises(RegistryError, match=r"cannot roll back 'champion': it only ever pointed at v1"):
        rollback_target([event(1, 1)])
    with pytest.raises(RegistryError, match=r"never pointed at any version"):
        rollback_target([])


@pytest.mark.parametrize("alias", ["Champion", "", "a b", "9lives", "x" * 40, "../v1"])
def test_bad_alias_names_are_refused(tmp_path, alias):
    with pytest.raises(RegistryError, match=r"--alias .*: an alias is 1-31 lower-case letters"):
        AliasLog(Location(tmp_path) / "m", alias)


def _move(args) -> list[tuple[int, int]]:
    root, writer = args
    log = ModelRegistry(root).alias_log("m", CHAMPION)
    return [(log.append(1 + (writer + i) % 3, "promote", previous=None, reason=f"w{writer}").seq, writer)
            for i in range(3)]


def test_concurrent_movers_leave_one_consistent_alias(models):
    registry = registry_with(models, 3)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        moves = [m for writer in pool.map(_move, [(models, w) for w in range(6)]) for m in writer]
    seqs = [seq for seq, _ in moves]
    assert len(set(seqs)) == len(seqs) == 18, "every move got its own event number"
    events = registry.alias_log("m", CHAMPION).events()
    assert sorted(e.seq for e in events) == sorted(seqs)
    assert all(e.reason == f"w{writer}" for e, (_, writer) in zip(events, sorted(moves)))
    newest = max(events, key=lambda e: e.seq)
    # Every reader agrees: the newest event is the alias's one target.
    assert registry.aliases("m") == {CHAMPION: newest.version} and targets(events)[-1] == newest.version
