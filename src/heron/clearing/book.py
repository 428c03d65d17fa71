"""Order-book helpers shared by the clearing kernels: batching, sorting, interval pairing.

An order book is two arrays of shape ``(..., N)``: a signed ``quantity`` (+ buy, − sell, 0 = no order) and a
limit ``price``. A leading batch dimension clears many independent markets at once. Everything is numpy along
the last axis: no Python loop over orders or markets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from heron.errors import OrderBookError

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
    pricing); ``volume`` the traded quantity of each market. Fills are the sums of the trades, so quantity balance
    holds by construction. ``seller_price`` (markets,) is set only where sellers receive another price than buyers
    pay (the trade-reduction auction: the difference stays with the market operator); None = the trade prices.
    """

    filled: np.ndarray
    price: np.ndarray
    volume: np.ndarray
    trades: Trades
    seller_price: np.ndarray | None = None


def as_book(quantity: np.ndarray, price: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """Validate a book and flatten its batch dimensions to shape (M, N). Returns (q, p, batch_shape)."""
    q = np.asarray(quantity, dtype=float)
    p = np.asarray(price, dtype=float)
    if q.shape != p.shape:
        raise OrderBookError(f"quantity {q.shape} and price {p.shape} must have the same shape")
    if q.ndim == 0:
        raise OrderBookError("an order book needs at least one dimension (orders)")
    if not np.isfinite(q).all():
        raise OrderBookError("order quantities must be finite")
    p = np.where(q != 0, p, 0.0)
    if not np.isfinite(p).all():
        raise OrderBookError("limit prices of non-zero orders must be finite")
    n, batch_shape = q.shape[-1], q.shape[:-1]
    m = int(np.prod(batch_shape, dtype=int))  # explicit: reshape(-1, 0) is ambiguous for books without orders
    return q.reshape(m, n), p.reshape(m, n), batch_shape


def gather(arr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``arr[m, idx[m, j]]`` for (M, N) arrays (a cheaper ``take_along_axis`` for the last axis)."""
    rows, n = arr.shape
    if rows == 1:
        return arr.ravel().take(idx)
    return arr.ravel().take(idx + (np.arange(rows) * n)[:, None])


@dataclass(frozen=True)
class Side:
    """One side of the books in priority order, shape (M, K) with K the most orders any market has on this side.

    ``order`` holds order indices within the market, ``qty`` quantities > 0 (0 = padding past the market's last
    order), ``price`` limit prices.
    """

    order: np.ndarray
    qty: np.ndarray
    price: np.ndarray

    @property
    def width(self) -> int:
        return int(self.qty.shape[-1])


def sort_side(qty: np.ndarray, price: np.ndarray, key: np.ndarray) -> Side:
    """Orders with ``qty`` > 0 sorted by ``key`` ascending (stable: ties in order-index order), padded to width."""
    active = qty > 0
    if active.shape[0] == 1:
        idx = np.flatnonzero(active[0])
        order = idx[np.argsort(key[0, idx], kind="stable")][None, :]
    else:
        width = int(active.sum(axis=-1).max())
        order = np.argsort(np.where(active, key, np.inf), axis=-1, kind="stable")[:, :width]
    return Side(order=order, qty=gather(qty, order), price=gather(price, order))


def sorted_sides(q: np.ndarray, p: np.ndarray) -> tuple[Side, Side]:
    """Buyers by limit price descending and sellers ascending (ties by order index)."""
    buy_q = np.where(q > 0, q, 0.0)
    sell_q = np.where(q < 0, -q, 0.0)
    return sort_side(buy_q, p, -p), sort_side(sell_q, p, p)


@dataclass(frozen=True)
class Segments:
    """Overlaps of two sequences of consecutive intervals laid on one quantity axis, shape (M, Kb + Ks) each.

    Segment k spans (start[k], end[k]] and belongs to buyer position ``bpos[k]`` and seller position
    ``spos[k]`` (positions in the sorted sides; ``bpos == Kb`` or ``spos == Ks`` past a side's total).
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

    ``buy_qty`` (M, Kb) and ``sell_qty`` (M, Ks) are quantities in priority order. A piece ending at a breakpoint
    belongs to the buyer (seller) whose interval contains it: the count of buyer (seller) breakpoints strictly
    before it in the merged order.
    """
    kb = buy_qty.shape[-1]
    cuts = np.concatenate([np.cumsum(buy_qty, axis=-1), np.cumsum(sell_qty, axis=-1)], axis=-1)
    # Both halves are sorted runs, so the stable sort is a linear merge (timsort); buyers first on ties.
    order = np.argsort(cuts, axis=-1, kind="stable")
    end = gather(cuts, order)
    is_buy_sorted = order < kb
    start = np.empty_like(end)
    start[:, 0] = 0.0
    start[:, 1:] = end[:, :-1]
    buys_before = np.cumsum(is_buy_sorted, axis=-1) - is_buy_sorted
    sells_before = np.arange(cuts.shape[-1])[None, :] - buys_before
    return Segments(start=start, end=end, bpos=buys_before, spos=sells_before)


def valid_pairs(seg: Segments, kb: int, ks: int) -> np.ndarray:
    """Segments of positive length that lie inside both sides' totals."""
    return (seg.bpos < kb) & (seg.spos < ks) & (seg.length > QUANTITY_EPS)


@dataclass(frozen=True)
class Crossing:
    """The efficient crossing of sorted books, arrays (M,): traded ``volume``, whether anything trades, and the
    ``marginal_bid``/``marginal_ask`` — the prices of the last units that can trade (meaningless where nothing
    trades)."""

    volume: np.ndarray
    has_trade: np.ndarray
    marginal_bid: np.ndarray
    marginal_ask: np.ndarray


def crossing(buy: Side, sell: Side) -> Crossing:
    """Merge the two cumulative curves (buyers by bid descending, sellers by ask ascending, both non-empty): the
    tradeable pieces, where the bid is at least the ask, are a prefix of the quantity axis."""
    kb, ks = buy.width, sell.width
    seg = overlap_segments(buy.qty, sell.qty)
    seg_bid = gather(buy.price, np.minimum(seg.bpos, kb - 1))
    seg_ask = gather(sell.price, np.minimum(seg.spos, ks - 1))
    tradeable = valid_pairs(seg, kb, ks) & (seg_bid >= seg_ask)
    volume = np.where(tradeable, seg.length, 0.0).sum(axis=-1)
    last = np.where(tradeable, np.arange(kb + ks)[None, :], -1).max(axis=-1)
    at = np.maximum(last, 0)[:, None]
    return Crossing(volume, last >= 0, gather(seg_bid, at)[:, 0], gather(seg_ask, at)[:, 0])


def trades_from_segments(
    seg: Segments, valid: np.ndarray, buy_order: np.ndarray, sell_order: np.ndarray, price: np.ndarray
) -> Trades:
    """Turn the valid segments into flat trade arrays; ``price`` is (M, Kb + Ks) per segment."""
    width = valid.shape[-1]
    flat = np.flatnonzero(valid)
    market = flat // width
    bpos = seg.bpos.ravel().take(flat)
    spos = seg.spos.ravel().take(flat)
    return Trades(
        market=market,
        buyer=buy_order.ravel().take(market * buy_order.shape[-1] + bpos),
        seller=sell_order.ravel().take(market * sell_order.shape[-1] + spos),
        quantity=seg.end.ravel().take(flat) - seg.start.ravel().take(flat),
        price=np.ascontiguousarray(price).ravel().take(flat),
    )


def paired_result(
    fill_b: np.ndarray,
    fill_s: np.ndarray,
    buy: Side,
    sell: Side,
    n_orders: int,
    batch_shape: tuple[int, ...],
    pair_price: Callable[[Segments], np.ndarray],
    market_price: np.ndarray,
    seller_price: np.ndarray | None = None,
) -> ClearingResult:
    """The common end of every kernel: lay the fills (M, K) of each side on one axis in priority order, cut at every
    breakpoint into trades priced by ``pair_price(segments)`` (M, Kb + Ks), and report fills, ``market_price`` (M,)
    (NaN where nothing traded), volume and trades in the book's batch shape."""
    pairs = overlap_segments(fill_b, fill_s)
    valid = valid_pairs(pairs, buy.width, sell.width)
    trades = trades_from_segments(pairs, valid, buy.order, sell.order, pair_price(pairs))
    m = fill_b.shape[0]
    traded = volume_from_trades(trades, m)
    return ClearingResult(
        filled=fills_from_trades(trades, m, n_orders).reshape(*batch_shape, n_orders),
        price=np.where(traded > 0, market_price, np.nan).reshape(batch_shape),
        volume=traded.reshape(batch_shape),
        trades=trades,
        seller_price=None if seller_price is None else np.where(traded > 0, seller_price, np.nan),
    )


def no_trades(n_markets: int, n_orders: int, batch_shape: tuple[int, ...]) -> ClearingResult:
    """The result of markets in which nothing can trade."""
    empty_i = np.zeros(0, dtype=np.int64)
    return ClearingResult(
        filled=np.zeros((*batch_shape, n_orders)),
        price=np.full(batch_shape, np.nan),
        volume=np.zeros(batch_shape),
        trades=Trades(empty_i, empty_i, empty_i, np.zeros(0), np.zeros(0)),
    )


def fills_from_trades(trades: Trades, n_markets: int, n_orders: int) -> np.ndarray:
    """Signed fill per order (+ bought, − sold), shape (M, N) float, summed from the trades."""
    flat = n_markets * n_orders
    bought = np.bincount(trades.market * n_orders + trades.buyer, weights=trades.quantity, minlength=flat)
    sold = np.bincount(trades.market * n_orders + trades.seller, weights=trades.quantity, minlength=flat)
    return (bought - sold).astype(float).reshape(n_markets, n_orders)  # bincount of no trades is int


def volume_from_trades(trades: Trades, n_markets: int) -> np.ndarray:
    """Traded quantity per market, shape (M,)."""
    return np.bincount(trades.market, weights=trades.quantity, minlength=n_markets).astype(float)


def pro_rata(qty: np.ndarray, eligible: np.ndarray | bool, total: np.ndarray | float) -> np.ndarray:
    """The one pro-rata rule: share ``total`` (..., a scalar for one pool) among the ``eligible`` entries of each
    pool (..., N) in proportion to ``qty``, never more than an entry's ``qty`` (the rest is not allocated), nothing
    when ``total`` <= 0. Used to ration market orders, feeder-limit cuts and controllers' shares alike."""
    eligible_qty = np.where(eligible, qty, 0.0)
    pool = eligible_qty.sum(axis=-1, keepdims=True)
    wanted = np.maximum(np.asarray(total, dtype=float), 0.0)[..., None]
    share = np.divide(wanted, pool, out=np.zeros(np.broadcast_shapes(wanted.shape, pool.shape)), where=pool > 0)
    return eligible_qty * np.minimum(share, 1.0)
