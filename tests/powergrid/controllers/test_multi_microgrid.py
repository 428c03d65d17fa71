"""The built-in multi-microgrid scenario: two IEEE 13 microgrids on one upstream bus, run through the engine with
grid-only, merit-order and the oracle; generator dispatch and regulator taps matter."""

from __future__ import annotations

from dataclasses import replace
from functools import cache

import numpy as np
import pytest

from powergrid.analytics.kpis import compute_kpis
from powergrid.controllers.merit_order import MeritOrder, economic_output
from powergrid.devices.regulator import TAP_STEP_PU, tap_rule
from powergrid.errors import ScenarioError
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

STEPS = 48


@cache
def community():
    return build_community(load_scenario("multi-microgrid"))


@cache
def kpis(controller: str) -> dict:
    totals = simulate(community(), controller, stop=STEPS)
    return compute_kpis(totals).community


def test_scenario_has_two_microgrid_sections_with_their_devices():
    c = community()
    assert c.agents.ids == ("MG1", "MG2")
    assert c.agents.generators.capacity_kw.tolist() == [2500.0, 0.0]
    assert c.agents.pv_peak_kw.tolist() == [0.0, 2500.0]
    assert c.network.sectioned
    assert c.network.feeder.n_sections == 2


def test_oracle_bounds_merit_order_which_beats_grid_only():
    assert kpis("oracle")["cost"] <= kpis("merit-order")["cost"] + 1e-6
    assert kpis("merit-order")["cost"] < kpis("grid-only")["cost"]


def test_merit_order_taps_keep_voltages_in_band_where_fixed_taps_do_not():
    assert kpis("grid-only")["voltage_violations"] > 500
    assert kpis("merit-order")["voltage_violations"] < 0.05 * kpis("grid-only")["voltage_violations"]


class FlatOut(MeritOrder):
    """Merit order, but the generator always at its rating."""

    def act(self, obs):
        actions = super().act(obs)
        return replace(actions, generator_kw=obs.generator_high_kw.copy())


def test_running_the_generator_flat_out_costs_more_than_merit_order():
    totals = simulate(community(), FlatOut(), stop=STEPS)
    flat = compute_kpis(totals).community
    assert flat["fuel_cost"] > kpis("merit-order")["fuel_cost"]
    assert flat["cost"] > kpis("merit-order")["cost"]


def test_fuel_cost_is_part_of_the_headline_cost():
    k = kpis("merit-order")
    assert k["fuel_cost"] > 0
    assert k["generation_kwh"] > 0
    assert k["cash_cost"] >= k["fuel_cost"]


def test_economic_output_stops_where_marginal_cost_meets_the_price():
    fleet = community().agents.generators
    out = economic_output(fleet, np.array([0.10, 0.10]))
    assert out.tolist() == [0.0, 0.0]  # off-peak grid energy is cheaper than fuel
    out = economic_output(fleet, 0.22)
    assert out[0] == pytest.approx((0.22 - 0.16) / (2 * 0.00002))


@pytest.mark.parametrize(
    ("v_min", "v_max", "expected"),
    [
        (0.99, 1.07, 10 - 4),  # 0.025 pu above high − margin: down 4 steps
        (0.94, 1.00, 10 + 3),  # below the band: up
        (0.99, 1.01, 10),  # inside: hold
        (np.nan, np.nan, 10),  # nothing measured: hold
        (0.955, 1.07, 10),  # down would push the lowest bus out: hold what the band allows (0 steps)
    ],
)
def test_tap_rule_moves_toward_the_band(v_min, v_max, expected):
    out = tap_rule(np.array([10.0]), np.array([v_min]), np.array([v_max]), (0.95, 1.05))
    assert out[0] == expected
    assert TAP_STEP_PU == 0.00625


def microgrid_raw(**network) -> dict:
    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["network"].update(network)
    return raw


def test_a_bus_outside_the_agents_section_is_a_scenario_error():
    with pytest.raises(ScenarioError, match=r"agent_buses\['MG1'\].*not in section 0"):
        build_community(load_scenario(microgrid_raw(agent_buses={"MG1": "MG2.671", "MG2": "MG2.680"})))


def test_an_unknown_bus_name_is_a_scenario_error_with_a_hint():
    with pytest.raises(ScenarioError, match=r"no bus named 'MG1.999'"):
        build_community(load_scenario(microgrid_raw(agent_buses={"MG1": "MG1.999", "MG2": "MG2.680"})))


def test_agent_sections_needs_one_agent_per_section():
    raw = microgrid_raw()
    raw["agents"] = raw["agents"][:1]
    raw["network"]["agent_buses"] = {"MG1": "MG1.671"}
    with pytest.raises(ScenarioError, match="has 2 sections"):
        build_community(load_scenario(raw))


def test_a_multi_microgrid_run_directory_plays_back_on_the_paired_feeder(tmp_path):
    from powergrid.app.rundata import load_run, read_run_info
    from powergrid.app.topology import feeder_topology
    from powergrid.runner.compare import run_controllers

    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["time"]["n_steps"] = 24
    short = build_community(load_scenario(raw))
    (tmp_path / "mo").mkdir()
    run_controllers(short, ["merit-order"], out_dirs={"merit-order": tmp_path / "mo"})
    data = load_run(read_run_info(tmp_path / "mo", "mo"))
    assert data.n_steps == 24
    assert data.facts["bus"].tolist() == short.network.agent_nodes.tolist()
    topology = feeder_topology("ieee13-pair", np.asarray(data.facts["bus"]), "multi-microgrid")
    assert topology.bus_xy.shape == (45, 2)
