"""Drift against the training statistics stored with a version: PSI per feature, null-rate and unseen-category
changes, `rayplane drift` with its table, --json and exit code 3; the session's served model on its Ray."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pytest

import rayplane
from rayplane.cli.main import main
from rayplane.data.stats import _merge_sketch, _sketch, quantile_bins
from rayplane.monitoring.psi import psi
from object_store import ENDPOINT

BOUND = pytest.mark.timeout(300)


def test_psi_is_the_named_formula_and_zero_for_identical_shares():
    expected, actual = np.array([0.5, 0.3, 0.2, 0.0]), np.array([0.4, 0.3, 0.2, 0.1])
    by_hand = (0.4 - 0.5) * math.log(0.4 / 0.5) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert psi(expected, actual) == pytest.approx(by_hand)
    assert psi(expected, expected) == 0.0


def test_quantile_bins_are_exact_for_few_values_and_close_for_many():
    hours = np.repeat(np.arange(5.0, 23.0), 10)
    edges, shares = quantile_bins(_sketch(*np.unique(hours, return_counts=True)), 10)
    # 18 equally common hours: each decile edge is a real hour, each bin's share what the rows say.
    assert all(e in hours for e in edges)
    assert shares == pytest.approx([np.mean((hours > lo) & (hours <= hi)) for lo, hi in
                                    zip([-np.inf, *edges], [*edges, np.inf])])
    values = np.random.default_rng(0).normal(size=20_000)
    halves = [_sketch(*np.unique(part, return_counts=True)) for part in np.array_split(values, 2)]
    edges, shares = quantile_bins(_merge_sketch(*halves), 10)
    np.testing.assert_allclose(edges, np.quantile(values, np.arange(1, 10) / 10), atol=0.02)
    np.testing.assert_allclose(shares, 0.1, atol=0.01)


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["delayed"])


def _report(served_model, frame: pd.DataFrame, tmp_path, capsys, *args: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(tmp_path / "now.parquet", index=False)
    code = main(["drift", str(served_model.spec_path), "--data", str(tmp_path / "now.parquet"), "--json", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


@BOUND
def test_the_training_data_against_itself_shows_no_drift(served_model, tmp_path, capsys):
    code, report, err = _report(served_model, _features(served_model.frame), tmp_path, capsys)
    assert code == 0, err
    assert report["drifted"] == [] and report["rows"] == len(served_model.frame) and report["measure"] == "psi"
    assert max(f["psi"] for f in report["features"]) < 0.01
    temp = next(f for f in report["features"] if f["feature"] == "temp")
    assert temp["null_rate"] == pytest.approx(temp["null_rate_train"])


@BOUND
def test_shifted_data_drifts_with_exit_3_naming_the_features(served_model, tmp_path, capsys):
    frame = _features(served_model.frame)
    rng = np.random.default_rng(1)
    shifted = frame.assign(
        temp=frame["temp"] + 25,                                                      # a warmer season
        origin=np.where(rng.random(len(frame)) < 0.5, "BOS", frame["origin"]),        # a new airport
        distance=frame["distance"].mask(rng.random(len(frame)) < 0.4),                # a broken feed
    )
    code, report, err = _report(served_model, shifted, tmp_path, capsys)
    assert code == 3
    assert sorted(report["drifted"]) == ["distance", "origin", "temp"]
    # Last, not only: Ray Data may log its read plan first.
    assert err.strip().splitlines()[-1] == f"drift in 3 feature(s): {', '.join(report['drifted'])}"
    by_name = {f["feature"]: f for f in report["features"]}
    assert by_name["origin"]["unseen_values"] == ["BOS"] and by_name["origin"]["unseen"] > 0.4
    assert by_name["distance"]["null_rate"] > 0.3 and by_name["distance"]["null_rate_train"] == 0.0
    assert not by_name["carrier"]["drifted"] and not by_name["dep_hour"]["drifted"]
    # A threshold above every PSI: the same report, exit 0.
    code, _, _ = _report(served_model, shifted, tmp_path / "again", capsys, "--set",
                         f"monitoring.drift_threshold={max(f['psi'] for f in report['features']) + 1}")
    assert code == 0


@BOUND
def test_the_table_and_the_python_api(served_model, tmp_path, capsys):
    _features(served_model.frame).to_csv(tmp_path / "now.csv", index=False)
    version, report = rayplane.drift(served_model.spec, data=str(tmp_path / "now.csv"), version=1)
    assert version.uri == "serve_demo:v1" and report.drifted == []
    assert main(["drift", str(served_model.spec_path), "--data", str(tmp_path / "now.csv")]) == 0
    table = capsys.readouterr().out
    assert "serve_demo:v1 vs" in table and "PSI threshold 0.2" in table
    assert re.search(r"temp +│ numeric +│ 0\.0\d\d", table), table


@pytest.mark.parametrize("case", ["missing column", "no files", "bad threshold", "misspelt key"])
def test_a_bad_input_is_one_error_line_and_exit_1(served_model, tmp_path, capsys, case):
    data = tmp_path / "now.parquet"
    _features(served_model.frame).drop(columns=["carrier"] if case == "missing column" else []).to_parquet(data)
    args = {"no files": ["--data", str(tmp_path / "none")],
            "bad threshold": ["--set", "monitoring.drift_threshold=-1"],
            "misspelt key": ["--set", "monitoring.drift_treshold=0.1"]}.get(case, [])
    code = main(["drift", str(served_model.spec_path), "--data", str(data), *args])
    err = capsys.readouterr().err.strip()
    expected = {
        "missing column": f"error: {data}: no column 'carrier' (named in the input schema of serve_demo:v1)",
        "no files": f"error: --data: no .parquet or .csv or .jsonl or .ndjson files at {tmp_path / 'none'}",
        "bad threshold": "monitoring.drift_threshold: Input should be greater than 0",
        "misspelt key": "monitoring.drift_treshold: unknown field; did you mean 'drift_threshold'?",
    }[case]
    assert code == 1
    assert expected in err, err
    assert err.startswith("error: ")


@BOUND
def test_data_on_the_s3_server(served_model, s3_bucket, tmp_path):
    fs = pafs.S3FileSystem(endpoint_override=ENDPOINT.split("://")[1], scheme="http")
    path = tmp_path / "now.jsonl"
    _features(served_model.frame).to_json(path, orient="records", lines=True)
    with fs.open_output_stream(f"{s3_bucket.removeprefix('s3://')}/now/part-0.jsonl") as stream:
        stream.write(path.read_bytes())
    _, report = rayplane.drift(served_model.spec, data=f"{s3_bucket}/now/")
    assert report.rows == len(served_model.frame) and report.drifted == []
