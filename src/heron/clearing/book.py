"""Order-book helpers shared by the clearing kernels: batching, sorting, interval pairing.

An order book is two arrays of shape ``(..., N)``: a signed ``quantity`` (+ buy, − sell, 0 = no order) and a
limit ``price``. A leading batch dimension clears many independent markets at once. Everything is numpy along
the last axis: no Python loop over orders or markets.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Quantities below this are treated as zero when cutting trades (units of quantity).
QUANTITY_EPS = 1e-12


@dataclass(frozen=True)
class Trades:
    """Bilateral trades of a (batch of) cleared market(s), as flat arrays of length K.

    ``market`` indexes the flattened batch (0 for an unbatched book); ``buyer`` and ``seller`` index orders
    within their market; ``quantity`` > 0 and ``price`` are per trade.
    """

    market: np.ndarray
    buyer: np.ndarray
    seller: np.ndarray
    quantity: np.ndarray
    price: np.ndarray

    def __len__(self) -> int:
        return int(self.quantity.shape[0])


@dataclass(frozen=True)
class ClearingResult:
    """Outcome of clearing: per-order signed fills (+ bought, − sold), per-market price and volume, trades.

    ``price`` is the uniform/posted price of each market (NaN where nothing traded, and for discriminatory
    pricing); ``volume`` the traded quantity of each market. Fills are the sums of the trades, so budget and
    quantity balance hold by construction.
    """

    filled: np.ndarray
    price: np.ndarray
    volume: np.ndarray
    trades: Trades


def as_book(quantity: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Validate a book and flatten its batch dimensions to shape (M, N). Returns (q, p, batch_shape)."""
    q = np.asarray(quantity, dtype=float)
    p = np.asarray(price, dtype=float)
    if q.shape != p.shape:
        raise ValueError(f"quantity {q.shape} and price {p.shape} must have the same shape")
    if q.ndim == 0:
        raise ValueError("an order book needs at least one dimension (orders)")
    if not np.isfinite(q).all():
        raise ValueError("order quantities must be finite")
    if not np.isfinite(p[q != 0]).all():
        raise ValueError("limit prices of non-zero orders must be finite")
    batch_shape = q.shape[:-1]
    n = q.shape[-1]
    return q.reshape(-1, n), np.where(q != 0, p, 0.0).reshape(-1, n), batch_shape


def sorted_sides(q: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sort buyers by price descending and sellers by price ascending (stable: ties keep order index order).

    Returns (buy_order, buy_qty, buy_price, sell_order, sell_qty, sell_price), each (M, N); non-participants
    sort last with zero quantity.
    """
    buy_q = np.where(q > 0, q, 0.0)
    sell_q = np.where(q < 0, -q, 0.0)
    buy_order = np.argsort(np.where(buy_q > 0, -p, np.inf), axis=-1, kind="stable")
    sell_order = np.argsort(np.where(sell_q > 0, p, np.inf), axis=-1, kind="stable")
    return (
        buy_order,
        np.take_along_axis(buy_q, buy_order, axis=-1),
        np.take_along_axis(p, buy_order, axis=-1),
        sell_order,
        np.take_along_axis(sell_q, sell_order, axis=-1),
        np.take_along_axis(p, sell_order, axis=-1),
    )


@dataclass(frozen=True)
class Segments:
    """Overlaps of two sequences of consecutive intervals laid on one quantity axis, shape (M, 2N) each.

    Segment k spans (start[k], end[k]] and belongs to buyer position ``bpos[k]`` and seller position
    ``spos[k]`` (positions in the sorted sides; may be N, out of range, past a side's total).
    """

    start: np.ndarray
    end: np.ndarray
    bpos: np.ndarray
    spos: np.ndarray

    @property
    def length(self) -> np.ndarray:
        return self.end - self.start


def overlap_segments(buy_qty: np.ndarray, sell_qty: np.ndarray) -> Segments:
    """Cut the axis at every cumulative buyer and seller quantity and attribute each piece to one of each.

    ``buy_qty`` and ``sell_qty`` are (M, N) quantities in sorted priority order. A piece ending at a breakpoint
    belongs to the buyer (seller) whose interval contains it: the count of buyer (seller) breakpoints strictly
    before it in the merged order.
    """
    m, n = buy_qty.shape
    cuts = np.concatenate([np.cumsum(buy_qty, axis=-1), np.cumsum(sell_qty, axis=-1)], axis=-1)
    is_buy = np.concatenate([np.ones((m, n), dtype=np.int64), np.zeros((m, n), dtype=np.int64)], axis=-1)
    order = np.argsort(cuts, axis=-1, kind="stable")
    end = np.take_along_axis(cuts, order, axis=-1)
    is_buy_sorted = np.take_along_axis(is_buy, order, axis=-1)
    start = np.concatenate([np.zeros((m, 1)), end[:, :-1]], axis=-1)
    buys_before = np.cumsum(is_buy_sorted, axis=-1) - is_buy_sorted
    sells_before = np.arange(2 * n)[None, :] - buys_before
    return Segments(start=start, end=end, bpos=buys_before, spos=sells_before)


def trades_from_segments(
    seg: Segments,
    valid: np.ndarray,
    buy_order: np.ndarray,
    sell_order: np.ndarray,
    price: np.ndarray,
) -> Trades:
    """Turn the valid segments into flat trade arrays; ``price`` is (M, 2N) per segment."""
    mk, k = np.nonzero(valid)
    bpos = seg.bpos[mk, k]
    spos = seg.spos[mk, k]
    return Trades(
        market=mk,
        buyer=buy_order[mk, bpos],
        seller=sell_order[mk, spos],
        quantity=seg.length[mk, k],
        price=price[mk, k],
    )


def fills_from_trades(trades: Trades, n_markets: int, n_orders: int) -> np.ndarray:
    """Signed fill per order (+ bought, − sold), shape (M, N), summed from the trades."""
    flat = n_markets * n_orders
    bought = np.bincount(trades.market * n_orders + trades.buyer, weights=trades.quantity, minlength=flat)
    sold = np.bincount(trades.market * n_orders + trades.seller, weights=trades.quantity, minlength=flat)
    return (bought - sold).reshape(n_markets, n_orders)


def volume_from_trades(trades: Trades, n_markets: int) -> np.ndarray:
    """Traded quantity per market, shape (M,)."""
    return np.bincount(trades.market, weights=trades.quantity, minlength=n_markets)


def pro_rata(qty: np.ndarray, eligible: np.ndarray, total: np.ndarray) -> np.ndarray:
    """Share ``total`` (M,) among the ``eligible`` orders of each market in proportion to ``qty``."""
    eligible_qty = np.where(eligible, qty, 0.0)
    pool = eligible_qty.sum(axis=-1, keepdims=True)
    share = np.divide(total[:, None], pool, out=np.zeros_like(pool), where=pool > 0)
    return eligible_qty * np.minimum(share, 1.0)
