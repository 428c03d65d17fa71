"""Orders placed before delivery (``market.gate: forecast``): controllers see the scenario's one-step-ahead
forecast, delivery uses the realised load and PV, and imbalances settle with the grid."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.controllers import make_controller
from powergrid.engine import CommunityEngine
from powergrid.forecasting.scenario import gate_forecasts
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


def community(gate: str, forecaster: str = "seasonal-naive"):
    return build_community(load_scenario(tiny_dict(market={"gate": gate}, mpc={"forecaster": forecaster})))


def test_controllers_see_the_forecast_and_delivery_uses_the_realised_values():
    c = community("forecast")
    engine = CommunityEngine(c)
    load_fc, pv_fc = gate_forecasts(c)
    bidder = make_controller("truthful-bidder")
    bidder.reset(c)
    for t in range(30):
        obs = engine.observe()
        np.testing.assert_array_equal(obs.load_kw, load_fc[t])
        np.testing.assert_array_equal(obs.pv_kw, pv_fc[t])
        r = engine.step(bidder.act(obs), obs)  # balances are checked inside the step
        np.testing.assert_allclose(r.load, c.profiles.load_kw[t] * c.grid.dt_hours)
    assert np.abs(load_fc[24:30] - c.profiles.load_kw[24:30]).max() > 0.01  # forecasts are not the truth
    np.testing.assert_allclose(load_fc[25:30], c.profiles.load_kw[1:6])  # seasonal naive, one step ahead


def test_perfect_forecasts_at_the_gate_change_nothing():
    realised = run_controllers(community("realised", "perfect"), ["truthful-bidder"])["truthful-bidder"]
    perfect = run_controllers(community("forecast", "perfect"), ["truthful-bidder"])["truthful-bidder"]
    assert perfect.kpis.community["cost"] == pytest.approx(realised.kpis.community["cost"], rel=1e-12)


def test_forecast_errors_cost_money_through_imbalances():
    realised = run_controllers(community("realised"), ["truthful-bidder"])["truthful-bidder"].kpis.community
    gated = run_controllers(community("forecast"), ["truthful-bidder"])["truthful-bidder"].kpis.community
    assert gated["cost"] > realised["cost"]  # P2P positions taken on wrong forecasts settle at retail/feed-in
    assert gated["p2p_volume_kwh"] != pytest.approx(realised["p2p_volume_kwh"])


def test_batteries_follow_the_measured_net_load_at_delivery():
    def run(gate, balancing):
        raw = tiny_dict(market={"gate": gate, "balancing": balancing})
        return run_controllers(build_community(load_scenario(raw)), ["self-consumption"])["self-consumption"]

    realised, battery, grid = run("realised", "battery"), run("forecast", "battery"), run("forecast", "grid")
    cost = {k: r.kpis.community["cost"] for k, r in (("realised", realised), ("battery", battery), ("grid", grid))}
    # a home battery answers the measured net load: forecast errors cost little; without it they cost a lot
    assert cost["realised"] <= cost["battery"] < cost["grid"]
    assert cost["battery"] - cost["realised"] < 0.5 * (cost["grid"] - cost["realised"])
    assert battery.kpis.community["safety_clipped"] == 0  # the engine's balancing is not an intervention


def test_the_oracle_opts_out_of_balancing():
    c = community("forecast")
    oracle = make_controller("oracle")
    oracle.reset(c)
    obs = CommunityEngine(c).observe()
    assert oracle.act(obs).balancing is False


def test_grid_only_keeps_its_battery_idle_behind_the_forecast_gate():
    totals = run_controllers(community("forecast"), ["grid-only"])["grid-only"].totals
    assert totals.agent["charge"].sum() == 0
    assert totals.agent["discharge"].sum() == 0


def _step_all(c, controller: str):
    ctrl = make_controller(controller)
    ctrl.reset(c)
    engine = CommunityEngine(c)
    out = []
    while not engine.done:
        obs = engine.observe()
        out.append((obs, engine.step(ctrl.act(obs), obs)))
    return out


@pytest.mark.parametrize("controller", ["self-consumption", "truthful-bidder", "greedy"])
def test_there_is_no_imbalance_when_orders_are_placed_on_the_realised_values(controller):
    raw = tiny_dict(market={"gate": "realised", "imbalance_price": 0.9})
    for _, r in _step_all(build_community(load_scenario(raw)), controller):
        assert np.all(r.imbalance == 0.0)


@pytest.mark.parametrize("controller", ["oracle", "grid-only"])
def test_controllers_deciding_on_the_realised_values_have_no_imbalance_behind_the_gate(controller):
    c = build_community(load_scenario(tiny_dict(market={"gate": "forecast", "imbalance_price": 0.9})))
    for _, r in _step_all(c, controller):
        assert np.all(r.imbalance == 0.0)


def test_without_a_battery_to_balance_the_imbalance_is_the_forecast_error():
    c = build_community(load_scenario(tiny_dict(market={"gate": "forecast", "balancing": "grid"})))
    dt = c.grid.dt_hours
    for obs, r in _step_all(c, "self-consumption"):
        surprise = (c.profiles.load_kw[r.t] - obs.load_kw) - (c.profiles.pv_kw[r.t] - obs.pv_kw)
        np.testing.assert_allclose(r.imbalance, surprise * dt, atol=1e-12)


def test_the_imbalance_settles_at_the_imbalance_price_and_the_position_at_the_tariff():
    price = 0.55
    raw = tiny_dict(market={"gate": "forecast", "balancing": "grid", "imbalance_price": price})
    plain = run_controllers(
        build_community(load_scenario(tiny_dict(market={"gate": "forecast", "balancing": "grid"}))), ["truthful-bidder"]
    )["truthful-bidder"]
    c = build_community(load_scenario(raw))
    short = long = 0.0
    for _, r in _step_all(c, "truthful-bidder"):
        position = r.imported - r.exported - r.imbalance
        expected = np.maximum(position, 0) * r.retail - np.maximum(-position, 0) * r.feed_in + r.imbalance * price
        np.testing.assert_allclose(r.grid_cost, expected, atol=1e-12)
        short += r.imbalance[r.imbalance > 0].sum()
        long += -r.imbalance[r.imbalance < 0].sum()
    # both directions occur
    assert short > 1.0
    assert long > 1.0
    priced = run_controllers(c, ["truthful-bidder"])["truthful-bidder"]
    assert priced.kpis.community["cost"] != pytest.approx(plain.kpis.community["cost"], rel=1e-6)
    np.testing.assert_allclose(priced.totals.agent["imported"], plain.totals.agent["imported"])  # same physics


@pytest.mark.parametrize("value", [-0.1, float("nan"), "cheap"])
def test_a_bad_imbalance_price_is_a_scenario_error_naming_the_field(value):
    from powergrid.errors import ScenarioError

    with pytest.raises(ScenarioError, match="imbalance_price"):
        load_scenario(tiny_dict(market={"gate": "forecast", "imbalance_price": value}))
