"""Options shared by the commands that train (run, train, tune)."""

from __future__ import annotations

import functools

import click

from rayplane.spec import WorkloadSpec, load_spec, override


def training_options(command):
    @click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
    @click.option("--address", help="Ray cluster address (default: an embedded local Ray).")
    @click.option("--run-name", help="Name of the run; re-running an interrupted run's name resumes it.")
    @click.option("--epochs", type=int, help="Override train.epochs.")
    @click.option("--trials", type=int, help="Override tune.num_samples.")
    @functools.wraps(command)
    def wrapper(spec_path, epochs, trials, **kwargs):
        return command(spec=load_with_overrides(spec_path, epochs=epochs, trials=trials), **kwargs)

    return wrapper


def load_with_overrides(path: str, *, epochs: int | None, trials: int | None) -> WorkloadSpec:
    spec = load_spec(path)
    changes = {"train.epochs": epochs, "tune.num_samples": trials}
    changes = {k: v for k, v in changes.items() if v is not None}
    return override(spec, changes) if changes else spec
