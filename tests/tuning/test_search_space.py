"""The spec's search space as trials see it: every sampled value within the spec's inclusive [low, high].

Sampled two ways: straight from the Ray Tune domains ``to_tune_space`` builds, and through the seeded OptunaSearch
that a tuning run uses (Tune hands it the same domains and it converts them to Optuna's distributions), with
results reported back so TPE, not only its random start, proposes values.
"""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from ray.tune.search.optuna import OptunaSearch
from rayplane.spec import load_spec
from rayplane.tuning.search_space import to_tune_space

SPACE = {
    "lr": {"type": "loguniform", "low": 1e-4, "high": 1e-2},
    "dropout": {"type": "uniform", "low": 0.1, "high": 0.3},
    "layers": {"type": "int", "low": 1, "high": 4},
    "hidden": {"type": "int", "low": 1, "high": 8, "log": True},
    "activation": {"type": "choice", "values": ["relu", "gelu", 3, None]},
}
SAMPLES = 600


def search_space():
    return load_spec({
        "name": "space",
        "data": {"path": "data", "task": "binary", "label": "y", "features": {"numeric": ["a"]}},
        "model": {"params": {"dropout": 0.1, "layers": 2, "hidden": 4, "activation": "relu"}},
        "tune": {"search_space": SPACE},
    }, base_dir="/tmp").tune.search_space


def from_tune_domains(space) -> dict[str, list]:
    rng = np.random.default_rng(0)
    return {name: list(domain.sample(size=SAMPLES, random_state=rng)) for name, domain in to_tune_space(space).items()}


def from_optuna_search(space) -> dict[str, list]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    searcher = OptunaSearch(sampler=optuna.samplers.TPESampler(n_startup_trials=10, seed=0))
    # What tune.Tuner does with the param_space: the searcher converts the Tune domains itself.
    assert searcher.set_search_properties("score", "max", to_tune_space(space))
    values: dict[str, list] = {name: [] for name in space}
    for i in range(SAMPLES):
        config = searcher.suggest(f"t{i}")
        for name, value in config.items():
            values[name].append(value)
        # A score that rewards a small lr: TPE then samples around one end of the range, and must stay inside it.
        searcher.on_trial_complete(f"t{i}", {"score": -math.log(config["lr"])})
    return values


@pytest.fixture(scope="module", params=[from_tune_domains, from_optuna_search], ids=["tune-domains", "optuna"])
def sampled(request) -> dict[str, list]:
    return request.param(search_space())


def test_every_value_lies_within_the_inclusive_bounds(sampled):
    for name, dim in SPACE.items():
        if dim["type"] == "choice":
            continue
        values = sampled[name]
        assert len(values) == SAMPLES
        assert dim["low"] <= min(values) and max(values) <= dim["high"], (name, min(values), max(values))


def test_int_ranges_give_integers_including_both_ends(sampled):
    for name in ("layers", "hidden"):
        values = sampled[name]
        assert all(isinstance(v, (int, np.integer)) for v in values), name
        # Tune's integer ranges exclude their upper bound: the spec's high must still be reachable.
        assert set(values) == set(range(SPACE[name]["low"], SPACE[name]["high"] + 1)), (name, sorted(set(values)))


def test_choice_gives_only_and_every_listed_value(sampled):
    assert set(sampled["activation"]) == {"relu", "gelu", 3, None}


def test_log_scaled_dimensions_favour_the_low_end():
    """On a log scale half the mass lies below the geometric mean; a uniform draw would put ~9% of lr there."""
    values = from_tune_domains(search_space())
    low, high = SPACE["lr"]["low"], SPACE["lr"]["high"]
    below = np.mean(np.array(values["lr"]) < math.sqrt(low * high))
    assert 0.43 < below < 0.57, below
    # log int 1..8: 1 is drawn far more often than 8, unlike the uniform 1..4 whose ends are drawn alike.
    hidden = np.array(values["hidden"])
    assert np.mean(hidden == 1) > 3 * np.mean(hidden == 8)
    dropout = np.array(values["dropout"])
    assert 0.43 < np.mean(dropout < 0.2) < 0.57


def test_optuna_sees_the_spec_bounds_and_scales():
    distributions = OptunaSearch.convert_search_space(to_tune_space(search_space()))
    assert (distributions["lr"].low, distributions["lr"].high, distributions["lr"].log) == (1e-4, 1e-2, True)
    assert (distributions["dropout"].low, distributions["dropout"].high, distributions["dropout"].log) == (0.1, 0.3,
                                                                                                         False)
    assert (distributions["layers"].low, distributions["layers"].high, distributions["layers"].log) == (1, 4, False)
    assert (distributions["hidden"].low, distributions["hidden"].high, distributions["hidden"].log) == (1, 8, True)
    assert distributions["activation"].choices == ("relu", "gelu", 3, None)
