"""The train/validation split: a keyed hash of row values, so it is stable, disjoint and streams."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rayplane.data.split import SplitRule
from tests.data.datafiles import make_spec, small_frame


def test_split_is_deterministic_and_the_fraction_is_about_right(tmp_path):
    frame = small_frame(20_000)
    spec = make_spec(tmp_path, validation_fraction=0.2, split_seed=3)
    first = SplitRule(spec.data).is_validation(frame)
    assert np.array_equal(first, SplitRule(spec.data).is_validation(frame))
    assert abs(first.mean() - 0.2) < 0.015
    other_seed = SplitRule(make_spec(tmp_path, validation_fraction=0.2, split_seed=4).data).is_validation(frame)
    assert abs(other_seed.mean() - 0.2) < 0.015
    assert (first != other_seed).mean() > 0.2


def test_a_row_lands_on_the_same_side_whatever_batch_order_or_typing(tmp_path):
    frame = small_frame(3000)
    frame.loc[::7, "b"] = None  # int column with nulls: Arrow hands it over as float64 in those batches
    rule = SplitRule(make_spec(tmp_path).data)
    whole = rule.is_validation(frame)
    parts = np.array_split(np.arange(len(frame)), 7)
    batched = np.concatenate([rule.is_validation(frame.iloc[part]) for part in parts])
    assert np.array_equal(whole, batched)
    order = np.random.default_rng(0).permutation(len(frame))
    assert np.array_equal(rule.is_validation(frame.iloc[order]), whole[order])
    ints = small_frame(500)
    retyped = ints.astype({"b": "float64", "y": "float64"}).assign(c=ints["c"].astype(object))
    assert np.array_equal(rule.is_validation(ints), rule.is_validation(retyped))


def test_identical_rows_share_a_side(tmp_path):
    frame = pd.concat([small_frame(200)] * 3, ignore_index=True)
    side = SplitRule(make_spec(tmp_path).data).is_validation(frame)
    assert np.array_equal(side[:200], side[200:400]) and np.array_equal(side[:200], side[400:])


def test_load_data_splits_disjoint_and_covering(flights_data, flights_encoded):
    train, validation = flights_encoded["train"], flights_encoded["validation"]
    info = flights_data.info
    assert (info["train_rows"], info["validation_rows"]) == (len(train), len(validation))
    assert len(train) + len(validation) + info["missing_label_rows_dropped"] == 3000
    assert 0.15 < len(validation) / 3000 < 0.25
    train_rows = {np.asarray(x, dtype=np.float32).tobytes() for x in train["x"]}
    assert not any(np.asarray(x, dtype=np.float32).tobytes() in train_rows for x in validation["x"])
