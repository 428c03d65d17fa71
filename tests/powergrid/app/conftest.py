"""Run directories written once per session for the dashboard and report tests: the tiny scenario with a ledger,
grid-only and truthful-bidder, two seeds (for confidence bands), and one run on the CIGRE LV feeder."""

from __future__ import annotations

from pathlib import Path

import pytest

from powergrid.app.callbacks import Dashboard
from powergrid.runner.compare import write_comparison
from powergrid.scenarios import load_scenario
from scenario_factory import tiny_dict

SEEDS = (3, 4)


@pytest.fixture(scope="session")
def runs_folder(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for seed in SEEDS:
        spec = load_scenario(tiny_dict(ledger=True), seed=seed)
        write_comparison(spec, ["grid-only", "truthful-bidder"], root / "tiny" / f"seed{seed}")
    feeder = load_scenario(tiny_dict(name="tiny-feeder", network={"feeder": "cigre-lv"}))
    write_comparison(feeder, ["truthful-bidder"], root / "feeder" / "truthful-bidder", single=True)
    return root


@pytest.fixture
def dashboard(runs_folder) -> Dashboard:
    return Dashboard(runs_folder)
