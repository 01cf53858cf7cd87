"""Bad data through the whole data stage (``load_data`` on the session's Ray): each fault is a clear DataError
naming the file or column, or a counted skip; every test is bounded so that a hang fails.

tests/data checks the footer checks one by one (``ingest.check_schemas``); these go through ``load_data``, with
the bad shard among good ones, and add what only a Ray read finds: a shard whose footer is fine but whose pages
are not.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from rayplane.data import load_data
from rayplane.errors import DataError
from tests.data.datafiles import make_spec, small_frame, write_frame

BOUND = pytest.mark.timeout(240)


def three_shards(tmp_path, frame: pd.DataFrame | None = None):
    directory = tmp_path / "shards"
    return directory, write_frame(directory, small_frame(900) if frame is None else frame, shards=3)


@BOUND
def test_a_shard_with_corrupt_pages_names_the_file(ray_session, tmp_path):
    directory, files = three_shards(tmp_path)
    raw = bytearray(files[1].read_bytes())
    # The footer (the end of the file) stays intact, so the schema check passes; the first page header does not.
    raw[4:60] = b"\xff" * 56
    files[1].write_bytes(bytes(raw))
    with pytest.raises(DataError, match=re.escape(f"{files[1]}: not a readable Parquet file")):
        load_data(make_spec(directory))


@pytest.mark.parametrize("damage", ["zero bytes", "truncated", "not parquet"])
@BOUND
def test_an_unreadable_footer_names_the_file(tmp_path, damage):
    directory, files = three_shards(tmp_path)
    content = files[2].read_bytes()
    files[2].write_bytes({"zero bytes": b"", "truncated": content[: len(content) // 2],
                          "not parquet": b"a,b,c,y\n1,2,x,0\n"}[damage])
    with pytest.raises(DataError, match=re.escape(f"{files[2]}: not a readable Parquet file")):
        load_data(make_spec(directory))


@BOUND
def test_one_shard_missing_a_column_names_the_shard_and_column(tmp_path):
    directory, files = three_shards(tmp_path)
    write_frame(tmp_path / "other", small_frame(300).drop(columns=["c"]), shards=1)[0].replace(files[1])
    with pytest.raises(DataError, match=re.escape(f"{files[1]}: no column 'c' (named in data.features.categorical)")):
        load_data(make_spec(directory))


@BOUND
def test_one_shard_with_a_wrong_type_names_shard_column_and_type(tmp_path):
    directory, files = three_shards(tmp_path)
    frame = small_frame(300).assign(b=lambda f: f["b"].astype(str) + " units")
    write_frame(tmp_path / "other", frame, shards=1)[0].replace(files[0])
    with pytest.raises(DataError, match=re.escape(f"{files[0]}: column 'b' has type ") + r"(large_)?string"):
        load_data(make_spec(directory))


@pytest.mark.parametrize("content", ["nothing", "markers and csv"])
@BOUND
def test_a_directory_without_shards_names_the_path(tmp_path, content):
    directory = tmp_path / "shards"
    directory.mkdir()
    if content != "nothing":
        (directory / "_SUCCESS").write_text("")
        (directory / "part-0.csv").write_text("a,b,c,y\n1,2,x,0\n")
    with pytest.raises(DataError, match=re.escape(f"data.path: no .parquet files at {directory}")):
        load_data(make_spec(directory))


@BOUND
def test_a_label_with_an_unseen_class_names_the_column_and_value(ray_session, tmp_path):
    frame = small_frame(900).assign(y=lambda f: np.arange(len(f)) % 3)
    frame.loc[700, "y"] = 7
    directory, _ = three_shards(tmp_path, frame)
    with pytest.raises(DataError, match=re.escape("label column 'y' holds 7; task 'multiclass' needs an integer "
                                                  "in [0, 3)")):
        load_data(make_spec(directory, task="multiclass", num_classes=3))


@BOUND
def test_empty_shards_and_unlabelled_rows_are_counted_skips(ray_session, tmp_path):
    frame = small_frame(900).astype({"y": "float64"})
    frame.loc[[5, 400, 899], "y"] = np.nan
    directory, files = three_shards(tmp_path, frame)
    write_frame(tmp_path / "empty", frame.iloc[:0], shards=1)[0].replace(directory / "part-00009.parquet")
    prepared = load_data(make_spec(directory))
    assert prepared.info["files"] == 4
    assert prepared.info["missing_label_rows_dropped"] == 3
    assert prepared.info["train_rows"] + prepared.info["validation_rows"] == 897


@BOUND
def test_no_labelled_rows_at_all_is_an_error_naming_the_label(ray_session, tmp_path):
    frame = small_frame(300).astype({"y": "float64"}).assign(y=np.nan)
    directory, _ = three_shards(tmp_path, frame)
    with pytest.raises(DataError, match="no labelled training rows .*'y'"):
        load_data(make_spec(directory))
