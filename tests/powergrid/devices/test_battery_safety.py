"""Battery fleet physics and the FeasibilityFilter under arbitrary (hypothesis-generated) actions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, (12, 8, 3), elements=ANY_FLOAT))
def test_soc_never_leaves_bounds_under_arbitrary_actions(tiny_community_factory, actions):
    engine = CommunityEngine(tiny_community_factory)
    fleet = tiny_community_factory.agents.battery
    for step in actions:
        r = engine.step(Actions(step[:, 0], step[:, 1], step[:, 2]))
        assert np.all(r.soc >= fleet.soc_min_kwh - 1e-9)
        assert np.all(r.soc <= fleet.soc_max_kwh + 1e-9)
        assert np.all(np.isfinite(r.cash_cost))
        assert np.all(r.charge <= fleet.power_kw * 1.0 + 1e-9)
        assert np.all(r.discharge <= fleet.power_kw + 1e-9)
        bad = ~np.isfinite(step).all(axis=1)
        np.testing.assert_array_equal(r.interventions.nonfinite, bad)


def test_power_bounds_respect_efficiency_and_ramp(tiny_community):
    fleet = tiny_community.agents.battery
    soc = fleet.soc_max_kwh - 0.95  # room for 1 kWh of AC energy at charge efficiency 0.95
    max_c, max_d = fleet.power_bounds(soc, 1.0, last_power_kw=np.zeros(fleet.n_agents))
    has = fleet.capacity_kwh > 0
    np.testing.assert_allclose(max_c[has], 1.0)
    np.testing.assert_allclose(max_d[has], np.minimum(fleet.power_kw, (soc * 0.95))[has])
    stored = fleet.next_soc(soc, max_c * 1.0, np.zeros(fleet.n_agents))
    np.testing.assert_allclose(stored[has], fleet.soc_max_kwh[has])


def test_ramp_limit_is_symmetric_around_the_last_power(tiny_community):
    fleet = tiny_community.agents.battery
    soc = 0.5 * fleet.capacity_kwh
    n = fleet.n_agents
    limited = type(fleet)(**{**fleet.__dict__, "ramp_kw": np.full(n, 1.0)})
    has = fleet.capacity_kwh > 0
    max_c, max_d = limited.power_bounds(soc, 1.0, last_power_kw=np.full(n, 2.0))
    np.testing.assert_allclose(max_c[has], 3.0)  # 2 + 1, within the 3 kW rating
    np.testing.assert_allclose(-max_d[has], 1.0)  # 2 − 1: slowing down is limited too
    max_c, max_d = limited.power_bounds(soc, 1.0, last_power_kw=np.full(n, -0.5))
    np.testing.assert_allclose(max_c[has], 0.5)
    np.testing.assert_allclose(max_d[has], 1.5)


def test_physics_wins_where_the_ramp_range_is_not_feasible(tiny_community):
    fleet = tiny_community.agents.battery
    n = fleet.n_agents
    limited = type(fleet)(**{**fleet.__dict__, "ramp_kw": np.full(n, 1.0)})
    has = fleet.capacity_kwh > 0
    soc = fleet.soc_min_kwh + 0.5  # 0.475 kWh deliverable, while the ramp asks for at least 2 kW of discharge
    max_c, max_d = limited.power_bounds(soc, 1.0, last_power_kw=np.full(n, -3.0))
    np.testing.assert_allclose(max_d[has], 0.5 * 0.95)
    np.testing.assert_allclose(max_c[has], -0.5 * 0.95)  # the single feasible power nearest the ramp range


def test_the_engine_applies_the_ramp_after_the_last_power_and_counts_the_clip():
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community
    from scenario_factory import tiny_dict

    raw = tiny_dict()
    raw["devices"]["battery"].update(ramp_kw_per_step=1.0, initial_soc=0.0)
    community = build_community(load_scenario(raw))
    engine = CommunityEngine(community)
    n = community.n_agents
    idle = np.zeros(n)
    for power in (1.0, 2.0, 3.0):  # ramp up to 3 kW of charging
        r = engine.step(Actions(np.full(n, power), idle, idle))
    has = community.agents.battery.capacity_kwh > 0
    np.testing.assert_allclose(r.charge[has], 3.0)
    r = engine.step(Actions(idle, idle, idle))  # asks for 0 kW: 2 kW is applied, and flagged
    np.testing.assert_allclose(r.charge[has], 2.0)
    assert r.interventions.battery_clipped[has].all()
