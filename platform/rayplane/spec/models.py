"""The workload spec: pydantic models that reject unknown keys and say how to fix the input.

One YAML file describes the whole path (data -> train -> tune -> registry -> serve). Every section has
defaults sized for a laptop or a 2-core CI box; ``"auto"`` values are resolved against the cluster at
run time (see ``rayplane.training.resources``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rayplane.spec.suggest import did_you_mean

NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,46}[a-z0-9]$"
URI_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

# Hyperparameters that the training loop owns; every other search-space key must be a model param.
TRAIN_HYPERPARAMS = ("lr", "batch_size", "weight_decay", "epochs")

TASK_METRICS = {
    "binary": ("val_auc", "max"),
    "multiclass": ("val_accuracy", "max"),
    "regression": ("val_rmse", "min"),
}
# What the training loop reports each epoch, by task; tune.metric must be one of these.
REPORTED_METRICS = {
    "binary": ("val_auc", "val_accuracy", "val_loss", "loss"),
    "multiclass": ("val_accuracy", "val_loss", "loss"),
    "regression": ("val_rmse", "val_mae", "val_loss", "loss"),
}
LOWER_IS_BETTER = ("loss", "val_loss", "val_rmse", "val_mae")
# What the promotion gate can compute on a holdout (the training loss is not a holdout figure).
GATE_METRICS = {task: tuple(m for m in metrics if m != "loss") for task, metrics in REPORTED_METRICS.items()}


SECRET_IN_URI = "secret_in_uri"
# Query keys of pyarrow filesystem URIs that carry a secret.
SECRET_QUERY_KEYS = ("access_key", "secret_key", "session_token", "account_key", "sas_token", "client_secret")


def no_credentials(uri: str | None) -> str | None:
    """A URI without secrets in it: they would reach the registry's metadata, logs and rendered manifests."""
    if uri is None or not URI_RE.match(uri):
        return uri
    authority = uri.split("://", 1)[1].split("/", 1)[0]
    query = uri.partition("?")[2].lower()
    if "@" in authority and ":" in authority.split("@", 1)[0] or any(f"{k}=" in query for k in SECRET_QUERY_KEYS):
        # Its own error type, so that the message never repeats the value (the secret) back.
        raise PydanticCustomError(
            SECRET_IN_URI, "holds credentials; give them through the environment or the provider's chain instead "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, an instance or pod identity), never in the URI")
    return uri


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Features(StrictModel):
    numeric: list[str] = Field(default_factory=list, description="Numeric input columns.")
    categorical: list[str] = Field(default_factory=list, description="Categorical input columns.")

    @model_validator(mode="after")
    def _check(self) -> Features:
        if not self.numeric and not self.categorical:
            raise ValueError("declare at least one column under 'numeric' or 'categorical'")
        seen: set[str] = set()
        for col in [*self.numeric, *self.categorical]:
            if col in seen:
                raise ValueError(f"column {col!r} is listed twice")
            seen.add(col)
        return self

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class Preprocessing(StrictModel):
    scaling: Literal["standard", "minmax", "none"] = "standard"
    impute_numeric: Literal["mean", "zero"] = "mean"
    max_categories: int = Field(64, ge=1, le=100_000, description="Most frequent categories kept per column; the rest share one bucket.")


class Prepare(StrictModel):
    script: str = Field(description="Python file (relative to the spec) with prepare(output_dir, shards, rows, seed).")
    shards: int = Field(8, ge=1, le=100_000)
    rows: int | None = Field(None, ge=1, description="Rows to generate, for generators; None keeps all source rows.")
    seed: int = 0


class DataSpec(StrictModel):
    path: str = Field(min_length=1, description="Directory, glob or URI (s3://, gs://, hdfs://, file://) of Parquet shards.")
    label: str
    task: Literal["binary", "multiclass", "regression"]
    features: Features
    num_classes: int | None = Field(None, ge=3, description="Required for multiclass: labels are 0..num_classes-1.")
    preprocessing: Preprocessing = Field(default_factory=Preprocessing)
    validation_fraction: float = Field(0.2, gt=0.0, lt=1.0)
    split_seed: int = 42
    prepare: Prepare | None = None

    _path_without_credentials = field_validator("path")(no_credentials)

    @model_validator(mode="after")
    def _check(self) -> DataSpec:
        if self.label in self.features.all:
            raise ValueError(f"label {self.label!r} is also listed as a feature")
        if self.task == "multiclass" and self.num_classes is None:
            raise ValueError("task 'multiclass' needs num_classes")
        if self.task != "multiclass" and self.num_classes is not None:
            raise ValueError(f"num_classes applies only to task 'multiclass', not {self.task!r}")
        return self

    @property
    def output_dim(self) -> int:
        return self.num_classes if self.task == "multiclass" else 1


class ModelSpec(StrictModel):
    code: str | None = Field(
        None,
        description="Python file (relative to the spec) defining build_model(input_dim, output_dim, **params) "
        "-> torch.nn.Module. Omit it for the built-in MLP (params: hidden, layers, dropout).",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="Default keyword arguments of build_model.")


