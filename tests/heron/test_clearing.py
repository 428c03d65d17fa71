"""Market-clearing kernels: invariants over random order books and a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import clearing_reference as ref
from heron.clearing import (
    clear_double_auction,
    clear_posted_price,
    mid_band_price,
    supply_demand_ratio_price,
)
from heron.clearing.book import QUANTITY_EPS

TOL = 1e-9

# Prices on a coarse grid so that ties (the hard case) are frequent.
prices = st.integers(min_value=5, max_value=15).map(lambda c: c / 100)
quantities = st.one_of(
    st.just(0.0), st.floats(min_value=-20, max_value=20, allow_nan=False).filter(lambda x: abs(x) > 1e-6)
)
books = (
    st.integers(min_value=1, max_value=12)
    .flatmap(
        lambda n: st.tuples(st.lists(quantities, min_size=n, max_size=n), st.lists(prices, min_size=n, max_size=n))
    )
    .map(lambda qp: (np.array(qp[0]), np.array(qp[1])))
)


def max_min_volume(q: np.ndarray, p: np.ndarray) -> float:
    """Equilibrium volume max_p min(D(p), S(p)) over all limit prices (an independent definition)."""
    best = 0.0
    for c in np.unique(p[q != 0]):
        demand = q[(q > 0) & (p >= c)].sum()
        supply = -q[(q < 0) & (p <= c)].sum()
        best = max(best, min(demand, supply))
    return best


@settings(max_examples=400, deadline=None)
@given(books, st.sampled_from([0.0, 0.5, 1.0]))
@example((np.array([-2.0, 2.0, -1.0]), np.array([0.05, 0.06, 0.06])), 0.0)
@example((np.array([-(2.0 - 1e-13), 2.0, -1.0]), np.array([0.05, 0.06, 0.06])), 0.0)  # a sub-epsilon sliver
def test_uniform_matches_brute_force_reference(book, k):
    q, p = book
    result = clear_double_auction(q, p, k=k)
    volume, price = ref.uniform_volume_and_price(q, p, k, eps=QUANTITY_EPS)
    assert result.volume == pytest.approx(volume, abs=1e-9)
    assert result.volume == pytest.approx(max_min_volume(q, p), abs=1e-9)
    if volume > 1e-9:
        assert result.price == pytest.approx(price, abs=1e-12)
    else:
        assert np.isnan(result.price)
        assert len(result.trades) == 0


@settings(max_examples=400, deadline=None)
@given(books, st.sampled_from(["uniform", "pay-as-bid"]), st.floats(min_value=0, max_value=1))
def test_auction_invariants(book, pricing, k):
    q, p = book
    r = clear_double_auction(q, p, k=k, pricing=pricing)
    t = r.trades
    filled = r.filled
    # No fill above the order quantity, and never on the wrong side.
    assert np.all(filled >= np.minimum(q, 0) - TOL)
    assert np.all(filled <= np.maximum(q, 0) + TOL)
    # Quantity balance: bought == sold, and fills are the trades' sums.
    assert abs(filled.sum()) <= TOL
    assert t.quantity.sum() == pytest.approx(filled[filled > 0].sum(), abs=TOL)
    assert np.all(t.quantity > 0)
    # Individual rationality: every trade price between the seller's ask and the buyer's bid.
    assert np.all(p[t.buyer] >= t.price - TOL)
    assert np.all(p[t.seller] <= t.price + TOL)
    assert np.all(q[t.buyer] > 0)
    assert np.all(q[t.seller] < 0)
    # Budget balance: buyers pay exactly what sellers receive.
    n = len(q)
    paid = np.bincount(t.buyer, weights=t.quantity * t.price, minlength=n)
    received = np.bincount(t.seller, weights=t.quantity * t.price, minlength=n)
    assert paid.sum() == pytest.approx(received.sum(), abs=TOL)
    # Prices inside the band spanned by the orders.
    if len(t):
        active = p[q != 0]
        assert t.price.min() >= active.min() - TOL
        assert t.price.max() <= active.max() + TOL
    if pricing == "uniform" and len(t):
        assert np.allclose(t.price, r.price)


@settings(max_examples=200, deadline=None)
@given(books)
def test_no_order_strictly_better_than_price_is_left_unfilled(book):
    q, p = book
    r = clear_double_auction(q, p)
    if r.volume <= 0:
        return
    buyers_in_the_money = (q > 0) & (p > r.price)
    sellers_in_the_money = (q < 0) & (p < r.price)
    # Uniform price with k = 0.5 lies strictly inside (ask*, bid*) or equals both; orders strictly better than
    # both marginal prices are filled in full.
    bid_star = p[(q > 0) & (r.filled > 0)].min()
    ask_star = p[(q < 0) & (r.filled < 0)].max()
    full_b = buyers_in_the_money & (p > bid_star)
    full_s = sellers_in_the_money & (p < ask_star)
    assert np.allclose(r.filled[full_b], q[full_b])
    assert np.allclose(r.filled[full_s], q[full_s])


def test_hand_checked_book():
    q = np.array([3.0, 2.0, -1.0, -4.0, 1.0])
    p = np.array([0.20, 0.12, 0.05, 0.10, 0.15])
    r = clear_double_auction(q, p)
    assert r.volume == pytest.approx(5.0)
    # the 0.12 buyer is filled in part: at any price below 0.12 it would want more, so the interval is [0.12, 0.12]
    assert r.price == pytest.approx(0.12)
    np.testing.assert_allclose(r.filled, [3.0, 1.0, -1.0, -4.0, 1.0])


@pytest.mark.parametrize(("k", "price"), [(0.5, 8.0), (0.0, 7.0), (1.0, 9.0)])
def test_k_double_auction_price_on_the_clearing_interval(k, price):
    # bids 12 and 7, asks 2 and 9: one unit trades; every price in [max(2, 7), min(12, 9)] = [7, 9] clears
    r = clear_double_auction(np.array([1.0, 1.0, -1.0, -1.0]), np.array([12.0, 7.0, 2.0, 9.0]), k=k)
    assert r.volume == 1.0
    assert r.price == pytest.approx(price)


@settings(max_examples=400, deadline=None)
@given(books, st.sampled_from([0.0, 0.3, 0.5, 1.0]))
def test_the_uniform_outcome_is_competitive(book, k):
    """At the price, no buyer bidding above it and no seller asking below it are both left with unfilled orders."""
    q, p = book
    r = clear_double_auction(q, p, k=k)
    price = r.price if r.volume > 0 else np.inf
    left_b = (q > 0) & (p > price + TOL) & (r.filled < q - 1e-9)
    left_s = (q < 0) & (p < price - TOL) & (r.filled > q + 1e-9)
    assert not (left_b.any() and left_s.any())
    if r.volume <= 0:  # nothing trades only when no bid reaches an ask
        bids, asks = p[q > 1e-9], p[q < -1e-9]
        assert not (bids.size and asks.size and bids.max() >= asks.min())
    else:
        # at the k-DA price, in-the-money orders all fill
        assert not left_b.any()
        assert not left_s.any()


def test_marginal_ties_are_shared_pro_rata_not_by_index():
    # Two buyers at the same bid compete for 3 units: they get 2 and 1 (pro rata to 4 and 2), in either order.
    q = np.array([4.0, 2.0, -3.0])
    p = np.array([0.10, 0.10, 0.05])
    r = clear_double_auction(q, p)
    np.testing.assert_allclose(r.filled, [2.0, 1.0, -3.0])
    r2 = clear_double_auction(q[[1, 0, 2]], p[[1, 0, 2]])
    np.testing.assert_allclose(r2.filled, [1.0, 2.0, -3.0])


def test_pay_as_bid_prices_each_pair():
    q = np.array([1.0, 1.0, -1.0, -1.0])
    p = np.array([0.20, 0.16, 0.06, 0.10])
    r = clear_double_auction(q, p, k=1.0, pricing="pay-as-bid")
    by_buyer = {int(b): pr for b, pr in zip(r.trades.buyer, r.trades.price, strict=True)}
    assert by_buyer == {0: pytest.approx(0.20), 1: pytest.approx(0.16)}
    assert np.isnan(r.price)


@settings(max_examples=100, deadline=None)
@given(st.lists(books, min_size=1, max_size=4))
def test_batch_equals_separate_markets(book_list):
    n = max(len(q) for q, _ in book_list)
    qs = np.zeros((len(book_list), n))
    ps = np.zeros((len(book_list), n))
    for i, (q, p) in enumerate(book_list):
        qs[i, : len(q)] = q
        ps[i, : len(p)] = p
    batch = clear_double_auction(qs, ps)
    for i in range(len(book_list)):
        single = clear_double_auction(qs[i], ps[i])
        np.testing.assert_allclose(batch.filled[i], single.filled, atol=1e-12)
        np.testing.assert_allclose(batch.volume[i], single.volume, atol=1e-12)
        assert np.isnan(batch.price[i]) == np.isnan(single.price)
        mine = batch.trades.market == i
        np.testing.assert_allclose(batch.trades.quantity[mine], single.trades.quantity)


def test_bad_books_are_rejected():
    with pytest.raises(ValueError, match="same shape"):
        clear_double_auction(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        clear_double_auction(np.array([1.0, np.nan]), np.ones(2))
    with pytest.raises(ValueError, match="k must be"):
        clear_double_auction(np.ones(2), np.ones(2), k=1.5)


@settings(max_examples=200, deadline=None)
@given(books, prices)
def test_posted_price_fills_short_side_and_prorates_long_side(book, posted):
    q, _ = book
    r = clear_posted_price(q, np.array(posted))
    demand, supply = q[q > 0].sum(), -q[q < 0].sum()
    assert r.volume == pytest.approx(min(demand, supply), abs=1e-9)
    if demand <= supply and demand > 0:
        np.testing.assert_allclose(r.filled[q > 0], q[q > 0], atol=1e-9)
    if supply > 0 and demand > 0:
        share = r.filled[q < 0] / q[q < 0]
        np.testing.assert_allclose(share, share[0], atol=1e-9)  # the same fraction for every seller
    assert np.all(r.trades.price == posted)


def test_supply_demand_ratio_price_rule():
    lo, hi = 0.05, 0.25
    assert supply_demand_ratio_price(0.0, 10.0, lo, hi) == pytest.approx(hi)
    assert supply_demand_ratio_price(10.0, 10.0, lo, hi) == pytest.approx(lo)
    assert supply_demand_ratio_price(20.0, 10.0, lo, hi) == pytest.approx(lo)
    assert supply_demand_ratio_price(5.0, 10.0, lo, hi) == pytest.approx(lo * hi / ((hi - lo) * 0.5 + lo))
    ratios = np.linspace(0, 1.5, 31)
    prices_ = supply_demand_ratio_price(ratios, np.ones_like(ratios), lo, hi)
    assert np.all(np.diff(prices_) <= 1e-15)
    assert np.all((prices_ >= lo) & (prices_ <= hi))
    assert mid_band_price(lo, hi) == pytest.approx(0.15)


@pytest.mark.parametrize("shape", [(0,), (3, 0)])
@pytest.mark.parametrize("mechanism", ["uniform", "pay-as-bid", "posted"])
def test_empty_books_give_empty_results_of_the_documented_dtypes(shape, mechanism):
    q = np.zeros(shape)
    if mechanism == "posted":
        result = clear_posted_price(q, np.full(shape[:-1], 0.1))
    else:
        result = clear_double_auction(q, q, pricing=mechanism)
    assert result.filled.shape == shape
    assert result.filled.dtype == np.float64
    assert result.volume.shape == shape[:-1]
    assert result.volume.dtype == np.float64
    assert result.trades.quantity.size == 0


def test_books_that_do_not_cross_give_float_fills_and_volumes():
    result = clear_double_auction(np.array([1.0, -1.0]), np.array([1.0, 2.0]))  # bid 1 < ask 2
    assert result.filled.dtype == np.float64
    assert result.volume.dtype == np.float64
    assert result.volume == 0.0
    assert np.isnan(result.price)
    from heron.protocols.horizontal import P2PTradingProtocol

    empty = P2PTradingProtocol().clear(np.zeros(0), np.zeros(0), 0.05, 0.15)
    assert empty.traded.shape == (0,)
    assert empty.payment.dtype == np.float64
