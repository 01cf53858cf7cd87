"""The fitted preprocessing: fit on training rows only, identical at training and serving, plain JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rayplane.data import Preprocessor, load_data
from rayplane.data.split import SplitRule
from rayplane.data.stats import summarize_frame
from rayplane.errors import DataError
from tests.data.datafiles import make_spec, small_frame, write_frame


def fitted(frame: pd.DataFrame, spec) -> Preprocessor:
    """Fit in memory (the same statistics code the streaming pass runs on each block)."""
    return Preprocessor.from_summary(summarize_frame(frame, spec.data), spec.data)


def sorted_rows(x: np.ndarray) -> np.ndarray:
    return x[np.lexsort(x.T[::-1])]


def test_fit_sees_only_training_rows(ray_session, tmp_path):
    frame = small_frame(1500)
    spec = make_spec(tmp_path / "d", split_seed=11)
    rule = SplitRule(spec.data)
    # Extreme rows that the split sends to validation: the fitted statistics must not move.
    candidates = small_frame(200, seed=5).assign(a=lambda f: 1e6 + f.index.to_numpy())
    extreme = candidates[rule.is_validation(candidates)]
    assert len(extreme) > 10
    data = pd.concat([frame, extreme], ignore_index=True)
    write_frame(tmp_path / "d", frame, shards=2)
    # A shard of validation rows only: its training batches come out empty.
    pq.write_table(pa.Table.from_pandas(extreme, preserve_index=False), tmp_path / "d" / "part-00002.parquet")
    prepared = load_data(spec)
    train = data[~rule.is_validation(data)]
    a = prepared.preprocessor.state["numeric"][0]
    assert a["max"] < 1e3
    assert a["mean"] == pytest.approx(train["a"].mean(), rel=1e-9)
    assert a["std"] == pytest.approx(train["a"].std(ddof=0), rel=1e-9)
    assert prepared.preprocessor.rows == len(train) == prepared.info["train_rows"]
    assert prepared.info["validation_rows"] == len(data) - len(train)
    validation_x = np.stack(prepared.validation.to_pandas()["x"].to_numpy())
    assert len(validation_x) == prepared.info["validation_rows"]
    assert validation_x[:, 0].max() > 1e4  # the extreme rows are there, scaled by the training statistics


def test_streaming_fit_equals_an_in_memory_fit(ray_session, tmp_path):
    frame = small_frame(3000)
    frame.loc[::5, "a"] = np.nan
    frame.loc[::9, "c"] = None
    spec = make_spec(tmp_path)
    blocks = [frame.iloc[part] for part in np.array_split(np.arange(len(frame)), 6)]
    streamed = Preprocessor.fit(ray_session.data.from_pandas(blocks), spec.data)
    in_memory = fitted(frame, spec).to_dict()
    got = streamed.to_dict()
    for column, expected in zip(got["numeric"], in_memory["numeric"]):
        assert column.pop("name") == expected.pop("name")
        # The quantile sketch merges blocks approximately (rayplane.data.stats): decile shares within a point.
        assert column.pop("bin_shares") == pytest.approx(expected.pop("bin_shares"), abs=0.01)
        assert column.pop("bins") == pytest.approx(expected.pop("bins"), abs=0.05 * expected["std"])
        assert column == pytest.approx(expected, rel=1e-9)
    assert got["categorical"] == in_memory["categorical"]
    assert got["label_stats"] == pytest.approx(in_memory["label_stats"])
    assert got["numeric"][0]["missing"] == 600 and got["categorical"][0]["missing"] == 334


def test_serving_transform_equals_training_transform(flights_data, flights_encoded, flights_dir, flights_spec):
    pre = flights_data.preprocessor
    raw = pd.read_parquet(flights_dir)
    validation_raw = raw[SplitRule(flights_spec.data).is_validation(raw)]
    # A serving request: JSON records, missing values as null.
    records = json.loads(validation_raw[pre.feature_columns].to_json(orient="records"))
    served = pre.transform_features(pd.DataFrame.from_records(records, columns=pre.feature_columns))
    trained = flights_encoded["validation"]
    trained_x = np.stack(trained["x"].to_numpy())
    assert served.dtype == np.float32 and trained_x.shape == served.shape == (len(validation_raw), pre.input_dim)
    np.testing.assert_allclose(sorted_rows(trained_x), sorted_rows(served), rtol=1e-6, atol=1e-6)
    assert trained["y"].to_numpy().dtype == np.float32
    assert set(np.unique(trained["y"].to_numpy())) == {0.0, 1.0}


def test_save_load_round_trip(flights_data):
    pre = flights_data.preprocessor
    loaded = Preprocessor.loads(pre.dumps(), "preprocessor.json")
    assert loaded.to_dict() == pre.to_dict()
    assert (loaded.feature_columns, loaded.input_dim, loaded.input_schema) == (
        pre.feature_columns, pre.input_dim, pre.input_schema)
    frame = pd.DataFrame.from_records([{"distance": 500, "carrier": "UA", "origin": "JFK", "dest": "LAX"}],
                                      columns=pre.feature_columns)
    np.testing.assert_array_equal(loaded.transform_features(frame), pre.transform_features(frame))
    with pytest.raises(DataError, match=r"s3://b/v1/preprocessor\.json: preprocessor state has format 99"):
        Preprocessor.loads('{"format": 99}', "s3://b/v1/preprocessor.json")
    with pytest.raises(DataError, match=r"bad\.json: not valid JSON"):
        Preprocessor.loads("{", "bad.json")


def test_unseen_rare_and_missing_values(tmp_path):
    spec = make_spec(tmp_path, preprocessing={"max_categories": 2, "scaling": "minmax", "impute_numeric": "zero"})
    pre = fitted(small_frame(1000), spec)
    state = pre.state
    assert state["categorical"][0]["categories"] == ["red", "green"]  # the two most frequent
    assert pre.input_dim == 2 + 3
    assert [c["dtype"] for c in pre.input_schema] == ["float", "float", "string"]
    a, b = state["numeric"]
    frame = pd.DataFrame.from_records(
        [{"a": a["min"], "b": None, "c": "green"}, {"a": a["max"], "b": b["max"], "c": "teal"},
         {"a": None, "b": b["min"], "c": None}, {"a": np.inf, "b": "7", "c": "never-seen"}],
        columns=pre.feature_columns)
    x = pre.transform_features(frame)
    bucket = [0, 0, 1]
    np.testing.assert_allclose(x[0], [0, (0 - b["min"]) / (b["max"] - b["min"]), 0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(x[1], [1, 1, *bucket], atol=1e-6)  # 'teal' is rare: it shares the bucket
    np.testing.assert_allclose(x[2, 2:], bucket)
    assert x[2, 0] == pytest.approx((0 - a["min"]) / (a["max"] - a["min"]))
    np.testing.assert_allclose(x[3, 2:], bucket)
    with pytest.raises(DataError, match="column 'b' is numeric but holds 'seven'"):
        pre.transform_features(frame.assign(b=["seven", None, None, None]))
    with pytest.raises(DataError, match="no column 'c'"):
        pre.transform_features(frame.drop(columns="c"))


def test_integer_categories_match_however_they_arrive(tmp_path):
    frame = small_frame(300).assign(c=lambda f: f["b"] % 5)
    frame.loc[::4, "c"] = None  # an int column with nulls: float64 in pandas
    pre = fitted(frame, make_spec(tmp_path, features={"numeric": ["a"], "categorical": ["c"]}))
    assert sorted(pre.state["categorical"][0]["categories"]) == ["0", "1", "2", "3", "4"]
    requests = [[{"a": 1.0, "c": 3}], [{"a": 1.0, "c": "3"}], [{"a": 1.0, "c": 3.0}], [{"a": 1.0, "c": 3}, {"c": None}]]
    encoded = [pre.transform_features(pd.DataFrame.from_records(r, columns=pre.feature_columns))[0] for r in requests]
    for x in encoded[1:]:
        np.testing.assert_array_equal(x, encoded[0])
    assert encoded[0][1:].sum() == 1 and encoded[0][-1] == 0  # a kept category, not the bucket


def test_labels_by_task(tmp_path):
    frame = small_frame(400).assign(y=lambda f: f["a"] * 3.0 + 100)
    regression = fitted(frame, make_spec(tmp_path, task="regression"))
    y = regression.transform_labels(frame["y"])
    assert y.dtype == np.float32 and abs(y.mean()) < 1e-4 and abs(y.std() - 1) < 1e-3
    assert regression.label_stats["mean"] == pytest.approx(frame["y"].mean())
    classes = frame.assign(y=np.arange(400) % 3)
    multiclass = fitted(classes, make_spec(tmp_path, task="multiclass", num_classes=3))
    assert multiclass.transform_labels(classes["y"]).dtype == np.int64
    assert multiclass.label_stats == {"class_counts": [134, 133, 133], "rows": 400}
    with pytest.raises(DataError, match=r"label column 'y' holds 3; task 'multiclass' needs an integer in \[0, 3\)"):
        multiclass.transform_labels(pd.Series([0, 3, 1]))
    booleans = small_frame(100).assign(y=lambda f: f["y"].astype(bool))
    binary = fitted(booleans, make_spec(tmp_path))
    assert binary.label_stats["positive_rate"] == pytest.approx(booleans["y"].mean())


def test_bad_and_missing_labels_in_the_files(ray_session, tmp_path):
    frame = small_frame(600).astype({"y": "float64"})
    frame.loc[[3, 50, 400], "y"] = np.nan
    write_frame(tmp_path / "ok", frame, shards=2)
    prepared = load_data(make_spec(tmp_path / "ok"))
    assert prepared.info["missing_label_rows_dropped"] == 3
    assert prepared.info["train_rows"] + prepared.info["validation_rows"] == 597
    frame.loc[77, "y"] = 2
    write_frame(tmp_path / "bad", frame, shards=2)
    with pytest.raises(DataError, match=r"label column 'y' holds 2; task 'binary' needs 0/1 or true/false"):
        load_data(make_spec(tmp_path / "bad"))