class WorkerRange(StrictModel):
    min: int = Field(1, ge=1)
    max: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _check(self) -> WorkerRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class TrainSpec(StrictModel):
    num_workers: WorkerRange = Field(
        default_factory=WorkerRange,
        description="Elastic range of data-parallel workers; the run starts with what it gets and grows to max.",
    )
    cpus_per_worker: float | Literal["auto"] = Field(
        "auto", description="'auto' leaves CPU for Ray Data (on 2 CPUs a full CPU per worker starves ingest)."
    )
    epochs: int = Field(3, ge=1, le=10_000)
    batch_size: int = Field(1024, ge=1, le=1_048_576)
    lr: float = Field(1e-3, gt=0.0, le=10.0)
    weight_decay: float = Field(0.0, ge=0.0)
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    checkpoint_every: int = Field(1, ge=1, description="Checkpoint every N epochs; a worker restart redoes at most "
                                  "N + 1 (Ray Train may not have collected the last report yet).")
    max_failures: int = Field(2, ge=-1, description="Worker-group restarts before the run fails (-1: unlimited).")

    @field_validator("cpus_per_worker")
    @classmethod
    def _positive(cls, v: float | str) -> float | str:
        if v != "auto" and not 0 < float(v) <= 512:
            raise ValueError("must be 'auto' or a number in (0, 512]")
        return v


class LogUniform(StrictModel):
    type: Literal["loguniform"]
    low: float = Field(gt=0.0)
    high: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _order(self):
        return _check_bounds(self)


class Uniform(StrictModel):
    type: Literal["uniform"]
    low: float
    high: float

    @model_validator(mode="after")
    def _order(self):
        return _check_bounds(self)


class IntRange(StrictModel):
    type: Literal["int"]
    low: int
    high: int
    log: bool = False

    @model_validator(mode="after")
    def _order(self):
        if self.log and self.low <= 0:
            raise ValueError("log-scaled int ranges need low > 0")
        return _check_bounds(self)


class Choice(StrictModel):
    type: Literal["choice"]
    values: list[Any] = Field(min_length=1)


def _check_bounds(dim):
    if dim.low >= dim.high:
        raise ValueError(f"low ({dim.low}) must be below high ({dim.high})")
    return dim


SearchDimension = Annotated[Union[LogUniform, Uniform, IntRange, Choice], Field(discriminator="type")]


class Asha(StrictModel):
    grace_period: int = Field(1, ge=1, description="Epochs every trial runs before it can be stopped.")
    reduction_factor: float = Field(2.0, gt=1.0)


class TuneSpec(StrictModel):
    num_samples: int = Field(4, ge=1, le=100_000, description="Trials in the search.")
    metric: str | None = Field(None, description="Defaults by task: val_auc (binary), val_accuracy, val_rmse.")
    mode: Literal["min", "max"] | None = None
    max_concurrent_trials: int | Literal["auto"] = "auto"
    seed: int = 0
    n_startup_trials: int = Field(2, ge=1, description="Random trials before TPE models the search space.")
    early_stopping: Asha | None = Field(default_factory=Asha, description="ASHA; null disables early stopping.")
    search_space: dict[str, SearchDimension] = Field(default_factory=dict)

    @field_validator("max_concurrent_trials")
    @classmethod
    def _positive(cls, v: int | str) -> int | str:
        if v != "auto" and v < 1:
            raise ValueError("must be 'auto' or at least 1")
        return v


class ReplicaAutoscaling(StrictModel):
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    target_ongoing_requests: float = Field(16.0, gt=0.0)

    @model_validator(mode="after")
    def _check(self) -> ReplicaAutoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is greater than max_replicas ({self.max_replicas})")
        return self


class ServeSpec(StrictModel):
    route_prefix: str | None = Field(None, description="Defaults to /<name>.")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    autoscaling: ReplicaAutoscaling = Field(default_factory=ReplicaAutoscaling)
    cpus_per_replica: float = Field(0.5, gt=0.0)
    max_ongoing_requests: int = Field(64, ge=1)
    max_batch_size: int = Field(64, ge=1, le=100_000)
    batch_wait_timeout_s: float = Field(0.005, ge=0.0, le=10.0)
    max_records_per_request: int = Field(10_000, ge=1, description="Larger bodies get 413.")

    @field_validator("route_prefix")
    @classmethod
    def _slash(cls, v: str | None) -> str | None:
        if v is not None and (not v.startswith("/") or v.endswith("/") and v != "/"):
            raise ValueError("must start with '/' and not end with one")
        return v


