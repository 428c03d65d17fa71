"""Generators: the device rules, and their path through the engine (safety, settlement, costs, balances)."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.controllers import make_controller
from powergrid.devices.generator import GeneratorFleet
from powergrid.engine import CommunityEngine
from powergrid.errors import ScenarioError
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

GENSET = {
    "capacity_kw": 10.0,
    "min_kw": 2.0,
    "ramp_kw_per_step": 4.0,
    "no_load_cost": 0.5,
    "marginal_cost": 0.20,
    "quadratic_cost": 0.004,
    "startup_cost": 1.5,
}


def fleet() -> GeneratorFleet:
    return GeneratorFleet(
        capacity_kw=np.array([10.0, 0.0]),
        min_kw=np.array([2.0, 0.0]),
        ramp_kw=np.array([4.0, np.inf]),
        no_load_cost=np.array([0.5, 0.0]),
        marginal_cost=np.array([0.2, 0.0]),
        quadratic_cost=np.array([0.004, 0.0]),
        startup_cost=np.array([1.5, 0.0]),
        co2_kg_per_kwh=np.array([0.76, 0.0]),
    )


def test_running_range_follows_min_output_ramp_and_rating():
    low, high = fleet().running_range(np.array([0.0, 0.0]))
    assert low[0] == 2.0 and high[0] == 4.0  # from standstill: min output up to the ramp
    low, high = fleet().running_range(np.array([9.0, 0.0]))
    assert low[0] == 5.0 and high[0] == 10.0  # running at 9: down to 5, up to the rating


@pytest.mark.parametrize(
    ("setpoint", "last", "expected"),
    [(0.9, 0.0, 0.0), (1.1, 0.0, 2.0), (8.0, 0.0, 4.0), (0.0, 9.0, 0.0), (1.0, 9.0, 0.0), (7.0, 9.0, 7.0)],
)
def test_feasible_output_is_off_or_inside_the_running_range(setpoint, last, expected):
    out = fleet().feasible(np.array([setpoint, 5.0]), np.array([last, 0.0]))
    assert out[0] == expected
    assert out[1] == 0.0  # no generator: always off


def test_fuel_cost_is_quadratic_with_no_load_and_start_up():
    cost = fleet().fuel_cost(np.array([5.0, 0.0]), np.array([0.0, 0.0]), 0.5)
    assert cost[0] == pytest.approx((0.5 + 0.2 * 5 + 0.004 * 25) * 0.5 + 1.5)
    running = fleet().fuel_cost(np.array([5.0, 0.0]), np.array([3.0, 0.0]), 0.5)
    assert running[0] == pytest.approx((0.5 + 0.2 * 5 + 0.004 * 25) * 0.5)  # no start-up while running
    assert fleet().marginal_cost_at(np.array([5.0, 0.0]))[0] == pytest.approx(0.24)


def generator_community():
    raw = tiny_dict(
        agents=[
            {"kind": "microgrid", "count": 1, "ids": ["mg"], "generator": GENSET, "pv": {"peak_kw": 0.0}},
            {"kind": "consumer", "count": 2},
        ]
    )
    return build_community(load_scenario(raw))


def test_engine_dispatches_generator_through_safety_settlement_and_costs():
    c = generator_community()
    engine = CommunityEngine(c)
    n = c.n_agents
    outputs = []
    for _ in range(4):
        actions = Actions(np.zeros(n), np.zeros(n), np.zeros(n), generator_kw=np.array([8.0, 5.0, 5.0]))
        r = engine.step(actions)
        outputs.append(r.generation[0])
        assert r.generation[1:].sum() == 0.0  # consumers have no generator
        assert r.interventions.generator_clipped[1:].all()
        assert r.fuel_cost[0] > 0
        assert r.cash_cost[0] == pytest.approx(r.grid_cost[0] + r.fuel_cost[0])
    assert outputs == [4.0, 8.0, 8.0, 8.0]  # start at the ramp, then up to the set-point


def test_generator_energy_exports_what_load_does_not_use():
    c = generator_community()
    engine = CommunityEngine(c)
    n = c.n_agents
    for _ in range(3):
        r = engine.step(Actions(np.zeros(n), np.zeros(n), np.zeros(n), generator_kw=np.array([10.0, 0.0, 0.0])))
    assert r.exported[0] == pytest.approx(max(r.generation[0] - r.load[0] + r.charge[0] - r.discharge[0], 0.0))


def test_nonfinite_generator_setpoint_is_replaced_and_counted():
    c = generator_community()
    engine = CommunityEngine(c)
    n = c.n_agents
    r = engine.step(Actions(np.zeros(n), np.zeros(n), np.zeros(n), generator_kw=np.array([np.nan, 0.0, 0.0])))
    assert r.generation[0] == 0.0
    assert r.interventions.nonfinite[0]


def test_generator_on_a_consumer_is_a_scenario_error():
    raw = tiny_dict(agents=[{"kind": "consumer", "count": 1, "generator": GENSET}])
    with pytest.raises(ScenarioError, match="consumer agent has no generator"):
        load_scenario(raw)


def test_min_output_above_rating_is_a_scenario_error():
    raw = tiny_dict(agents=[{"kind": "microgrid", "count": 1, "generator": {"capacity_kw": 1.0, "min_kw": 2.0}}])
    with pytest.raises(ScenarioError, match="min_kw"):
        load_scenario(raw)


def test_the_gensets_emissions_count_in_co2_with_the_grid_import():
    """co2_kg = imported × grid intensity + generation × the genset's kg/kWh (multi-microgrid: 0.76, diesel)."""
    community = build_community(load_scenario("multi-microgrid"))
    engine = CommunityEngine(community)
    engine.reset(17, 18)  # evening peak: merit-order runs the genset
    obs = engine.observe()
    controller = make_controller("merit-order")
    controller.reset(community)
    result = engine.step(controller.act(obs), obs)
    assert result.generation[0] > 0
    expected = result.imported * result.carbon_kg_per_kwh + result.generation * np.array([0.76, 0.0])
    np.testing.assert_allclose(result.co2_kg, expected)
