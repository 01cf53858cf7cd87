"""Seasonal drift on the real flights: winter against a summer-fitted version shows weather drift, the summer
against itself none. The version is fitted and registered as tests/served_model.py does it (Ray Data fits the
real Preprocessor; a few in-process steps train the network), since drift reads only its training statistics.

The full lifecycle (warm start from January-September on October-December against a from-scratch model on
all months, with Ray Train) is workloads/flights_delay/lifecycle.py, measured in docs/lifecycle.md.
"""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest
import yaml

from rayplane.cli.main import main
from rayplane.spec import load_spec
from served_model import train_and_register
from tests_helpers import REPO

WEATHER = {"temp", "dewp"}


@pytest.mark.timeout(300)
def test_winter_against_a_summer_version_shows_weather_drift(ray_session, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("lifecycle", REPO / "workloads" / "flights_delay" / "lifecycle.py")
    lifecycle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lifecycle)
    dirs = lifecycle.split_by_months(rows=6000, work=tmp_path)

    raw = yaml.safe_load((REPO / "workloads" / "flights_delay" / "workload.yaml").read_text())
    raw.update(data={**raw["data"], "path": str(dirs["summer"])}, storage={"root": str(tmp_path / "home")})
    raw["model"].pop("code")
    spec_path = tmp_path / "workload.yaml"
    spec_path.write_text(yaml.safe_dump(raw))
    version = train_and_register(load_spec(spec_path), pd.read_parquet(dirs["summer"]))

    reports = {}
    for season in ("winter", "summer"):
        code = main(["drift", str(spec_path), "--version", str(version.version), "--data", str(dirs[season]),
                     "--json"])
        reports[season] = (code, json.loads(capsys.readouterr().out))
    code, winter = reports["winter"]
    assert code == 3 and WEATHER <= set(winter["drifted"]), winter["drifted"]
    assert "month" in winter["drifted"]  # the calendar itself moved, as it should
    psi = {f["feature"]: f["psi"] for f in winter["features"]}
    assert psi["carrier"] < 0.2 and psi["origin"] < 0.2, psi
    code, summer = reports["summer"]
    assert code == 0 and summer["drifted"] == [], summer
