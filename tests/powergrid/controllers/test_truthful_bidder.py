"""The truthful bidder: its limit prices are its marginal values, including the opportunity value of storage, and
its battery stores what the market does not buy."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.controllers import make_controller
from powergrid.controllers.rules import coming_day_max_retail
from powergrid.engine import CommunityEngine
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

TOL = 1e-9


def test_coming_day_max_retail_looks_one_day_ahead_and_stops_at_the_end():
    retail = np.array([1.0, 3.0, 2.0, 0.5, 0.2])
    np.testing.assert_array_equal(coming_day_max_retail(retail, 2), [3.0, 3.0, 2.0, 0.5, 0.2])
    np.testing.assert_array_equal(coming_day_max_retail(retail, 1), retail)


def _first_steps(raw: dict, n: int = 48):
    c = build_community(load_scenario(raw))
    bidder = make_controller("truthful-bidder")
    bidder.reset(c)
    engine = CommunityEngine(c)
    for _ in range(n):
        obs = engine.observe()
        actions = bidder.act(obs)
        yield c, obs, actions, engine.step(actions, obs)


@pytest.mark.parametrize("tariff", [{"retail": 0.30, "feed_in": 0.08}, None])
def test_storable_surplus_is_offered_at_the_storage_value_and_the_rest_at_the_floor(tariff):
    """Flat tariff: the storage value (η_c·η_d·(retail − c_deg) ≈ 0.25) lies inside the band; TOU with an evening
    peak at 0.40: it exceeds retail now, so the ask is the cap (storing beats selling below retail)."""
    raw = tiny_dict(
        devices={"pv": {"peak_kw": 6.0}, "battery": {"capacity_kwh": 8.0, "power_kw": 3.0, "degradation_cost": 0.02}}
    )
    if tariff is not None:
        raw["tariff"] = tariff
    seen_store = seen_floor = inside = 0
    for c, obs, a, _ in _first_steps(raw):
        fleet = c.agents.battery
        day = coming_day_max_retail(c.tariff.retail, 24)[obs.t]
        value = fleet.charge_efficiency * fleet.discharge_efficiency * (day - fleet.degradation_cost)
        value = np.clip(value, obs.price_floor, obs.price_cap)
        surplus = obs.pv_kw - obs.load_kw
        storable = (surplus > 0) & (surplus <= obs.max_charge_kw)
        sellers = a.trade_kw < 0
        np.testing.assert_allclose(a.limit_price[sellers & storable], value[sellers & storable])
        np.testing.assert_allclose(a.limit_price[sellers & ~storable], obs.price_floor)
        np.testing.assert_allclose(a.limit_price[a.trade_kw > 0], obs.price_cap)
        seen_store += int((sellers & storable).any())
        seen_floor += int((sellers & ~storable).any())
        asks = a.limit_price[sellers & storable]
        inside += int(((asks > obs.price_floor + TOL) & (asks < obs.price_cap - TOL)).any())
    assert seen_store
    assert seen_floor
    assert (inside > 0) == (tariff is not None)


def test_what_the_market_does_not_buy_is_stored_and_what_it_does_not_sell_is_discharged():
    raw = tiny_dict(market={"mechanism": "none"})  # nothing fills: the battery must take the whole position
    for _, obs, _, r in _first_steps(raw):
        own = np.clip(obs.pv_kw - obs.load_kw, -obs.max_discharge_kw, obs.max_charge_kw)
        np.testing.assert_allclose((r.charge - r.discharge) / obs.dt_hours, own, atol=TOL)  # = self-consumption
    with_market = run_controllers(build_community(load_scenario(tiny_dict())), ["truthful-bidder", "self-consumption"])
    bidder, plain = with_market["truthful-bidder"].totals, with_market["self-consumption"].totals
    assert bidder.agent["bought"].sum() > 0
    assert bidder.agent["discharge"].sum() < plain.agent["discharge"].sum()  # bought energy spares the battery


def test_on_a_tou_tariff_with_a_fee_the_mechanism_changes_prices_and_who_gains():
    costs, price = {}, {}
    for mechanism in ("uniform", "pay-as-bid", "mcafee"):
        raw = tiny_dict(market={"mechanism": mechanism, "fee_per_kwh": 0.01})
        outcome = run_controllers(build_community(load_scenario(raw)), ["truthful-bidder"])["truthful-bidder"]
        costs[mechanism] = outcome.kpis.agents["cost"]
        price[mechanism] = outcome.kpis.community["mean_p2p_price"]
    assert np.abs(costs["uniform"] - costs["pay-as-bid"]).max() > 1e-3
    assert np.abs(costs["uniform"] - costs["mcafee"]).max() > 1e-3
    assert price["pay-as-bid"] > price["uniform"] + 0.01  # buyers pay their bids, not the clearing price


@pytest.mark.parametrize("gate", ["realised", "forecast"])
def test_the_truthful_bidder_beats_self_consumption(gate):
    c = build_community(load_scenario(tiny_dict(market={"gate": gate})))
    out = run_controllers(c, ["self-consumption", "truthful-bidder"])
    assert out["truthful-bidder"].kpis.community["cost"] < out["self-consumption"].kpis.community["cost"]
