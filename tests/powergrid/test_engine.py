"""The community engine: conservation under random actions, grid limits, bad actions, the balance checker."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine
from powergrid.errors import ActionError, ConservationError
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict

TOL = 1e-9


def random_actions(rng: np.random.Generator, n: int, nasty: bool) -> Actions:
    battery = rng.normal(0, 6, n)
    trade = rng.normal(0, 6, n)
    price = rng.uniform(-0.2, 0.8, n)
    if nasty:
        for arr in (battery, trade, price):
            arr[rng.random(n) < 0.05] = rng.choice([np.nan, np.inf, -np.inf])
    return Actions(battery, trade, price)


def check_physics(engine: CommunityEngine, r, soc_before: np.ndarray) -> None:
    """Independent re-check of the balances (not the engine's own checker)."""
    fleet = engine.community.agents.battery
    lhs = r.pv + r.discharge + r.bought + r.imported + r.unserved
    rhs = r.load + r.charge + r.sold + r.exported
    np.testing.assert_allclose(lhs, rhs, atol=TOL)
    assert np.all(r.soc >= fleet.soc_min_kwh - TOL) and np.all(r.soc <= fleet.soc_max_kwh + TOL)
    np.testing.assert_allclose(
        r.soc, soc_before + r.charge * fleet.charge_efficiency - r.discharge / fleet.discharge_efficiency, atol=TOL
    )
    assert np.all(np.minimum(r.charge, r.discharge) <= TOL)
    assert abs(r.bought.sum() - r.sold.sum()) <= TOL
    assert abs(r.p2p_payment.sum() - r.market_surplus) <= TOL  # McAfee: the operator keeps the spread
    # Nobody sells more than their physical surplus, nobody buys beyond their deficit.
    assert np.all(r.sold <= np.maximum(r.pv + r.curtailed + r.discharge - r.load - r.charge, 0) + TOL)
    if r.trades.quantity.size:
        assert np.all(r.trades.price >= r.feed_in - TOL) and np.all(r.trades.price <= r.retail + TOL)
    np.testing.assert_allclose(
        r.cash_cost, r.imported * r.retail - r.exported * r.feed_in + r.p2p_payment + r.fees + r.degradation_cost
    )


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr", "none"])
def test_conservation_under_random_actions(mechanism):
    raw = tiny_dict(
        market={"mechanism": mechanism, "fee_per_kwh": 0.01},
        grid={"import_capacity_kw": 2.5, "export_capacity_kw": 3.0},
    )
    raw["time"]["n_steps"] = 24 * 14
    raw["devices"]["battery"]["ramp_kw_per_step"] = 2.0
    community = build_community(load_scenario(raw))
    engine = CommunityEngine(community)
    rng = np.random.default_rng(7)
    unserved = curtailed = traded = 0.0
    while not engine.done:
        soc_before = engine.soc.copy()
        r = engine.step(random_actions(rng, community.n_agents, nasty=True))
        check_physics(engine, r, soc_before)
        assert r.imported.sum() - r.exported.sum() <= 2.5 * community.grid.dt_hours + TOL
        assert r.exported.sum() - r.imported.sum() <= 3.0 * community.grid.dt_hours + TOL
        unserved += r.unserved.sum()
        curtailed += r.curtailed.sum()
        traded += r.bought.sum()
    # The limits and the market were really exercised.
    assert unserved > 0 and curtailed > 0
    assert (traded > 0) == (mechanism != "none")


def test_nonfinite_actions_are_replaced_and_counted(tiny_community):
    engine = CommunityEngine(tiny_community)
    n = tiny_community.n_agents
    battery = np.zeros(n)
    battery[[1, 4]] = [np.nan, np.inf]
    r = engine.step(Actions(battery, np.zeros(n), np.zeros(n)))
    assert r.interventions.nonfinite.tolist() == [i in (1, 4) for i in range(n)]
    assert r.charge[[1, 4]].tolist() == [0.0, 0.0] and r.discharge[[1, 4]].tolist() == [0.0, 0.0]


def test_battery_and_trade_are_clipped_to_physics(tiny_community):
    engine = CommunityEngine(tiny_community)
    obs = engine.observe()
    n = tiny_community.n_agents
    r = engine.step(Actions(np.full(n, 100.0), np.full(n, -100.0), np.full(n, 10.0)), obs)
    fleet = tiny_community.agents.battery
    np.testing.assert_allclose(r.charge, np.minimum(fleet.power_kw, obs.max_charge_kw) * obs.dt_hours)
    # Charging at full power leaves nothing to sell unless PV exceeds load + charge.
    surplus = np.maximum(obs.pv_kw - obs.load_kw - r.charge / obs.dt_hours, 0.0) * obs.dt_hours
    np.testing.assert_allclose(-r.order, surplus, atol=TOL)
    assert r.interventions.battery_clipped[fleet.power_kw > 0].all()
    assert r.interventions.battery_clipped[fleet.power_kw == 0].all()  # no battery: any request is clipped


def test_wrong_action_shape_is_an_error(tiny_community):
    engine = CommunityEngine(tiny_community)
    with pytest.raises(ActionError, match=r"battery_kw must have shape \(8,\)"):
        engine.step(Actions(np.zeros(3), np.zeros(8), np.zeros(8)))
    with pytest.raises(ActionError, match="trade_kw is not numeric"):
        engine.step(Actions(np.zeros(8), ["a"] * 8, np.zeros(8)))


def test_stepping_past_the_end_is_an_error(tiny_community):
    engine = CommunityEngine(tiny_community)
    for _ in range(tiny_community.n_steps):
        engine.step(Actions.idle(tiny_community.n_agents))
    with pytest.raises(RuntimeError, match="has ended after 48 steps"):
        engine.step(Actions.idle(tiny_community.n_agents))


def test_balance_checker_names_agent_step_and_terms(tiny_community, monkeypatch):
    import powergrid.engine.step as engine_module
    from powergrid.market.settlement import GridSettlement

    real = engine_module.settle_with_grid

    def leaky(*args, **kwargs) -> GridSettlement:
        s = real(*args, **kwargs)
        imported = s.imported.copy()
        imported[2] += 0.5  # energy from nowhere
        return replace(s, imported=imported)

    monkeypatch.setattr(engine_module, "settle_with_grid", leaky)
    engine = CommunityEngine(tiny_community)
    with pytest.raises(ConservationError, match=r"energy balance of agent 'h002' at step 0: .*import"):
        engine.step(Actions.idle(tiny_community.n_agents))


def test_the_uniform_price_is_competitive_for_truthful_bids(tiny_community):
    """The k-double-auction price lies in the clearing interval: every filled buyer bid at least the price, every
    filled seller asked at most it, and no buyer bidding above it is left short while a seller asking below it is
    left with energy (divisible orders, no fee)."""
    engine = CommunityEngine(tiny_community)
    from powergrid.controllers import make_controller

    ctrl = make_controller("truthful-bidder")
    ctrl.reset(tiny_community)
    while not engine.done:
        obs = engine.observe()
        r = engine.step(ctrl.act(obs), obs)
        if not r.trades.quantity.size:
            continue
        p = r.clearing_price
        buyers, sellers = r.order > 0, r.order < 0
        assert np.all(r.limit_price[buyers & (r.bought > 0)] >= p - TOL)
        assert np.all(r.limit_price[sellers & (r.sold > 0)] <= p + TOL)
        short = buyers & (r.bought < r.order - TOL) & (r.limit_price > p + TOL)
        left = sellers & (r.sold < -r.order - TOL) & (r.limit_price < p - TOL)
        assert not (short.any() and left.any())


def test_controllers_rank_as_expected(tiny_community):
    cost = {
        c: simulate(tiny_community, c).headline_cost().sum()
        for c in ("grid-only", "self-consumption", "truthful-bidder")
    }
    assert cost["self-consumption"] < cost["grid-only"]
    assert cost["truthful-bidder"] < cost["self-consumption"]


def test_safety_kpis_count_what_the_filter_did(tiny_community):
    from powergrid.analytics import RunTotals, compute_kpis

    engine = CommunityEngine(tiny_community)
    totals = RunTotals(tiny_community.agents.ids, tiny_community.agents.battery.capacity_kwh, 1.0, 2)
    n = tiny_community.n_agents
    battery = np.zeros(n)
    battery[[1, 4]] = [np.nan, np.inf]
    fallback = np.zeros(n, dtype=bool)
    fallback[6] = True
    totals.add(engine.step(Actions(battery, np.zeros(n), np.zeros(n), fallback=fallback)))
    totals.add(engine.step(Actions(np.full(n, 1e6), np.zeros(n), np.zeros(n))))  # every battery clipped
    kpis = compute_kpis(totals).community
    assert kpis["safety_nonfinite"] == 2 and kpis["safety_fallbacks"] == 1
    assert kpis["safety_clipped"] == n
