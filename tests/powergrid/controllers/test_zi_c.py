"""The zero-intelligence-constrained trader: random limit prices that never risk a loss, seeded; and markets in
which the mechanism matters."""

from __future__ import annotations

import numpy as np

from powergrid.controllers import make_controller
from powergrid.engine import CommunityEngine
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


def test_zi_c_prices_stay_within_the_budget_constraint_and_repeat(tiny_community):
    a, b = make_controller("zi-c"), make_controller("zi-c")
    a.reset(tiny_community)
    b.reset(tiny_community)
    engine = CommunityEngine(tiny_community)
    spread = []
    for _ in range(12):
        obs = engine.observe()
        x, y = a.act(obs), b.act(obs)
        np.testing.assert_array_equal(x.limit_price, y.limit_price)  # seeded by the scenario and the step
        buyers, sellers = x.trade_kw > 0, x.trade_kw < 0
        assert np.all(x.limit_price[buyers] <= obs.price_cap)
        assert np.all(x.limit_price[buyers] >= obs.price_floor)
        assert np.all(x.limit_price[sellers] >= obs.price_floor)
        assert np.all(x.limit_price[sellers] <= obs.price_cap)
        spread.append(np.ptp(x.limit_price[buyers | sellers]) if (buyers | sellers).any() else 0.0)
        engine.step(x, obs)
    assert max(spread) > 0.01  # prices really are drawn, not cap/floor


def test_the_mechanism_changes_who_gains_and_how_much_trades():
    costs, volume = {}, {}
    for mechanism in ("uniform", "pay-as-bid", "mcafee"):
        raw = tiny_dict(market={"mechanism": mechanism, "fee_per_kwh": 0.01})
        outcome = run_controllers(build_community(load_scenario(raw)), ["zi-c"])["zi-c"]
        costs[mechanism] = outcome.kpis.agents["cost"]
        volume[mechanism] = outcome.kpis.community["p2p_volume_kwh"]
    assert np.abs(costs["uniform"] - costs["pay-as-bid"]).max() > 1e-3  # transfers differ per household
    assert volume["mcafee"] < volume["uniform"]  # the trade reduction leaves the marginal traders out
