"""Individual, shared and central (storage-agent) batteries: conservation, capacity, accounting, errors."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine
from powergrid.errors import ScenarioError
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

SHARED = {"battery": {"capacity_kwh": 40.0, "power_kw": 12.0, "initial_soc": 0.5}}


def shared_community(**shared):
    raw = tiny_dict(
        agents=[{"kind": "pv-only", "count": 4}, {"kind": "consumer", "count": 2}], shared_battery={**SHARED, **shared}
    )
    return build_community(load_scenario(raw))


def central_community():
    raw = tiny_dict(
        agents=[
            {"kind": "pv-only", "count": 4},
            {"kind": "consumer", "count": 3},
            {"kind": "storage", "ids": ["community-battery"], "battery": {"capacity_kwh": 60.0, "power_kw": 20.0}},
        ]
    )
    return build_community(load_scenario(raw))


def run_random(community, steps=48, seed=0):
    engine = CommunityEngine(community)
    rng = np.random.default_rng(seed)
    n = community.n_agents
    results = []
    for _ in range(steps):
        a = Actions(rng.normal(0, 15, n), rng.normal(0, 15, n), rng.uniform(0, 0.5, n))
        results.append(engine.step(a))  # the engine's own checker raises on any imbalance
    return results


def test_shared_battery_accounts_split_capacity_and_power_and_conserve_energy():
    c = shared_community()
    fleet = c.agents.battery
    assert fleet.capacity_kwh.sum() == pytest.approx(40.0)
    assert fleet.power_kw.sum() == pytest.approx(12.0)
    np.testing.assert_allclose(fleet.capacity_kwh, 40.0 / 6)
    for r in run_random(c):
        assert (r.soc <= fleet.soc_max_kwh + 1e-9).all()
        assert (r.soc >= -1e-9).all()
        assert (r.charge + r.discharge <= fleet.power_kw * c.grid.dt_hours + 1e-9).all()
        assert r.soc.sum() <= 40.0 + 1e-9  # the whole battery is never over-full
        assert (r.charge - r.discharge).sum() / c.grid.dt_hours <= 12.0 + 1e-9


def test_shared_battery_shares_and_errors():
    c = shared_community(shares={"h000": 0.5, "h001": 0.25, "h004": 0.25})
    np.testing.assert_allclose(c.agents.battery.capacity_kwh, [20, 10, 0, 0, 10, 0])
    with pytest.raises(ScenarioError, match=r"shares must sum to 1, got 0\.75"):
        shared_community(shares={"h000": 0.5, "h001": 0.25})
    with pytest.raises(ScenarioError, match="not households of this scenario: \\['ghost'\\]"):
        shared_community(shares={"ghost": 1.0})
    with pytest.raises(ScenarioError, match="use kind 'pv-only' instead of 'prosumer'"):
        build_community(load_scenario(tiny_dict(shared_battery=SHARED)))
    raw = tiny_dict(agents=[{"kind": "pv-only", "count": 2}], shared_battery=SHARED, network={"feeder": "cigre-lv"})
    with pytest.raises(ScenarioError, match="shared_battery with a network: not supported yet"):
        build_community(load_scenario(raw))


def test_central_battery_is_an_operator_agent_with_no_load_and_strict_limits():
    c = central_community()
    k = c.agents.ids.index("community-battery")
    assert (c.profiles.load_kw[:, k] == 0).all()
    assert (c.profiles.pv_kw[:, k] == 0).all()
    fleet = c.agents.battery
    assert fleet.capacity_kwh[k] == 60.0
    assert (np.delete(fleet.capacity_kwh, k) == 0).all()
    for r in run_random(c, seed=3):
        assert 0 - 1e-9 <= r.soc[k] <= 60.0 + 1e-9
        assert max(r.charge[k], r.discharge[k]) <= 20.0 * c.grid.dt_hours + 1e-9
        # it has nothing of its own: everything it stores is bought, everything it releases is sold or exported
        assert r.charge[k] == pytest.approx(r.bought[k] + r.imported[k])
        assert r.discharge[k] == pytest.approx(r.sold[k] + r.exported[k])


def test_the_central_battery_stores_community_surplus_under_greedy_and_mpc():
    c = central_community()
    k = c.agents.ids.index("community-battery")
    for controller in ("greedy", "mpc"):
        totals = simulate(c, controller)
        assert totals.agent["bought"][k] > 1.0, controller  # it buys neighbours' surplus through the market
        assert totals.agent["discharge"][k] > 1.0, controller
    assert simulate(c, "self-consumption").agent["charge"][k] == 0  # nothing of its own to self-consume