class PromotionSpec(StrictModel):
    metric: str | None = Field(None, description="The gate's metric; defaults to the one tuning optimises.")
    min_delta: float = Field(
        0.0, description="How much better than the champion, in the metric's direction, a challenger must score "
        "on the holdout to be promoted; a negative value tolerates that much of a loss.")
    holdout: str | None = Field(
        None, min_length=1, description="Parquet path or URI both versions are scored on; defaults to the "
        "validation split of data.path (recomputed with data.split_seed).")
    max_rows: int = Field(200_000, ge=1, le=50_000_000, description="Holdout rows scored (the first ones, in "
                          "file order): the gate runs in one process, with pandas.")

    _holdout_without_credentials = field_validator("holdout")(no_credentials)


class StorageSpec(StrictModel):
    root: str = Field(
        "~/.rayplane",
        min_length=1,
        description="A path or any pyarrow filesystem URI (s3://bucket/prefix, gs://, abfs://): runs and "
        "checkpoints go under <root>/runs, model versions under <root>/models. RAYPLANE_HOME overrides the "
        "default. On a multi-node cluster use an object store URI, or a volume every node mounts with shared: true.",
    )
    _root_without_credentials = field_validator("root")(no_credentials)

    shared: bool = Field(
        False, description="Declares a local root a mount every node shares (NFS, a ReadWriteMany volume); "
        "RAYPLANE_STORAGE_SHARED=1 declares the same from the environment (the chart sets it with its volume).",
    )


class MonitoringSpec(StrictModel):
    drift_threshold: float = Field(
        0.2, gt=0.0, description="A feature drifts when its population stability index (PSI) against the training "
        "data exceeds this; 0.1-0.2 is the usual 'moderate' band, above 0.2 'significant'.",
    )


class WorkloadSpec(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="Lower-case name; also the route and the registry key.")
    description: str = ""
    data: DataSpec
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    tune: TuneSpec = Field(default_factory=TuneSpec)
    serve: ServeSpec = Field(default_factory=ServeSpec)
    promotion: PromotionSpec = Field(default_factory=PromotionSpec)
    storage: StorageSpec = Field(default_factory=StorageSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @model_validator(mode="after")
    def _check(self) -> WorkloadSpec:
        allowed = set(TRAIN_HYPERPARAMS) | set(self.model.params)
        if self.model.code is None:
            allowed |= {"hidden", "layers", "dropout"}
        for key in self.tune.search_space:
            if key not in allowed:
                raise ValueError(
                    f"tune.search_space.{key}: not a training hyperparameter ({', '.join(TRAIN_HYPERPARAMS)}) "
                    f"nor a key of model.params{did_you_mean(key, sorted(allowed))}"
                )
        if self.tune.metric is None and self.tune.mode is not None:
            raise ValueError("tune.mode: set without tune.metric; set both, or neither for the task's default")
        reported = REPORTED_METRICS[self.data.task]
        if self.tune.metric is not None and self.tune.metric not in reported:
            raise ValueError(
                f"tune.metric: {self.tune.metric!r} is not reported for task {self.data.task!r} "
                f"(choose from {', '.join(reported)}){did_you_mean(self.tune.metric, reported)}"
            )
        gate = GATE_METRICS[self.data.task]
        if self.promotion.metric is not None and self.promotion.metric not in gate:
            raise ValueError(
                f"promotion.metric: {self.promotion.metric!r} cannot be computed on a holdout for task "
                f"{self.data.task!r} (choose from {', '.join(gate)}){did_you_mean(self.promotion.metric, gate)}"
            )
        return self

    # -- resolved views --------------------------------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """Directory relative paths in the spec are resolved against (the spec file's directory)."""
        return self._base_dir

    def resolve(self, path: str) -> str:
        """A URI stays as it is; a relative path is taken from the spec file's directory."""
        if URI_RE.match(path):
            return path
        p = Path(path).expanduser()
        return str(p if p.is_absolute() else (self._base_dir / p).resolve())

    @property
    def data_path(self) -> str:
        return self.resolve(self.data.path)

    @property
    def route_prefix(self) -> str:
        return self.serve.route_prefix or f"/{self.name}"

    @property
    def metric(self) -> tuple[str, str]:
        """The (metric, mode) that tuning optimises and the registry ranks by."""
        if self.tune.metric is not None:
            return self.tune.metric, self.tune.mode or ("min" if self.tune.metric in LOWER_IS_BETTER else "max")
        return TASK_METRICS[self.data.task]

    @property
    def gate_metric(self) -> tuple[str, str]:
        """The (metric, mode) the promotion gate compares: promotion.metric, else tuning's (val_loss for loss)."""
        metric = self.promotion.metric or self.metric[0]
        metric = "val_loss" if metric == "loss" else metric
        return metric, "min" if metric in LOWER_IS_BETTER else "max"

    @property
    def storage_root(self) -> str:
        root = self.storage.root
        if root == StorageSpec.model_fields["root"].default and os.environ.get("RAYPLANE_HOME"):
            root = os.environ["RAYPLANE_HOME"]
        return self.resolve(root)

    @property
    def storage_shared(self) -> bool:
        return self.storage.shared or os.environ.get("RAYPLANE_STORAGE_SHARED", "").lower() in ("1", "true", "yes")
