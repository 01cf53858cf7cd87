"""Options shared by the commands that read a workload spec."""

from __future__ import annotations

import functools
from typing import Any

import click
import yaml

from rayplane.errors import SpecError
from rayplane.spec import WorkloadSpec, load_spec, override


set_option = click.option(
    "--set", "settings", multiple=True, metavar="FIELD=VALUE",
    help="Override a spec field, e.g. --set storage.root=s3://bucket/rayplane (repeatable; VALUE is read as YAML).")


def spec_argument(command):
    """SPEC plus ``--set FIELD=VALUE`` overrides, handed to the command as a validated ``spec``."""

    @click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
    @set_option
    @functools.wraps(command)
    def wrapper(spec_path, settings, **kwargs):
        return command(spec=load_with_overrides(spec_path, parse_settings(settings)), **kwargs)

    return wrapper


def training_options(command):
    @spec_argument
    @click.option("--address", help="Ray cluster address (default: an embedded local Ray).")
    @click.option("--run-name", help="Name of the run; re-running an interrupted run's name resumes it.")
    @click.option("--epochs", type=int, help="Override train.epochs.")
    @click.option("--trials", type=int, help="Override tune.num_samples.")
    @functools.wraps(command)
    def wrapper(spec, epochs, trials, **kwargs):
        changes = {k: v for k, v in {"train.epochs": epochs, "tune.num_samples": trials}.items() if v is not None}
        return command(spec=override(spec, changes) if changes else spec, **kwargs)

    return wrapper


def parse_settings(settings: tuple[str, ...]) -> dict[str, Any]:
    changes = {}
    for setting in settings:
        field, sep, value = setting.partition("=")
        if not sep or not field:
            raise SpecError(f"--set {setting!r}: expected FIELD=VALUE, e.g. storage.root=s3://bucket/rayplane")
        try:
            changes[field] = yaml.safe_load(value) if value else ""
        except yaml.YAMLError:
            changes[field] = value
    return changes


def load_with_overrides(path: str, changes: dict[str, Any]) -> WorkloadSpec:
    spec = load_spec(path)
    return override(spec, changes) if changes else spec
