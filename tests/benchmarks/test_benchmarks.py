"""Every benchmark runs at the tiny size through the real entry point and writes its JSON; the report
renders the table, the charts and the docs page from those files."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from tests_helpers import REPO

pytestmark = pytest.mark.slow

BENCHMARKS = ("training", "ingest", "search", "serving", "batch", "scaling", "coldstart")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    out, docs = root / "results", root / "docs"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "all", "--size", "tiny", "--out", str(out),
         "--work-dir", str(root / "work"), "--docs", str(docs)],
        cwd=REPO, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out, docs, done.stdout


def result(tiny_run, name: str) -> dict:
    out, _, _ = tiny_run
    return json.loads((out / f"{name}.json").read_text())


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_writes_its_figures(tiny_run, name):
    data = result(tiny_run, name)
    assert data["benchmark"] == name and data["size"] == "tiny"
    assert data["figures"], "every benchmark reports at least one figure"
    for fig in data["figures"]:
        assert math.isfinite(fig["value"]) and fig["baseline"], fig
        assert fig["met"] is None if fig["target"] is None else isinstance(fig["met"], bool), fig
    assert data["machine"]["cpus"] >= 1 and len(data["machine"]["load_average"]) == 3


def test_training_measures_all_three_ways_on_the_same_rows(tiny_run):
    m = result(tiny_run, "training")["measurements"]
    for side in ("plain_pytorch", "naive_ray_train", "rayplane"):
        assert m[side]["samples_per_s"] > 0, side
    assert m["train_rows"] == m["plain_pytorch"]["train_rows"] < m["rows"]
    assert m["rayplane"]["world_size"] == 1


def test_ingest_paths_agree_on_the_rows(tiny_run):
    m = result(tiny_run, "ingest")["measurements"]
    assert m["train_rows"] > 0 and m["pyarrow_rows_per_s"] > 0
    assert m["rayplane_rows_per_s"] > 0 and m["rayplane_streamed_rows_per_s"] > 0


def test_search_runs_every_seed_of_both_samplers(tiny_run):
    m = result(tiny_run, "search")["measurements"]
    for sampler in ("tpe", "random"):
        assert len(m["scores"][sampler]) == m["seeds"]
        assert all(len(run) == m["budget"] for run in m["scores"][sampler])
        assert all(1 <= t <= m["budget"] + 1 for t in m["trials_to_target"][sampler])
    assert 0.5 < m["target_auc"] < 1.0


def test_serving_answers_every_request_on_both_sides(tiny_run):
    m = result(tiny_run, "serving")["measurements"]
    for side in ("plain_uvicorn", "rayplane"):
        assert m[side]["requests"] > 0 and m[side]["errors"] == 0, m[side]
        assert m[side]["p50_ms"] <= m[side]["p99_ms"]


def test_scaling_measures_three_sizes_in_their_own_processes(tiny_run):
    m = result(tiny_run, "scaling")["measurements"]
    assert [p["rows"] for p in m["points"]] == sorted(p["rows"] for p in m["points"]) and len(m["points"]) == 3
    assert all(p["peak_pss_bytes"] > 100 * 2**20 and p["wall_s"] > 0 for p in m["points"])


def test_coldstart_times_both_commands(tiny_run):
    m = result(tiny_run, "coldstart")["measurements"]
    assert all(s > 0 for s in m["rayplane_run_to_first_step_s"] + m["import_ray_init_s"])


def test_report_renders_table_charts_and_docs(tiny_run):
    out, docs, stdout = tiny_run
    for name in BENCHMARKS:
        assert f"| {name} |" in stdout
    page = (docs / "benchmarks.md").read_text()
    assert "python -m benchmarks all --size tiny" in page and "| training |" in page
    charts = sorted(p.name for p in (docs / "benchmarks").glob("*.png"))
    assert charts == ["ratios.png", "scaling.png", "search.png", "serving.png", "training.png"]
    assert all((docs / "benchmarks" / c).read_bytes()[:4] == b"\x89PNG" for c in charts)
    rendered = subprocess.run([sys.executable, "-m", "benchmarks", "report", "--out", str(out)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert rendered.returncode == 0 and rendered.stdout.count("| search |") == 1, rendered.stderr


def test_batch_scoring_measures_both_sides_on_the_same_rows(tiny_run):
    m = result(tiny_run, "batch")["measurements"]
    assert m["rows"] > 0 and m["plain_rows_per_s"] > 0 and m["rayplane_rows_per_s"] > 0
