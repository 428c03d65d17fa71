"""McAfee's trade-reduction double auction (McAfee 1992, "A dominant strategy double auction", J. Econ. Theory 56;
for divisible orders with one limit price per trader: Huang, Scheller-Wolf & Sycara 2002, "Design of a multi-unit
double auction e-market", Computational Intelligence 18).

1. Find the efficient crossing of the book (as the k-double auction does): the marginal bid level ``b*`` and the
   marginal ask level ``s*`` (the prices of the last units that can trade).
2. Reduce: every order *at* a marginal level is left out; the buyers bidding strictly above ``b*`` and the sellers
   asking strictly below ``s*`` trade. The longer side is rationed pro rata to quantity (never by price).
3. Buyers pay ``b*`` and sellers receive ``s*`` per unit; the difference ``(b* − s*) · volume`` stays with the
   market operator.

Properties (tested): truthful in dominant strategies in the limit price (no unilateral misreport raises a trader's
surplus: the price a trader pays or receives is set by others, and a misreport only moves it in or out of the
trading set, never both in and to a better price); individually rational; weakly budget balanced (the operator
never pays); order independent. The price of truthfulness is volume: the marginal traders never trade, so a book
whose crossing has one price level per side trades nothing. McAfee's other case (all k trade at the mean of the
first excluded bid and ask, when that lies between ``s*`` and ``b*``) is not used: with divisible orders and
rationing it lets an excluded buyer gain by overbidding.
"""

from __future__ import annotations

import numpy as np

from heron.clearing.book import (
    ClearingResult,
    as_book,
    crossing,
    no_trades,
    paired_result,
    pro_rata,
    sorted_sides,
)


def clear_trade_reduction(quantity: np.ndarray, price: np.ndarray) -> ClearingResult:
    """Clear one or many books by trade reduction.

    Args:
        quantity: (..., N) signed order quantities, + buy, − sell, 0 = no order.
        price: (..., N) limit prices (ignored where quantity is 0).

    Returns:
        ClearingResult: ``filled`` (..., N); ``price`` (...,) the price buyers pay (``b*``; NaN where nothing
        traded); ``seller_price`` (markets,) the price sellers receive (``s*``); trades carry the buyers' price.
    """
    q, p, batch_shape = as_book(quantity, price)
    m, n = q.shape
    buy, sell = sorted_sides(q, p)
    kb, ks = buy.width, sell.width
    if kb == 0 or ks == 0:
        result = no_trades(m, n, batch_shape)
        return ClearingResult(result.filled, result.price, result.volume, result.trades, np.full(m, np.nan))
    bq, bp, sq, sp = buy.qty, buy.price, sell.qty, sell.price
    cross = crossing(buy, sell)  # the same efficient crossing as the k-double auction's
    crossed, marginal_bid, marginal_ask = cross.has_trade, cross.marginal_bid, cross.marginal_ask

    win_b = (bp > marginal_bid[:, None]) & crossed[:, None]
    win_s = (sp < marginal_ask[:, None]) & crossed[:, None]
    volume = np.minimum(np.where(win_b, bq, 0.0).sum(axis=-1), np.where(win_s, sq, 0.0).sum(axis=-1))
    fill_b = pro_rata(bq, win_b, volume)  # the longer side rationed pro rata to quantity, never by price
    fill_s = pro_rata(sq, win_s, volume)

    return paired_result(
        fill_b,
        fill_s,
        buy,
        sell,
        n,
        batch_shape,
        lambda pairs: np.broadcast_to(marginal_bid[:, None], pairs.end.shape),
        marginal_bid,
        seller_price=marginal_ask,
    )
