"""The Python API behind the CLI: train, tune, run (data -> train/tune -> registry -> serve).

Stages hand each other plain data: the validated spec, the prepared datasets, a ``TrainOutcome``, a
``ModelVersion``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from rayplane.errors import PromotionError, RegistryError, SpecError
from rayplane.promotion import promote
from rayplane.registry import CHAMPION, ModelRegistry, ModelVersion
from rayplane.runtime import RayRuntime, connect
from rayplane.spec import WorkloadSpec, override, spec_hash
from rayplane.storage import Storage, check_shared, check_writable

console = Console(stderr=True)


@dataclass
class RunResult:
    spec: WorkloadSpec
    run_name: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    version: ModelVersion
    runtime: RayRuntime
    seconds: float
    endpoint: Any = None  # rayplane.serve.Endpoint once deployed
    extra: dict[str, Any] = field(default_factory=dict)


def registry_for(spec: WorkloadSpec) -> ModelRegistry:
    return ModelRegistry.for_spec(spec)


def connect_for(spec: WorkloadSpec, address: str | None) -> RayRuntime:
    """Connect to Ray, then refuse a local storage root that the cluster's other nodes cannot see."""
    runtime = connect(address)
    check_shared(Storage.for_spec(spec), runtime.nodes)
    return runtime


def default_run_name(spec: WorkloadSpec, kind: str) -> str:
    return f"{spec.name}-{kind}-{time.strftime('%Y%m%d-%H%M%S')}"


def train(spec: WorkloadSpec, *, address: str | None = None, run_name: str | None = None,
          params: dict[str, Any] | None = None, warm_start: int | None = None, data: str | None = None,
          refit_preprocessing: bool = False) -> RunResult:
    """One training run with the spec's (or the given) hyperparameters; registers the model.

    ``warm_start=N`` starts from version N's weights and keeps its preprocessing (``refit_preprocessing``
    refits it on the new data and reports what changed); ``data`` replaces the spec's ``data.path``.
    """
    if data is not None:
        spec = override(spec, {"data.path": data})
    if refit_preprocessing and warm_start is None:
        raise SpecError("--refit-preprocessing: only with --from N (a plain run always fits its preprocessing)")
    return _fit(spec, "train", address, run_name, params, warm_start, refit_preprocessing)


def tune(spec: WorkloadSpec, *, address: str | None = None, run_name: str | None = None) -> RunResult:
    """Hyperparameter search; registers the best trial's model."""
    return _fit(spec, "tune", address, run_name, None)


def run(spec: WorkloadSpec, *, address: str | None = None, run_name: str | None = None,
        serve: bool = True) -> RunResult:
    """The whole path: tune (or train, when the spec has no search space), register, promote through the gate,
    then serve the champion."""
    kind = "tune" if spec.tune.search_space and spec.tune.num_samples > 1 else "train"
    result = _fit(spec, kind, address, run_name, None)
    result.extra["promotion"] = promote_new(spec, result.version, result.run_name)
    if serve:
        from rayplane.serve import deploy

        champion, note = serving_version(spec)
        console.print(f"[bold]serve[/] deploying {champion.uri} ({note}) at {spec.route_prefix}")
        result.endpoint = deploy(spec, champion)
    return result


def promote_new(spec: WorkloadSpec, version: ModelVersion, run_name: str) -> str:
    """A run's new version becomes champion through the spec's gate (the first version as it is); a refusal
    leaves the champion where it was and is reported, not raised: the version stays registered."""
    try:
        outcome = promote(spec, version.version, reason=f"rayplane run {run_name}").describe()
    except PromotionError as exc:
        outcome = str(exc)
    console.print(f"[bold]promotion[/] {escape(outcome)}")
    return outcome


def serving_version(spec: WorkloadSpec, number: int | None = None,
                    variant: str | None = None) -> tuple[ModelVersion, str]:
    """What ``serve`` serves and why: version N (or its ``variant``) when given, else the champion, else the
    latest version."""
    registry = registry_for(spec)
    if variant is not None:
        if number is None:
            raise RegistryError(f"--variant {variant}: give the version it is a variant of with --version")
        return registry.variant(spec.name, number, variant), f"the {variant} variant of version {number}"
    if number is not None:
        return registry.get(spec.name, number), f"version {number} as asked"
    champion = registry.resolve(spec.name, CHAMPION)
    if champion is not None:
        return champion, CHAMPION
    return registry.get(spec.name), f"the latest version: no version is {CHAMPION} yet"


