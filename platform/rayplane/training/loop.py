"""The per-worker training loop that Ray Train runs (data-parallel, checkpointed, resumable)."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np
import torch

import ray.train
import ray.train.torch
from rayplane.metrics import record_train_epoch
from rayplane.modeling.builder import build_model
from rayplane.modeling.predictor import read_weights
from rayplane.modeling.tasks import as_target, loss_fn
from rayplane.registry import ModelVersion
from rayplane.training.evaluate import ValidationAccumulator, all_reduce

STATE_FILE = "state.pt"
MODEL_FILE = "model.pt"

OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
# Rows Ray Data hands over at a time; batches are sliced out of them (see torch_batches).
CHUNK_ROWS = 16_384


def train_loop_per_worker(config: dict[str, Any]) -> None:
    """``config`` is plain data built by ``rayplane.training.trainer.loop_config``; tuned values override it."""
    torch.set_num_threads(max(1, int(config["cpus_per_worker"])))
    torch.manual_seed(config["seed"])
    task = config["task"]
    model = build_model(config["model_code"], config["input_dim"], config["output_dim"], config["model_params"],
                        origin=config["model_origin"])
    optimizer = OPTIMIZERS[config["optimizer"]](model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    start_epoch = _restore(model, optimizer)
    if start_epoch == 0 and config["initial_weights"]:
        # A warm start: the parent version's weights, read straight from the registry (a resumed run has its own).
        model.load_state_dict(read_weights(ModelVersion.at(config["initial_weights"])))
    model = ray.train.torch.prepare_model(model)
    criterion = loss_fn(task)
    context = ray.train.get_context()
    train_shard = ray.train.get_dataset_shard("train")
    val_shard = ray.train.get_dataset_shard("validation")
    batch_size = int(config["batch_size"])
    epochs = int(config["epochs"])

    for epoch in range(start_epoch, epochs):
        model.train()
        started, seen, loss_sum = time.perf_counter(), 0, 0.0
        for x, y in torch_batches(train_shard, batch_size):
            y = as_target(task, y)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            seen += y.shape[0]
            loss_sum += loss.item() * y.shape[0]
        elapsed = time.perf_counter() - started
        totals = all_reduce(torch.tensor([seen, loss_sum], dtype=torch.float64))

        model.eval()
        accumulator = ValidationAccumulator(task, config["label_stats"], criterion)
        with torch.inference_mode():
            for x, y in torch_batches(val_shard, max(batch_size, 4096)):
                accumulator.update(model(x), y)
        metrics = {
            "epoch": epoch + 1,
            "loss": float(totals[1]) / max(float(totals[0]), 1.0),
            "samples_per_s": float(totals[0]) / max(elapsed, 1e-9),
            "world_size": context.get_world_size(),
            "resumed_from_epoch": start_epoch,
            **accumulator.compute(),
        }
        if context.get_world_rank() == 0:
            record_train_epoch(config["workload"], context.get_experiment_name(), epoch + 1,
                               metrics["samples_per_s"], metrics)
        last = epoch + 1 >= epochs
        if (epoch + 1) % int(config["checkpoint_every"]) == 0 or last:
            _report_with_checkpoint(metrics, model, optimizer, epoch, context.get_world_rank())
        else:
            ray.train.report(metrics)


def torch_batches(shard: Any, batch_size: int):
    """(x, y) tensors of ``batch_size`` rows, exactly the batches of ``shard.iter_torch_batches(batch_size)``.

    Ray Data's cost per batch it hands over (slicing blocks, formatting, collating) is about that of a small
    model's whole training step (profiled: 168k vs 287k samples/s for the synthetic MLP), so it hands over
    NumPy chunks of many batches and the batches are zero-copy slices of them. A chunk is a whole number of
    batches, so the batch boundaries stay those of iterating batch by batch.
    """
    chunk_rows = batch_size * max(1, CHUNK_ROWS // batch_size)
    for chunk in shard.iter_batches(batch_size=chunk_rows, batch_format="numpy", prefetch_batches=1):
        # Arrow-backed arrays can be read-only; a copy of the chunk is cheap next to the steps it feeds.
        x, y = (torch.from_numpy(np.require(chunk[k], requirements="W")) for k in ("x", "y"))
        for start in range(0, len(y), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


def _restore(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> int:
    """Load the latest checkpoint of this run, if any; return the epoch to start from."""
    checkpoint = ray.train.get_checkpoint()
    if checkpoint is None:
        return 0
    with checkpoint.as_directory() as directory:
        state = torch.load(os.path.join(directory, STATE_FILE), map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return int(state["epoch"]) + 1


def _report_with_checkpoint(metrics: dict, model, optimizer, epoch: int, rank: int) -> None:
    # Every rank reports (Train waits for all); only rank 0 writes the files, as DDP replicas are identical.
    if rank != 0:
        ray.train.report(metrics)
        return
    plain = model.module if hasattr(model, "module") else model
    with tempfile.TemporaryDirectory() as directory:
        torch.save({"model": plain.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch},
                   os.path.join(directory, STATE_FILE))
        torch.save(plain.state_dict(), os.path.join(directory, MODEL_FILE))
        ray.train.report(metrics, checkpoint=ray.train.Checkpoint.from_directory(directory))
