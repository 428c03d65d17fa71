"""The public API: ``from powergrid import …`` gives the names a user needs, each loaded on first use, and
``compare`` is the comparison ``heron compare`` runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import powergrid
from powergrid import EnergyMarketEnv, KPIReport, MultiAgentMicrogrids, compare, load_scenario, simulate
from powergrid.analytics.totals import RunTotals
from powergrid.cli import app
from powergrid.errors import HeronGridError
from powergrid.ledger.run_directory import COMPARISON_CSV, KPIS
from powergrid.scenarios.model import Scenario

PUBLIC = {
    "load_scenario": "powergrid.scenarios.loader",
    "simulate": "powergrid.runner.simulate",
    "compare": "powergrid.runner.compare",
    "EnergyMarketEnv": "powergrid.envs.energy_market",
    "MultiAgentMicrogrids": "powergrid.envs.multi_agent_microgrids",
    "KPIReport": "powergrid.analytics.kpis",
}
#: 48 hourly steps of five households: a comparison takes a fraction of a second.
SHORT = "community-5"


def test_all_lists_exactly_the_public_api():
    assert sorted(powergrid.__all__) == sorted(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_name_is_the_object_of_its_home_module(name):
    value = getattr(powergrid, name)
    assert value.__module__ == PUBLIC[name]
    assert getattr(sys.modules[PUBLIC[name]], name) is value
    assert name in dir(powergrid)


def test_the_names_imported_at_the_top_are_the_public_objects():
    imported = (load_scenario, simulate, compare, EnergyMarketEnv, MultiAgentMicrogrids, KPIReport)
    assert [getattr(powergrid, obj.__name__) for obj in imported] == list(imported)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        powergrid.nothing_here  # noqa: B018


def test_importing_the_package_loads_no_submodule_and_no_numpy():
    code = "import sys, powergrid; print(sorted(m for m in sys.modules if m.startswith(('powergrid.', 'numpy'))))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def reports() -> dict[str, KPIReport]:
    return compare(SHORT, ["self-consumption", "truthful-bidder"], seed=1)


def test_compare_returns_one_kpi_report_per_controller_in_order(reports):
    assert list(reports) == ["self-consumption", "truthful-bidder"]
    assert all(isinstance(r, KPIReport) for r in reports.values())


def test_compare_reports_carry_the_headline_cost(reports):
    costs = [r.community["cost"] for r in reports.values()]
    assert all(isinstance(c, float) and np.isfinite(c) for c in costs)


def test_compare_reports_savings_against_the_grid_only_baseline(reports):
    baseline = simulate(load_scenario(SHORT, seed=1), "grid-only")
    assert isinstance(baseline, RunTotals)
    for report in reports.values():
        saved = float(baseline.headline_cost().sum()) - report.community["cost"]
        assert report.community["savings"] == pytest.approx(saved, rel=1e-12, abs=1e-12)


def test_compare_takes_one_name_and_checks_names_before_running():
    assert list(compare(SHORT, "grid-only", seed=1)) == ["grid-only"]
    with pytest.raises(HeronGridError, match="unknown 'no-such-controller'"):
        compare(SHORT, ["grid-only", "no-such-controller"])


def test_the_cli_and_the_function_give_the_same_kpis(reports, tmp_path):
    """``heron compare`` writes what ``compare(..., out=...)`` writes, with the same KPIs as ``compare``."""
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        app, ["compare", SHORT, "--controllers", "self-consumption,truthful-bidder", "--seed", "1", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = compare(SHORT, ["self-consumption", "truthful-bidder"], seed=1, out=tmp_path / "py")
    for folder in (out, tmp_path / "py"):
        assert (folder / COMPARISON_CSV).is_file()
        for name, report in reports.items():
            kpis = json.loads((folder / name / KPIS).read_text(encoding="utf-8"))
            assert kpis["community"]["cost"] == report.community["cost"]
            assert written[name].community["cost"] == report.community["cost"]


def test_load_scenario_gives_a_scenario_for_the_environments():
    scenario = load_scenario(SHORT, seed=1)
    assert isinstance(scenario, Scenario)
    env = EnergyMarketEnv(scenario, seed=1)
    assert len(env.possible_agents) == 5
