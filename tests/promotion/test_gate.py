"""Promotion through the gate and rollback, from the CLI and the Python API, on a local disk and on a real S3 API
server: real trained versions scored on the workload's real validation split (no Ray needed)."""

from __future__ import annotations

import json
import multiprocessing
import re

import pytest

import rayplane
from rayplane.cli.main import main
from rayplane.errors import PromotionError, SpecError
from rayplane.registry import CHAMPION, ModelRegistry
from rayplane.storage import Storage
from trained_versions import write_workload


def cli(workload, *args) -> list[str]:
    return ["models", *args[:1], str(workload.spec_path), *args[1:],
            "--set", f"storage.root={workload.spec.storage.root}"]


def figures(text: str) -> list[float]:
    """The challenger's and the champion's figures in a gate line."""
    found = re.search(r"challenger \S+ (-?\d\.\d+), champion \S+ (-?\d\.\d+)", text)
    assert found, text
    return [float(found.group(1)), float(found.group(2))]


def test_the_gate_refuses_a_worse_model_and_accepts_a_better_one(workload, capsys, monkeypatch):
    monkeypatch.setenv("RAYPLANE_USER", "alice")
    worse, better = workload.fit(flip_labels=True), workload.fit()
    # The first version becomes champion as it is: there is nothing to compare it with.
    assert main(cli(workload, "promote", "1", "--reason", "first")) == 0
    assert "promoted   gate_demo:v1 to 'champion'" in capsys.readouterr().out

    assert main(cli(workload, "promote", "2", "--reason", "better")) == 0
    out = capsys.readouterr().out
    challenger, champion = figures(out)
    assert challenger > 0.7 > 0.3 > champion and "passed" in out and "validation split" in out

    # Back to the worse one: refused, one line with both figures, exit 1, the champion unchanged.
    assert main(cli(workload, "promote", "1")) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: not promoted to 'champion': val_auc (max)")
    assert figures(err) == [champion, challenger] and "--force overrides" in err
    registry = ModelRegistry(Storage.for_spec(workload.spec).models())
    assert registry.aliases("gate_demo") == {CHAMPION: 2}

    # --force overrides and says so, in the output and in the history.
    assert main(cli(workload, "promote", "1", "--force", "--reason", "incident 42")) == 0
    assert "REFUSED, overridden by --force" in capsys.readouterr().out
    newest = registry.alias_log("gate_demo", CHAMPION).current()
    assert (newest.version, newest.forced, newest.user, newest.reason) == (1, True, "alice", "incident 42")
    assert newest.gate["passed"] is False and round(newest.gate["challenger_value"], 4) == champion

    # Rollback: the champion before the current one, and again further back.
    assert main(cli(workload, "rollback", "--reason", "forced one was bad")) == 0
    assert "rolled back 'champion' from v1 to gate_demo:v2" in capsys.readouterr().out
    assert registry.aliases("gate_demo") == {CHAMPION: 2}
    assert rayplane.rollback(workload.spec).version == 1
    with pytest.raises(Exception, match=r"cannot roll back 'champion': it only ever pointed at v1"):
        rayplane.rollback(workload.spec)

    # list and show print the aliases and the history (who, when, why).
    assert main(cli(workload, "list")) == 0
    listing = capsys.readouterr().out
    assert "champion history:" in listing and "alice promote champion v2 -> v1 (forced): incident 42" in listing
    assert main(cli(workload, "show", "--alias", "champion")) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["version"] == 1 and history_of(shown)


def history_of(shown: dict) -> bool:
    return shown["aliases"] == ["champion"] and [e["action"] for e in shown["alias_history"]] == [
        "promote", "promote", "promote", "rollback", "rollback"]


def test_min_delta_holdout_uri_and_user_aliases(local_workload, tmp_path):
    worse, better = local_workload.fit(flip_labels=True), local_workload.fit()
    holdout = tmp_path / "holdout.parquet"
    local_workload.frame.iloc[:500].to_parquet(holdout)
    spec = rayplane.spec.override(local_workload.spec, {"promotion": {"min_delta": 0.9, "holdout": str(holdout)}})
    rayplane.promote(spec, worse.version)
    with pytest.raises(PromotionError, match=r"on .*holdout.parquet, 500 rows: .*promotion.min_delta 0.9"):
        rayplane.promote(spec, better.version)
    lenient = rayplane.spec.override(spec, {"promotion.min_delta": 0.1})
    done = rayplane.promote(lenient, better.version)
    assert done.decision.passed and done.decision.rows == 500 and done.decision.gain > 0.1
    # A user alias moves without the gate; promoting a version to the alias it holds is refused.
    assert rayplane.promote(spec, worse.version, alias="staging").decision is None
    with pytest.raises(PromotionError, match=r"gate_demo:v1 is already 'staging'"):
        rayplane.promote(spec, worse.version, alias="staging")
    with pytest.raises(rayplane.RegistryError, match=r"has no version 9"):
        rayplane.promote(spec, 9)


def test_the_gate_is_validated_with_the_spec(tmp_path, capsys):
    with pytest.raises(SpecError, match=r"promotion.metric: 'val_rmse' cannot be computed on a holdout for task "
                                        r"'binary' \(choose from val_auc, val_accuracy, val_loss\)"):
        write_workload(tmp_path / "a", "home", promotion={"metric": "val_rmse"})
    with pytest.raises(SpecError, match=r"promotion.min_dleta: unknown field; did you mean 'min_delta'"):
        write_workload(tmp_path / "b", "home", promotion={"min_dleta": 0.1})
    bad_holdout = write_workload(tmp_path / "c", "home", promotion={"holdout": "nowhere/"})
    bad_holdout.fit(), bad_holdout.fit()
    rayplane.promote(bad_holdout.spec, 1)
    with pytest.raises(rayplane.DataError, match=r"^promotion.holdout: no .parquet files at .*/c/nowhere$"):
        rayplane.promote(bad_holdout.spec, 2)
    assert ModelRegistry(Storage.for_spec(bad_holdout.spec).models()).aliases("gate_demo") == {CHAMPION: 1}


def _promote(args) -> int:
    spec_path, root, version = args
    spec = rayplane.spec.override(rayplane.load_spec(spec_path), {"storage.root": root})
    return rayplane.promote(spec, version, force=True, reason=f"writer {version}").event.seq


def test_concurrent_promotions_leave_one_consistent_champion(s3_workload):
    """On the object store (the registry's tests cover concurrent alias moves on both backends)."""
    workload = s3_workload
    for _ in range(4):
        workload.fit()
    root = workload.spec.storage.root
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        seqs = pool.map(_promote, [(str(workload.spec_path), root, v) for v in (1, 2, 3, 4)])
    assert sorted(seqs) == [1, 2, 3, 4], "every promotion is its own event"
    registry = ModelRegistry.for_spec(workload.spec)
    events = registry.alias_log("gate_demo", CHAMPION).events()
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert sorted(e.reason for e in events) == ["writer 1", "writer 2", "writer 3", "writer 4"]
    # Every reader sees the one target the newest event names.
    assert registry.aliases("gate_demo") == {CHAMPION: events[-1].version}
    assert rayplane.pipeline.serving_version(workload.spec)[0].version == events[-1].version
