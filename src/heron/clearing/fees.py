"""The one fee rule of every market path, and the one settlement of a trade list into payments and fees.

A platform fee ``fee_per_unit`` is paid by buyer and seller each, per unit traded. A match happens only if
``bid - fee >= ask + fee``, and prices are set on the fee-shifted limits, so that counting the fee no buyer pays
more per unit than its bid and no seller receives less than its ask (individual rationality including fees):
buyers bid ``bid - fee`` into the book and sellers ask ``ask + fee``. Posted prices (no limits) are set inside the
band shrunk by the fee on both sides; an empty band means no trade.
"""

from __future__ import annotations

import numpy as np

from heron.clearing.book import Trades


def fee_adjusted_limits(quantity: np.ndarray, limit: np.ndarray, fee_per_unit: float) -> np.ndarray:
    """Limits as the book sees them (..., N): buyers (quantity > 0) bid ``limit - fee``, sellers ask ``limit + fee``."""
    q, p = np.asarray(quantity, dtype=float), np.asarray(limit, dtype=float)
    return p - np.sign(q) * fee_per_unit


def fee_band(lo: float | np.ndarray, hi: float | np.ndarray, fee_per_unit: float) -> tuple[np.ndarray, np.ndarray]:
    """The posted-price band ``[lo + fee, hi - fee]`` in which a trade leaves both sides no worse off than their
    outside options ``lo`` (seller) and ``hi`` (buyer); empty (lo' > hi') when the fees exceed the spread."""
    return np.asarray(lo, dtype=float) + fee_per_unit, np.asarray(hi, dtype=float) - fee_per_unit


def settle_trades(
    trades: Trades, shape: tuple[int, ...], fee_per_unit: float, seller_price: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(payment, fees) per order, arrays of ``shape`` (..., N) (the book's): payment + paid / − received, fees =
    ``fee_per_unit`` × the units each order traded (>= 0). Buyers pay the trade prices; sellers receive them too
    (payments sum to 0 per market: budget balanced) unless ``seller_price`` (markets,) says otherwise (the
    trade-reduction auction; payments then sum to the operator's surplus)."""
    n = shape[-1] if shape else 0
    m = int(np.prod(shape[:-1], dtype=int)) if shape else 0
    value = trades.quantity * trades.price
    sold_value = value if seller_price is None else trades.quantity * np.asarray(seller_price)[trades.market]
    flat = m * n
    paid = np.bincount(trades.market * n + trades.buyer, weights=value, minlength=flat)
    received = np.bincount(trades.market * n + trades.seller, weights=sold_value, minlength=flat)
    units = np.bincount(trades.market * n + trades.buyer, weights=trades.quantity, minlength=flat) + np.bincount(
        trades.market * n + trades.seller, weights=trades.quantity, minlength=flat
    )
    return (paid - received).astype(float).reshape(shape), (fee_per_unit * units).astype(float).reshape(shape)
