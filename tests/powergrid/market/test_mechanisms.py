"""The P2P market on engine orders: mechanisms, price band, fees, payments."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powergrid.market import MarketRules, clear_market

ORDERS = np.array([3.0, 1.0, -2.0, -1.0, 0.0])
LIMITS = np.array([0.25, 0.20, 0.08, 0.10, 0.5])


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mid-market", "sdr"])
def test_every_mechanism_conserves_energy_and_money(mechanism):
    out = clear_market(MarketRules(mechanism=mechanism, fee_per_kwh=0.01), ORDERS, LIMITS, 0.05, 0.30)
    assert out.bought_kwh.sum() == pytest.approx(out.sold_kwh.sum())
    assert out.bought_kwh.sum() == pytest.approx(3.0)
    assert out.p2p_payment.sum() == pytest.approx(0.0, abs=1e-15)
    assert np.all((out.trades.price >= 0.05) & (out.trades.price <= 0.30))
    np.testing.assert_allclose(out.fees, 0.01 * (out.bought_kwh + out.sold_kwh))
    assert out.bought_kwh[4] == 0
    assert out.sold_kwh[4] == 0


def test_posted_prices():
    mid = clear_market(MarketRules(mechanism="mid-market"), ORDERS, LIMITS, 0.05, 0.30)
    assert mid.price == pytest.approx(0.175)
    sdr = clear_market(MarketRules(mechanism="sdr"), ORDERS, LIMITS, 0.05, 0.30)
    ratio = 3.0 / 4.0
    assert sdr.price == pytest.approx(0.05 * 0.30 / ((0.30 - 0.05) * ratio + 0.05))
    np.testing.assert_allclose(sdr.bought_kwh[:2], [2.25, 0.75])  # demand is the long side: pro rata


def test_uniform_payments_per_agent():
    out = clear_market(MarketRules(mechanism="uniform"), ORDERS, LIMITS, 0.05, 0.30)
    # Buyers at 0.25 (3) and 0.20 (1); sellers 0.08 (2) and 0.10 (1): 3 kWh trade (all supply). Below 0.20 the
    # 0.20 buyer would also buy: the clearing interval is [max(0.10, 0.20), 0.25], the k = 0.5 price 0.225.
    assert out.price == pytest.approx(0.225)
    np.testing.assert_allclose(out.p2p_payment, [3 * 0.225, 0.0, -2 * 0.225, -0.225, 0.0])


def test_no_market_and_one_sided_books_trade_nothing():
    none = clear_market(MarketRules(mechanism="none"), ORDERS, LIMITS, 0.05, 0.30)
    assert none.bought_kwh.sum() == 0
    assert np.isnan(none.price)
    assert len(none.trades) == 0
    buyers_only = clear_market(MarketRules(), np.array([1.0, 2.0]), np.array([0.2, 0.2]), 0.05, 0.30)
    assert buyers_only.bought_kwh.sum() == 0


@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "mid-market", "sdr"])
def test_fees_larger_than_half_the_band_stop_every_trade(mechanism):
    # the example: feed-in 0.05, retail 0.15 and a fee of 0.08 per side: any trade would leave both worse
    orders, limits = np.array([4.0, 3.1, -5.0, -2.1]), np.array([0.15, 0.15, 0.05, 0.05])
    out = clear_market(MarketRules(mechanism=mechanism, fee_per_kwh=0.08), orders, limits, 0.05, 0.15)
    assert out.bought_kwh.sum() == 0
    assert out.fees.sum() == 0
    assert len(out.trades) == 0


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(-5, 5).filter(lambda x: abs(x) > 1e-3), min_size=2, max_size=10),
    st.lists(st.floats(0.05, 0.30), min_size=10, max_size=10),
    st.floats(0.0, 0.12),
    st.sampled_from(["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr"]),
    st.sampled_from([0.0, 0.0, 0.04]),
)
def test_individual_rationality_counting_fees(orders, limits, fee, mechanism, charge):
    """Counting fees and the network operator's use-of-system charge, no buyer pays more per kWh than its bid
    (≤ retail) and no seller gets less than its ask (≥ feed-in); posted prices: no buyer above the cap, no seller
    below the floor."""
    q = np.array(orders)
    p = np.array(limits[: len(orders)])
    config = MarketRules(mechanism=mechanism, fee_per_kwh=fee, network_charge_per_kwh=charge)
    out = clear_market(config, q, p, 0.05, 0.30)
    posted = mechanism in ("mid-market", "sdr")
    bid = np.full(q.size, 0.30) if posted else p
    ask = np.full(q.size, 0.05) if posted else p
    buyers, sellers = out.bought_kwh > 0, out.sold_kwh > 0
    all_in = out.p2p_payment + out.fees + out.network_charges  # + paid / − received, fees and charges included
    assert np.all(all_in[buyers] <= bid[buyers] * out.bought_kwh[buyers] + 1e-12)
    assert np.all(-all_in[sellers] >= ask[sellers] * out.sold_kwh[sellers] - 1e-12)
    assert out.p2p_payment.sum() == pytest.approx(out.operator_surplus, abs=1e-12)
    assert out.operator_surplus >= -1e-12
    assert mechanism == "mcafee" or out.operator_surplus == 0.0
    np.testing.assert_allclose(out.fees, fee * (out.bought_kwh + out.sold_kwh), atol=1e-12)
    np.testing.assert_allclose(out.network_charges, 0.5 * charge * (out.bought_kwh + out.sold_kwh), atol=1e-12)


def test_the_network_charge_is_paid_on_every_kwh_traded_and_counted_in_the_kpis():
    from powergrid.runner.compare import run_controllers
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community
    from scenario_factory import tiny_dict

    raw = tiny_dict(market={"network_charge_per_kwh": 0.02})
    out = run_controllers(build_community(load_scenario(raw)), ["truthful-bidder"])["truthful-bidder"].kpis.community
    assert out["p2p_volume_kwh"] > 1.0
    assert out["network_charges"] == pytest.approx(0.02 * out["p2p_volume_kwh"])


def test_mcafee_leaves_out_the_marginal_traders_and_keeps_the_spread():
    # bids 0.25 (3), 0.20 (1); asks 0.08 (2), 0.10 (1): the marginal levels 0.20? no: all 3 kWh of supply cross
    # the 0.25 bid, so the marginal bid is 0.25 and the marginal ask 0.10: both are left out; buyers above 0.25
    # (none) trade nothing
    out = clear_market(MarketRules(mechanism="mcafee"), ORDERS, LIMITS, 0.05, 0.30)
    assert out.bought_kwh.sum() == 0
    orders = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    limits = np.array([0.28, 0.20, 0.12, 0.06, 0.10, 0.25])
    out = clear_market(MarketRules(mechanism="mcafee", fee_per_kwh=0.01), orders, limits, 0.05, 0.30)
    # book (fee-shifted): bids 0.27, 0.19, 0.11; asks 0.07, 0.11, 0.26: 0.27/0.07 and 0.19/0.11 cross; the marginal
    # pair 0.19/0.11 is left out: buyer 0 pays 0.19 (+ fee), seller 3 receives 0.11 (− fee); the operator keeps 0.08
    np.testing.assert_allclose(out.bought_kwh, [1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(out.p2p_payment, [0.19, 0, 0, -0.11, 0, 0])
    assert out.operator_surplus == pytest.approx(0.08)