def _fit(spec: WorkloadSpec, kind: str, address: str | None, run_name: str | None,
         params: dict[str, Any] | None, warm_start: int | None = None, refit: bool = False) -> RunResult:
    started = time.perf_counter()
    preflight(spec)
    # Imported here so `rayplane validate` and `rayplane models` (and a failed preflight) never pay for Ray Train/Tune.
    from ray.data import DataContext
    from rayplane.data import load_data
    from rayplane.training import plan_resources, train_model, warmstart
    from rayplane.training.resources import check_fits
    from rayplane.training.trainer import resolve_params
    from rayplane.tuning import tune_model

    # A warm start's parent, its features and its architecture are checked before Ray starts (a refit
    # preprocessing is known, and its width checked, only after the data pass).
    parent = registry_for(spec).get(spec.name, warm_start) if warm_start is not None else None
    inherited = warmstart.parent_preprocessor(spec, parent) if parent else None
    model_params = resolve_params(spec, params or {})["model_params"]
    if inherited is not None and not refit:
        warmstart.check_architecture(spec, parent, inherited.input_dim, model_params)

    name = run_name or default_run_name(spec, kind)
    runtime = connect_for(spec, address)
    # Ray Data's per-operator bars interleave across worker logs; Tune's table and Train's reports show progress.
    DataContext.get_current().enable_progress_bars = False
    console.print(f"[bold]ray[/] {'embedded' if runtime.embedded else 'cluster'} at {runtime.address}, "
                  f"{runtime.cpus:g} CPUs, dashboard {runtime.dashboard_url or 'off'}")
    if kind == "tune" and runtime.dashboard_url is None:
        # Train V2's PlacementGroupCleaner finds a dead trial controller through the dashboard's State API.
        console.print("[yellow]warning[/] this Ray cluster runs without a dashboard: trials that early stopping "
                      "ends keep their CPUs reserved until the job ends")
    plan = plan_resources(spec, runtime.cpus)
    if runtime.embedded:
        # Only an embedded cluster is known not to grow; an autoscaling one may add the CPUs a run asks for.
        check_fits(spec, plan, runtime.cpus)
    data = load_data(spec, None if refit else inherited)
    if parent is None:
        console.print(f"[bold]data[/] {data.info.get('files')} shard(s) from {spec.data_path}; "
                      f"preprocessing fit on {data.preprocessor.rows:,} training rows")
    else:
        if refit:
            warmstart.check_architecture(spec, parent, data.preprocessor.input_dim, model_params)
        changes = warmstart.preprocessing_changes(inherited, data.preprocessor)
        preprocessing = (f"refit ({'; '.join(changes) or 'nothing changed'})" if refit
                         else f"inherited from {parent.uri}, unchanged")
        console.print(f"[bold]warm start[/] from {parent.uri}; {data.info.get('files')} shard(s) from "
                      f"{spec.data_path}, {data.info['train_rows']:,} training rows; preprocessing {preprocessing}")
    data = cache_if_it_fits(data)
    workers = spec.train.num_workers
    group = f"{plan.trial_workers}" if kind == "tune" else f"{workers.min}-{workers.max}"
    console.print(f"[bold]{kind}[/] run {name!r}: {group} worker(s) x "
                  f"{plan.cpus_per_worker:g} CPU, {spec.train.epochs} epoch(s)"
                  + (f", {spec.tune.num_samples} trial(s), {plan.max_concurrent_trials} at a time" if kind == "tune" else "")
                  + f" (re-run with --run-name {name} to resume)")
    if kind == "tune":
        outcome = tune_model(spec, data, plan, name)
    else:
        outcome = train_model(spec, data, plan, name, params, parent.location.uri if parent else None)
    lineage = {} if parent is None else {"parent": parent.uri, "preprocessing": preprocessing}
    version = register(spec, data, outcome, lineage)
    console.print(f"[bold]registry[/] {version.uri} at {version.location.display}")
    return RunResult(spec=spec, run_name=name, metrics=outcome.metrics, params=outcome.params, version=version,
                     runtime=runtime, seconds=time.perf_counter() - started)


