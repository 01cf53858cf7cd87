"""The promotion gate: a challenger and the champion scored on the same holdout with the same metric code as
training's validation (``ValidationAccumulator``), and the rule that decides between them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from rayplane.errors import PromotionError
from rayplane.modeling.predictor import Predictor
from rayplane.modeling.tasks import loss_fn
from rayplane.promotion.holdout import Holdout
from rayplane.registry import ModelVersion
from rayplane.spec import WorkloadSpec
from rayplane.training.evaluate import ValidationAccumulator


@dataclass(frozen=True)
class Scores:
    metric: str
    holdout: str
    rows: int
    values: dict[str, float]  # name (a version's uri) -> metric


def score(spec: WorkloadSpec, predictors: dict[str, Predictor], metric: str | None = None) -> Scores:
    """Each predictor's ``metric`` (default: the gate's) on the spec's holdout, in one pass over its rows."""
    metric = metric or spec.gate_metric[0]
    task = spec.data.task
    for name, predictor in predictors.items():
        if predictor.task != task:
            raise PromotionError(f"{name} was trained for task {predictor.task!r}, the spec's data.task is "
                                 f"{task!r}: they cannot be scored on the same holdout")
    holdout = Holdout.of(spec)
    sums = {name: ValidationAccumulator(task, p.preprocessor.label_stats, loss_fn(task))
            for name, p in predictors.items()}
    rows = 0
    for frame in holdout.frames():
        rows += len(frame)
        for name, predictor in predictors.items():
            # Each version's own preprocessing: a regression version standardises labels with its own statistics.
            labels = torch.from_numpy(predictor.preprocessor.transform_labels(frame[holdout.label]))
            sums[name].update(predictor.outputs(frame), labels)
    if rows == 0:
        raise PromotionError(f"{holdout.field}: no labelled holdout rows in {holdout.describe()} to score on")
    return Scores(metric, holdout.describe(), rows, {name: acc.compute()[metric] for name, acc in sums.items()})


@dataclass(frozen=True)
class Decision:
    metric: str
    mode: str
    min_delta: float
    holdout: str
    rows: int
    challenger: str
    challenger_value: float
    champion: str
    champion_value: float

    @property
    def gain(self) -> float:
        """How much better the challenger is, in the metric's direction."""
        difference = self.challenger_value - self.champion_value
        return difference if self.mode == "max" else -difference

    @property
    def passed(self) -> bool:
        return self.gain >= self.min_delta

    def describe(self) -> str:
        return (f"{self.metric} ({self.mode}) on {self.holdout}, {self.rows:,} rows: challenger {self.challenger} "
                f"{self.challenger_value:.4f}, champion {self.champion} {self.champion_value:.4f} "
                f"(gain {self.gain:+.4f}, promotion.min_delta {self.min_delta:g})")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gain": self.gain, "passed": self.passed}


def judge(spec: WorkloadSpec, challenger: ModelVersion, champion: ModelVersion) -> Decision:
    metric, mode = spec.gate_metric
    scores = score(spec, {v.uri: Predictor(v) for v in (challenger, champion)}, metric)
    return Decision(metric, mode, spec.promotion.min_delta, scores.holdout, scores.rows,
                    challenger.uri, scores.values[challenger.uri], champion.uri, scores.values[champion.uri])
