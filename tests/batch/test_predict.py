"""Batch scoring (`rayplane predict`, `rayplane.predict`) with the session's served model on the session's Ray:
real Parquet, CSV and JSON Lines files, local and on the S3 server; bad inputs are one line, exit 1, nothing
written under --output."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

import rayplane
from rayplane.cli.main import main
from rayplane.modeling.predictor import Predictor
from object_store import ENDPOINT

BOUND = pytest.mark.timeout(300)
FEATURES = ["distance", "dep_hour", "temp", "carrier", "origin"]


def scoring_frame(served_model) -> pd.DataFrame:
    """The fitted rows with an id, label dropped (what a user scores)."""
    return served_model.frame.drop(columns=["delayed"]).assign(flight_id=lambda f: np.arange(len(f)) * 10)


def write_parts(frame: pd.DataFrame, directory, fmt: str = "parquet", parts: int = 3) -> list:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), parts)):
        part = frame.iloc[rows]
        path = directory / f"part-{i}.{fmt}"
        if fmt == "parquet":
            part.to_parquet(path, index=False)
        elif fmt == "csv":
            part.to_csv(path, index=False)
        else:
            part.to_json(path, orient="records", lines=True)
        paths.append(path)
    return paths


def published(directory) -> pd.DataFrame:
    success = json.loads((directory / "_SUCCESS").read_text())
    return pd.concat([pd.read_parquet(directory / f) for f in success["files"]], ignore_index=True)


def expected_answers(served_model, frame: pd.DataFrame) -> list[dict]:
    return Predictor(served_model.version).predict(frame[FEATURES].to_dict("records"))


@BOUND
def test_cli_scores_parquet_in_input_order_with_kept_ids_and_publishes_success_last(served_model, tmp_path,
                                                                                     capsys):
    frame = scoring_frame(served_model)
    write_parts(frame, tmp_path / "in", parts=4)
    out = tmp_path / "out"
    code = main(["predict", str(served_model.spec_path), "--version", "1", "--input", str(tmp_path / "in"),
                 "--output", str(out), "--keep", "flight_id"])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"scored {len(frame)} rows from 4 parquet file(s) with serve_demo:v1" in printed
    scored = published(out)
    assert list(scored.columns) == ["flight_id", "label", "probability"]
    # The input's order holds within and across files (in name order).
    assert scored["flight_id"].tolist() == frame["flight_id"].tolist()
    answers = expected_answers(served_model, frame)
    assert scored["label"].tolist() == [a["label"] for a in answers]
    np.testing.assert_allclose(scored["probability"], [a["probability"] for a in answers], atol=1e-6)
    success = json.loads((out / "_SUCCESS").read_text())
    assert success["rows"] == len(frame) and success["version"] == "serve_demo:v1"
    # Nothing else is left: no staging prefix, no probe.
    assert sorted(p.name for p in out.iterdir()) == sorted([*success["files"], "_SUCCESS"])


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@BOUND
def test_csv_and_json_lines_score_like_parquet(served_model, tmp_path, fmt):
    frame = scoring_frame(served_model)
    write_parts(frame, tmp_path / "in", fmt=fmt, parts=2)
    result = rayplane.predict(served_model.spec, input=str(tmp_path / "in"), output=str(tmp_path / "out"),
                              keep=["flight_id", "carrier"])
    assert result.input.format == fmt and result.rows == len(frame)
    scored = published(tmp_path / "out")
    assert scored["flight_id"].tolist() == frame["flight_id"].tolist()
    assert scored["carrier"].tolist() == frame["carrier"].tolist()
    np.testing.assert_allclose(scored["probability"], [a["probability"] for a in expected_answers(served_model, frame)],
                               atol=1e-6)


@BOUND
def test_input_and_output_on_the_s3_server(served_model, s3_bucket, tmp_path):
    frame = scoring_frame(served_model).iloc[:200]
    fs = pafs.S3FileSystem(endpoint_override=ENDPOINT.split("://")[1], scheme="http")
    bucket = s3_bucket.removeprefix("s3://")
    for path in write_parts(frame, tmp_path / "in", parts=2):
        with fs.open_output_stream(f"{bucket}/input/{path.name}") as stream:
            stream.write(path.read_bytes())
    result = rayplane.predict(served_model.spec, input=f"{s3_bucket}/input/", output=f"{s3_bucket}/scored",
                              keep=["flight_id"])
    assert result.rows == 200 and result.output.display == f"{s3_bucket}/scored"
    listed = sorted(i.path for i in fs.get_file_info(pafs.FileSelector(f"{bucket}/scored", recursive=True)))
    assert listed == sorted([f"{bucket}/scored/{f}" for f in result.files] + [f"{bucket}/scored/_SUCCESS"])
    scored = pd.concat([pq.read_table(f"{bucket}/scored/{f}", filesystem=fs).to_pandas() for f in result.files])
    assert scored["flight_id"].tolist() == frame["flight_id"].tolist()


def _bad_cases(frame: pd.DataFrame):
    """name -> (writes the input under a directory and returns extra CLI args, the expected error)."""

    def missing_column(d):
        write_parts(frame.drop(columns=["temp"]), d, parts=1)
        return [], re.escape(f"{d}/part-0.parquet: no column 'temp' (named in the input schema of serve_demo:v1)")

    def wrong_type(d):
        write_parts(frame.assign(distance=frame["distance"].astype(str) + " mi"), d, parts=1)
        return [], re.escape(f"{d}/part-0.parquet: column 'distance' has type ") + r"(large_)?string"

    def unreadable(d):
        write_parts(frame, d, parts=2)[1].write_bytes(b"not parquet at all")
        return [], re.escape(f"{d}/part-1.parquet: not a readable parquet file")

    def empty_csv(d):
        write_parts(frame, d, fmt="csv", parts=2)[0].write_bytes(b"")
        return [], re.escape(f"{d}/part-0.csv: not a readable csv file")

    def no_files(d):
        d.mkdir()
        (d / "notes.txt").write_text("nothing to score")
        return [], re.escape(f"--input: no .parquet or .csv or .jsonl or .ndjson files at {d}")

    def mixed_formats(d):
        write_parts(frame, d, parts=1)
        write_parts(frame, d, fmt="csv", parts=1)
        return [], re.escape(f"--input: {d} holds csv and parquet files; choose one with --format")

    def unknown_format(d):
        write_parts(frame, d, parts=1)
        return ["--format", "parket"], re.escape("--format: unknown format 'parket', expected one of parquet, "
                                                 "csv, jsonl; did you mean 'parquet'?")

    def missing_keep(d):
        write_parts(frame, d, parts=1)
        return ["--keep", "flight_idd"], re.escape(f"{d}/part-0.parquet: no column 'flight_idd' (named in --keep); "
                                                   "did you mean 'flight_id'?")

    def clashing_keep(d):
        write_parts(frame.assign(label=1), d, parts=1)
        return ["--keep", "label"], re.escape("--keep: column 'label' would clash with the prediction column")

    def missing_version(d):
        write_parts(frame, d, parts=1)
        return ["--version", "9"], re.escape("model 'serve_demo' has no version 9")

    return {f.__name__: f for f in (missing_column, wrong_type, unreadable, empty_csv, no_files, mixed_formats,
                                    unknown_format, missing_keep, clashing_keep, missing_version)}


CASES = list(_bad_cases(pd.DataFrame()).keys())


@pytest.mark.parametrize("case", CASES)
def test_a_bad_input_is_one_error_line_exit_1_and_writes_nothing(served_model, tmp_path, capsys, case):
    make = _bad_cases(scoring_frame(served_model).iloc[:50])[case]
    args, expected = make(tmp_path / "in")
    out = tmp_path / "out"
    code = main(["predict", str(served_model.spec_path), "--input", str(tmp_path / "in"), "--output", str(out),
                 *args])
    captured = capsys.readouterr()
    assert code == 1
    [line] = captured.err.strip().splitlines()
    assert re.search("^error: " + expected, line), line
    assert not out.exists()


def test_an_output_that_holds_files_is_refused_and_left_alone(served_model, tmp_path, capsys):
    write_parts(scoring_frame(served_model).iloc[:50], tmp_path / "in", parts=1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.parquet").write_bytes(b"yesterday's scores")
    code = main(["predict", str(served_model.spec_path), "--input", str(tmp_path / "in"), "--output", str(out)])
    [line] = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert line == f"error: --output: {out} already holds 1 file(s) (e.g. old.parquet); choose a new or empty location"
    assert [p.name for p in out.iterdir()] == ["old.parquet"]


@BOUND
def test_a_file_that_fails_once_ray_reads_it_publishes_nothing(served_model, tmp_path):
    frame = scoring_frame(served_model)
    paths = write_parts(frame, tmp_path / "in", parts=3)
    raw = bytearray(paths[2].read_bytes())
    # The footer stays intact, so the schema check passes; the pages do not, so only Ray's read finds it.
    raw[4:60] = b"\xff" * 56
    paths[2].write_bytes(bytes(raw))
    out = tmp_path / "out"
    with pytest.raises(rayplane.DataError, match=re.escape(f"--input: scoring {tmp_path / 'in'} failed, nothing was "
                                                           f"published under {out}")):
        rayplane.predict(served_model.spec, input=str(tmp_path / "in"), output=str(out))
    assert not out.exists() or list(out.rglob("*")) == []