def preflight(spec: WorkloadSpec, *, prepare: bool = True) -> list[str]:
    """Check what needs no Ray (storage, the data files and their footers, the model code) before Ray starts.

    A storage root that cannot be written, a missing path or a bad shard then fails in a second, not after a
    cluster start, a Ray Data pass or a whole search. With ``prepare=False`` (``rayplane validate``) data that
    the workload's prepare script would generate is left alone. Returns what was checked, one line each.
    """
    from rayplane.data.ingest import check_schemas, find_files
    from rayplane.data.prepare import ensure_data, needs_preparing

    storage = Storage.for_spec(spec)
    check_writable(storage.root, "storage.root")
    checked = [f"storage.root {storage.root.display} is writable"]
    if not prepare and needs_preparing(spec):
        checked.append(f"data.path {spec.data_path} will be generated by {spec.data.prepare.script}")
    else:
        ensure_data(spec)
        source = find_files(spec.data_path)
        check_schemas(source, spec.data)
        checked.append(f"data.path {spec.data_path}: {len(source.files)} Parquet file(s) with the spec's columns")
    # Not through rayplane.modeling.builder: importing torch would cost more than the whole check.
    if spec.model.code and not Path(spec.resolve(spec.model.code)).is_file():
        raise SpecError(f"model.code: {spec.resolve(spec.model.code)} does not exist")
    return checked


# Share of the object store that encoded datasets may take: the rest is for Serve, Tune and spilling headroom.
CACHE_SHARE = 0.3


def cache_if_it_fits(data):
    """Materialise the encoded splits in the object store when they fit.

    Every epoch of every trial then reads encoded blocks from memory instead of re-reading and re-encoding
    the Parquet files; larger data keeps streaming.
    """
    import dataclasses

    import ray

    from rayplane.data.ingest import materialize

    rows = data.info["train_rows"] + data.info["validation_rows"]
    encoded_bytes = rows * (data.preprocessor.input_dim + 1) * 4
    store = ray.cluster_resources().get("object_store_memory", 0.0)
    if encoded_bytes > CACHE_SHARE * store:
        console.print(f"[bold]data[/] streaming: ~{encoded_bytes / 2**20:,.0f} MiB encoded exceeds "
                      f"{CACHE_SHARE:.0%} of the object store")
        return data
    console.print(f"[bold]data[/] caching ~{encoded_bytes / 2**20:,.0f} MiB of encoded rows in the object store")
    return dataclasses.replace(data, train=materialize(data.train), validation=materialize(data.validation),
                               info={**data.info, "cached": True})


def register(spec: WorkloadSpec, data, outcome, lineage: dict[str, Any] | None = None) -> ModelVersion:
    """Store the outcome's weights, the fitted preprocessing and the model code as a new version.

    The weights are copied from the run's checkpoint where it lies (server-side on an object store).
    ``lineage`` (a warm start's ``parent`` and where its preprocessing came from) goes into the metadata.
    """
    from rayplane.training.loop import MODEL_FILE
    from rayplane.training.trainer import resolve_params

    resolved = resolve_params(spec, outcome.params)
    storage = Storage.for_spec(spec)
    checkpoint = storage.runs().at(outcome.checkpoint_path)
    files = {MODEL_FILE: checkpoint / MODEL_FILE, "preprocessor.json": data.preprocessor.dumps().encode()}
    if spec.model.code:
        files["model_code.py"] = Path(spec.resolve(spec.model.code)).read_bytes()
    metadata = {
        "task": spec.data.task,
        "output_dim": spec.data.output_dim,
        "model_params": resolved.pop("model_params"),
        "train_params": resolved,
        "params": outcome.params,
        "metrics": outcome.metrics,
        "metric": dict(zip(("name", "mode"), spec.metric)),
        "input_schema": data.preprocessor.input_schema,
        "label_stats": data.preprocessor.label_stats,
        "spec": spec.model_dump(mode="json"),
        "spec_hash": spec_hash(spec),
        "run_name": outcome.run_name,
        "checkpoint": checkpoint.display,
        "data": data.info,
        **(lineage or {}),
    }
    return ModelRegistry(storage.models()).register(spec.name, files, metadata)
