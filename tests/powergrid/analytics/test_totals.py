"""Running totals: one sum per summed result field, the same whether accumulated step by step or rebuilt from the
run directory's files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powergrid.actions import Actions
from powergrid.analytics.results import RunWriter
from powergrid.analytics.totals import HEADLINE_PARTS, NETWORK_SERIES, RunTotals, totals_from_frames
from powergrid.engine import CommunityEngine
from powergrid.engine.result import INTERVENTION_FIELDS, NETWORK_FIELDS, RESULT_FIELDS, Role, Store
from powergrid.ledger.run_directory import NETWORK, TIMESERIES, TRADES
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

N_STEPS = 12


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[RunTotals, RunTotals]:
    """(running totals, totals rebuilt from the files) of a short feeder run with trades and non-finite actions."""
    raw = tiny_dict(name="tiny-feeder", network={"feeder": "cigre-lv"})
    raw["time"]["n_steps"] = N_STEPS
    community = build_community(load_scenario(raw))
    folder = tmp_path_factory.mktemp("run")
    engine = CommunityEngine(community)
    live = RunTotals.for_community(community, N_STEPS)
    writer = RunWriter(folder, community.agents.ids, community.grid.index)
    rng = np.random.default_rng(5)
    n = community.n_agents
    for _ in range(N_STEPS):
        battery, trade, price = rng.normal(0, 6, n), rng.normal(0, 6, n), rng.uniform(0.0, 0.5, n)
        battery[0] = np.nan  # the safety layer replaces agent 0's action every step
        r = engine.step(Actions(battery, trade, price))
        live.add(r)
        writer.add(r)
    writer.close("name: x\n", {})
    frames = (pd.read_parquet(folder / f) for f in (TIMESERIES, TRADES, NETWORK))
    ts, trades, network = frames
    fleet = community.agents.battery
    return live, totals_from_frames(ts, trades, fleet.capacity_kwh, community.grid.dt_hours, network)


def test_one_sum_per_summed_field():
    totals = RunTotals(("a", "b"), np.zeros(2), 1.0, 3)
    assert list(totals.agent) == [f.name for f in RESULT_FIELDS if Role.SUMMED in f.roles]
    assert list(totals.interventions) == [f.name for f in INTERVENTION_FIELDS]
    assert NETWORK_SERIES == tuple(f.name for f in NETWORK_FIELDS if f.stored is Store.NETWORK)


def test_the_headline_cost_adds_its_parts_and_the_storage_rule(run):
    live, _ = run
    assert HEADLINE_PARTS == ("cash_cost", "unserved_cost")  # KPIS.md
    expected = live.agent["cash_cost"] + live.agent["unserved_cost"] + live.storage_adjustment()
    np.testing.assert_array_equal(live.headline_cost(), expected)


def test_running_totals_equal_the_totals_rebuilt_from_the_files(run):
    live, rebuilt = run
    assert live.agent["bought"].sum() > 0  # the run traded
    for name, values in live.agent.items():
        np.testing.assert_allclose(rebuilt.agent[name], values, rtol=1e-12, atol=1e-12, err_msg=name)


def test_intervention_counts_survive_the_files(run):
    live, rebuilt = run
    assert live.interventions["nonfinite"][0] == N_STEPS
    for name, counts in live.interventions.items():
        np.testing.assert_array_equal(rebuilt.interventions[name], counts, err_msg=name)


def test_network_series_survive_the_files(run):
    live, rebuilt = run
    assert live.network is not None and rebuilt.network is not None
    assert set(live.network) == set(rebuilt.network) == set(NETWORK_SERIES)
    for name in NETWORK_SERIES:
        np.testing.assert_allclose(rebuilt.network[name], live.network[name], rtol=1e-12, err_msg=name)
