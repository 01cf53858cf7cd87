"""Finding shards and checking their footers: every bad input names the file and the column."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from rayplane.data import ingest, load_data
from rayplane.errors import DataError
from tests.data.datafiles import make_spec, small_frame, write_frame


@pytest.fixture()
def shards(tmp_path):
    frame = small_frame(300)
    directory = tmp_path / "shards"
    write_frame(directory, frame, shards=3)
    # Markers and writers' temporaries are not data.
    (directory / "_SUCCESS").write_text("")
    (directory / ".part-00009.parquet").write_text("half written")
    return directory, frame


def test_reads_a_directory_a_glob_a_file_uri_and_one_file(ray_session, shards):
    directory, frame = shards
    names = {
        str(directory): [0, 1, 2],
        str(directory / "part-0000[02].parquet"): [0, 2],
        f"file://{directory}": [0, 1, 2],
        str(directory / "part-00001.parquet"): [1],
    }
    for path, expected in names.items():
        source = ingest.find_files(path)
        assert source.files == [str(directory / f"part-{i:05d}.parquet") for i in expected], path
    # One real read through the URI's filesystem (each Ray read costs seconds on a busy 2-core box).
    source = ingest.find_files(f"file://{directory}")
    ingest.check_schemas(source, make_spec(directory).data)
    assert ingest.read(source, make_spec(directory).data).count() == len(frame)


def test_no_files_names_the_path(tmp_path):
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "absent", tmp_path / "empty" / "*.parquet"):
        with pytest.raises(DataError, match=re.escape(f"no .parquet files at {path}")):
            ingest.find_files(str(path))


def test_corrupt_shard_names_the_file(shards):
    directory, _ = shards
    (directory / "part-00001.parquet").write_bytes(b"PAR1 this is not a parquet file")
    source = ingest.find_files(str(directory))
    with pytest.raises(DataError, match=r"part-00001\.parquet: not a readable Parquet file"):
        ingest.check_schemas(source, make_spec(directory).data)


def test_missing_column_names_column_file_and_a_suggestion(tmp_path):
    frame = small_frame(100).rename(columns={"b": "bb"})
    write_frame(tmp_path / "d", frame, shards=1)
    spec = make_spec(tmp_path / "d")
    with pytest.raises(DataError) as err:
        ingest.check_schemas(ingest.find_files(str(tmp_path / "d")), spec.data)
    message = str(err.value)
    assert "part-00000.parquet: no column 'b' (named in data.features.numeric); did you mean 'bb'?" in message


def test_wrong_type_names_column_file_and_type(tmp_path):
    frame = small_frame(100).assign(a=lambda f: f["a"].map(lambda v: f"{v:.1f}km"))
    write_frame(tmp_path / "d", frame, shards=1)
    with pytest.raises(DataError, match=r"part-00000\.parquet: column 'a' has type (large_)?string, but "
                                        r"data\.features\.numeric needs a number"):
        ingest.check_schemas(ingest.find_files(str(tmp_path / "d")), make_spec(tmp_path / "d").data)


def test_string_label_is_rejected_before_ray_reads(ray_session, tmp_path):
    frame = small_frame(100).assign(y=lambda f: f["y"].map({0: "no", 1: "yes"}))
    write_frame(tmp_path / "d", frame, shards=1)
    with pytest.raises(DataError, match=r"column 'y' has type (large_)?string, but data\.label needs a number"):
        load_data(make_spec(tmp_path / "d"))


def test_categorical_accepts_integers_and_dictionary_strings(tmp_path):
    frame = small_frame(100).assign(c=lambda f: f["c"].astype("category"))
    write_frame(tmp_path / "d", frame, shards=1)
    ingest.check_schemas(ingest.find_files(str(tmp_path / "d")), make_spec(tmp_path / "d").data)
    spec = make_spec(tmp_path / "d", features={"numeric": ["a"], "categorical": ["b", "c"]})
    ingest.check_schemas(ingest.find_files(str(tmp_path / "d")), spec.data)
    floats = pd.DataFrame({"a": [1.0], "b": [0.5], "c": ["x"], "y": [1]})
    write_frame(tmp_path / "f", floats, shards=1)
    with pytest.raises(DataError, match="column 'b' has type double, but data.features.categorical needs strings"):
        ingest.check_schemas(ingest.find_files(str(tmp_path / "f")), spec.data)


def test_materialize_keeps_the_files_row_order_and_leaves_the_context_as_it_was(ray_session, tmp_path):
    frame = small_frame(600)
    write_frame(tmp_path / "shards", frame, shards=6)
    spec = make_spec(tmp_path / "shards")
    ds = ingest.read(ingest.find_files(spec.data_path), spec.data)
    reserved, ordered = ds.context.op_resource_reservation_enabled, ds.context.execution_options.preserve_order
    # Shards of different cost would finish out of order on two CPUs; the rows still come in file order.
    cached = ingest.materialize(ds.map_batches(lambda b: b, batch_format="pandas"))
    assert cached.to_pandas()["a"].tolist() == pytest.approx(frame["a"].tolist(), nan_ok=True)
    assert ds.context.op_resource_reservation_enabled is reserved
    assert ds.context.execution_options.preserve_order is ordered
