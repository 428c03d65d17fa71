"""Double auction with limit orders: uniform-price and discriminatory (pay-as-bid) pricing.

Matching: buyers by limit price descending, sellers ascending (ties by order index); units trade while the
marginal bid is at least the marginal ask. The traded volume V is that of the crossing point. Orders strictly
better than the marginal price are filled in full; orders *at* the marginal price share the rest pro rata to
their quantity, so ties never depend on order index.

Pricing:
- ``uniform``: the k-double auction (Chatterjee & Samuelson 1983; Rustichini, Satterthwaite & Williams 1994):
  every trade at ``k * U + (1 - k) * L`` on the clearing interval ``[L, U]`` of the aggregate curves, with
  ``L = max(marginal ask, first bid left out)`` and ``U = min(marginal bid, first ask left out)`` (an order partly
  filled at the margin is "left out" with its remainder). Every price in ``[L, U]`` clears the market: no buyer
  whose bid is above the price and no seller whose ask is below it is left unfilled while the other side still
  has such orders. Example: bids 12 and 7, asks 2 and 9 (one unit each): one unit trades, ``[L, U] = [7, 9]`` and
  the price is 8 at k = 0.5. Individually rational: every filled bid >= price >= every filled ask.
- ``pay-as-bid``: each matched pair trades at ``k * bid + (1 - k) * ask`` of its own two orders (k = 1: buyers
  pay their bid; k = 0: sellers get their ask). Budget balanced pair by pair.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from heron.clearing.book import (
    QUANTITY_EPS,
    ClearingResult,
    Segments,
    as_book,
    crossing,
    gather,
    no_trades,
    paired_result,
    pro_rata,
    sorted_sides,
)
from heron.errors import OrderBookError

Pricing = Literal["uniform", "pay-as-bid"]


def clear_double_auction(
    quantity: np.ndarray, price: np.ndarray, k: float = 0.5, pricing: Pricing = "uniform"
) -> ClearingResult:
    """Clear one or many double auctions.

    Args:
        quantity: (..., N) signed order quantities, + buy, − sell, 0 = no order.
        price: (..., N) limit prices (ignored where quantity is 0).
        k: weight of the buyer side in the price rule, in [0, 1].
        pricing: ``"uniform"`` or ``"pay-as-bid"``.

    Returns:
        ClearingResult with ``filled`` of shape (..., N), ``price``/``volume`` of shape (...,).
    """
    if not 0.0 <= k <= 1.0:
        raise OrderBookError(f"k must be in [0, 1], got {k}")
    if pricing not in ("uniform", "pay-as-bid"):
        raise OrderBookError(f"pricing must be 'uniform' or 'pay-as-bid', got {pricing!r}")
    q, p, batch_shape = as_book(quantity, price)
    m, n = q.shape
    buy, sell = sorted_sides(q, p)
    kb, ks = buy.width, sell.width
    if kb == 0 or ks == 0:
        return no_trades(m, n, batch_shape)
    bq, bp, sq, sp = buy.qty, buy.price, sell.qty, sell.price

    # 1. Crossing: merge the two cumulative curves; the tradeable pieces are a prefix of the axis.
    cross = crossing(buy, sell)
    volume, has_trade = cross.volume, cross.has_trade
    marginal_bid, marginal_ask = cross.marginal_bid, cross.marginal_ask
    lower, upper = clearing_interval(bq, bp, sq, sp, volume, marginal_bid, marginal_ask)

    # 2. Allocation: strictly-better orders in full, the marginal price level pro rata.
    better_b = bq * (bp > marginal_bid[:, None])
    better_s = sq * (sp < marginal_ask[:, None])
    fill_b = better_b + pro_rata(bq, bp == marginal_bid[:, None], volume - better_b.sum(axis=-1))
    fill_s = better_s + pro_rata(sq, sp == marginal_ask[:, None], volume - better_s.sum(axis=-1))
    fill_b *= has_trade[:, None]
    fill_s *= has_trade[:, None]

    # 3. Pairing: lay the fills on one axis in priority order and cut at every breakpoint.
    uniform_price = k * upper + (1.0 - k) * lower

    def pair_price(pairs: Segments) -> np.ndarray:
        if pricing == "uniform":
            return np.broadcast_to(uniform_price[:, None], pairs.end.shape)
        pair_bid = gather(bp, np.minimum(pairs.bpos, kb - 1))
        pair_ask = gather(sp, np.minimum(pairs.spos, ks - 1))
        return k * pair_bid + (1.0 - k) * pair_ask

    market_price = uniform_price if pricing == "uniform" else np.full(m, np.nan)
    return paired_result(fill_b, fill_s, buy, sell, n, batch_shape, pair_price, market_price)


def clearing_interval(
    bq: np.ndarray,
    bp: np.ndarray,
    sq: np.ndarray,
    sp: np.ndarray,
    volume: np.ndarray,
    marginal_bid: np.ndarray,
    marginal_ask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(L, U)`` (M,) of the module docstring: the prices at which the aggregate demand and supply curves both
    allow the traded ``volume``. Sides are in priority order (buyers by bid descending, sellers ascending)."""
    tol = QUANTITY_EPS * np.maximum(volume, 1.0)[:, None]
    next_b = (np.cumsum(bq, axis=-1) <= volume[:, None] + tol).sum(axis=-1)  # first buyer with demand left
    next_s = (np.cumsum(sq, axis=-1) <= volume[:, None] + tol).sum(axis=-1)
    kb, ks = bq.shape[-1], sq.shape[-1]
    next_bid = np.where(next_b < kb, gather(bp, np.minimum(next_b, kb - 1)[:, None])[:, 0], -np.inf)
    next_ask = np.where(next_s < ks, gather(sp, np.minimum(next_s, ks - 1)[:, None])[:, 0], np.inf)
    return np.maximum(marginal_ask, next_bid), np.minimum(marginal_bid, next_ask)
