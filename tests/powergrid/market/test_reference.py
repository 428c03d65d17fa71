"""Every mechanism against a brute-force reference (``clearing_reference``), counting fees: fills, payments, fees
and the operator's surplus per order; and the properties every mechanism owes: price priority, order independence,
budget balance (McAfee: weakly), no trade outside the band."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clearing_reference as ref
from powergrid.market import MarketRules, clear_market

MECHANISMS = ["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr", "none"]
LO, HI = 0.05, 0.30
prices = st.integers(5, 30).map(lambda c: c / 100)  # a coarse grid: ties at the margin are frequent
quantities = st.one_of(st.just(0.0), st.sampled_from([-3.0, -2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 2.0, 2.5, 3.0]))
books = (
    st.integers(min_value=2, max_value=10)
    .flatmap(
        lambda n: st.tuples(st.lists(quantities, min_size=n, max_size=n), st.lists(prices, min_size=n, max_size=n))
    )
    .map(lambda qp: (np.array(qp[0]), np.array(qp[1])))
)
fees = st.sampled_from([0.0, 0.01, 0.03, 0.2])


@settings(max_examples=300, deadline=None)
@given(books, fees, st.sampled_from([0.0, 0.5, 1.0]), st.sampled_from(MECHANISMS))
def test_every_mechanism_matches_the_brute_force_reference(book, fee, k, mechanism):
    q, p = book
    out = clear_market(MarketRules(mechanism=mechanism, fee_per_kwh=fee, k=k), q, p, LO, HI)
    fills, pay, fee_paid, surplus = ref.community_market(mechanism, q, p, LO, HI, fee, k)
    np.testing.assert_allclose(out.bought_kwh - out.sold_kwh, fills, atol=1e-9)
    np.testing.assert_allclose(out.p2p_payment, pay, atol=1e-9)
    np.testing.assert_allclose(out.fees, fee_paid, atol=1e-9)
    assert out.operator_surplus == pytest.approx(surplus, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(books, fees, st.sampled_from(["uniform", "pay-as-bid"]))
def test_price_priority(book, fee, mechanism):
    """A buyer (seller) left short never bid more (asked less) than one that was filled. (Not McAfee: it rations
    the long side of its winners pro rata whatever their limits, since priority by limit would pay a winner for
    shading its limit — truthfulness wins over priority there.)"""
    q, p = book
    out = clear_market(MarketRules(mechanism=mechanism, fee_per_kwh=fee), q, p, LO, HI)
    fill = out.bought_kwh - out.sold_kwh
    buyers, sellers = q > 0, q < 0
    short_b = buyers & (fill < q - 1e-9)
    short_s = sellers & (fill > q + 1e-9)
    if (buyers & (fill > 1e-9)).any() and short_b.any():
        assert p[short_b].max() <= p[buyers & (fill > 1e-9)].min() + 1e-12
    if (sellers & (fill < -1e-9)).any() and short_s.any():
        assert p[short_s].min() >= p[sellers & (fill < -1e-9)].max() - 1e-12


@settings(max_examples=200, deadline=None)
@given(books, fees, st.sampled_from(MECHANISMS), st.randoms(use_true_random=False))
def test_order_independence(book, fee, mechanism, rnd):
    """Listing the orders in another order permutes the outcome and changes nothing else. Pay-as-bid prices each
    matched pair at its own bid and ask, so which of several orders tied at one limit meets which counterpart is
    decided by listing order: its fills are order independent, its payments only among untied limits (a known
    limitation, README)."""
    q, p = book
    perm = np.array(rnd.sample(range(q.size), q.size))
    config = MarketRules(mechanism=mechanism, fee_per_kwh=fee)
    a = clear_market(config, q, p, LO, HI)
    b = clear_market(config, q[perm], p[perm], LO, HI)
    np.testing.assert_allclose(b.bought_kwh, a.bought_kwh[perm], atol=1e-9)
    np.testing.assert_allclose(b.sold_kwh, a.sold_kwh[perm], atol=1e-9)
    assert b.operator_surplus == pytest.approx(a.operator_surplus, abs=1e-9)
    tied = any(np.sum((p == x) & (np.sign(q) == np.sign(y))) > 1 for x, y in zip(p, q, strict=True) if y != 0)
    if mechanism != "pay-as-bid" or not tied:
        np.testing.assert_allclose(b.p2p_payment, a.p2p_payment[perm], atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(books, fees, st.sampled_from(MECHANISMS))
def test_budget_balance_and_the_band(book, fee, mechanism):
    q, p = book
    out = clear_market(MarketRules(mechanism=mechanism, fee_per_kwh=fee), q, p, LO, HI)
    assert out.bought_kwh.sum() == pytest.approx(out.sold_kwh.sum(), abs=1e-9)
    assert out.p2p_payment.sum() == pytest.approx(out.operator_surplus, abs=1e-9)
    assert out.operator_surplus >= -1e-12
    if len(out.trades):
        assert out.trades.price.min() >= LO - 1e-12
        assert out.trades.price.max() <= HI + 1e-12
