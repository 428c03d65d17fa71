"""McAfee's trade-reduction double auction: a hand-checked book, truthfulness against every unilateral misreport
of the limit price, individual rationality, weak budget balance, order independence, batching."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clearing_reference as ref
from heron.clearing import clear_trade_reduction, settle_trades

TOL = 1e-9
GRID = np.arange(5, 16) / 100  # limit prices on a coarse grid: ties are frequent
prices = st.sampled_from(list(GRID))
quantities = st.one_of(st.just(0.0), st.sampled_from([-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0]))
books = (
    st.integers(min_value=2, max_value=9)
    .flatmap(
        lambda n: st.tuples(st.lists(quantities, min_size=n, max_size=n), st.lists(prices, min_size=n, max_size=n))
    )
    .map(lambda qp: (np.array(qp[0]), np.array(qp[1])))
)


def surplus(q: np.ndarray, reported: np.ndarray, value: np.ndarray, i: int) -> float:
    """Trader i's surplus at its true ``value`` when the book carries the ``reported`` limits."""
    r = clear_trade_reduction(q, reported)
    if r.filled[i] > 0:
        return float(r.filled[i] * (value[i] - r.price))
    if r.filled[i] < 0:
        return float(-r.filled[i] * (r.seller_price[0] - value[i]))
    return 0.0


def test_hand_checked_book():
    # bids 12, 10, 7 and asks 2, 4, 9 (one unit each): 12/2 and 10/4 cross; the marginal pair 10/4 is left out;
    # buyer 12 pays 10 and seller 2 receives 4; the operator keeps 6
    q = np.array([1.0, 1.0, 1.0, -1.0, -1.0, -1.0])
    r = clear_trade_reduction(q, np.array([12.0, 10.0, 7.0, 2.0, 4.0, 9.0]))
    np.testing.assert_allclose(r.filled, [1, 0, 0, -1, 0, 0])
    assert r.price == 10.0
    assert r.seller_price[0] == 4.0
    payment, _ = settle_trades(r.trades, q.shape, 0.0, r.seller_price)
    np.testing.assert_allclose(payment, [10, 0, 0, -4, 0, 0])


@settings(max_examples=300, deadline=None)
@given(books, st.data())
def test_no_unilateral_misreport_of_the_limit_price_raises_a_traders_surplus(book, data):
    q, value = book
    traders = np.flatnonzero(q != 0)
    if traders.size == 0:
        return
    i = int(data.draw(st.sampled_from(list(traders))))
    honest = surplus(q, value, value, i)
    for lie in GRID:
        reported = value.copy()
        reported[i] = lie
        assert surplus(q, reported, value, i) <= honest + TOL, f"trader {i} gains by reporting {lie}"


@settings(max_examples=300, deadline=None)
@given(books)
def test_rational_weakly_budget_balanced_and_order_independent(book):
    q, p = book
    r = clear_trade_reduction(q, p)
    assert np.all(r.filled >= np.minimum(q, 0) - TOL)
    assert np.all(r.filled <= np.maximum(q, 0) + TOL)
    assert abs(r.filled.sum()) <= TOL
    t = r.trades
    if len(t):
        assert np.all(p[t.buyer] >= r.price - TOL)  # buyers pay at most their bid
        assert np.all(p[t.seller] <= r.seller_price[0] + TOL)  # sellers receive at least their ask
        assert r.price >= r.seller_price[0] - TOL  # the operator never pays
    payment, _ = settle_trades(t, q.shape, 0.0, r.seller_price)
    assert payment.sum() >= -TOL
    order = np.random.default_rng(0).permutation(q.size)
    shuffled = clear_trade_reduction(q[order], p[order])
    np.testing.assert_allclose(shuffled.filled, r.filled[order], atol=TOL)


def test_batch_equals_separate_markets():
    rng = np.random.default_rng(5)
    q = rng.choice([-2.0, -1.0, 0.0, 1.0, 2.0], size=(6, 8))
    p = rng.choice(GRID, size=(6, 8))
    batched = clear_trade_reduction(q, p)
    for k in range(6):
        single = clear_trade_reduction(q[k], p[k])
        np.testing.assert_allclose(batched.filled[k], single.filled, atol=TOL)
        assert batched.volume[k] == pytest.approx(single.volume)


@settings(max_examples=400, deadline=None)
@given(books)
def test_matches_a_reference_written_out_by_hand(book):
    q, p = book
    r = clear_trade_reduction(q, p)
    fills, buy_price, sell_price = ref.trade_reduction(q, p)
    np.testing.assert_allclose(r.filled, fills, atol=1e-9)
    if r.volume > 1e-9:
        assert r.price == pytest.approx(buy_price)
        assert r.seller_price[0] == pytest.approx(sell_price)
