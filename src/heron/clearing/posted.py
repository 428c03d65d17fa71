"""Posted-price clearing: no limit prices, every buy and sell order trades at a price set per market.

The short side of each market is filled in full and the long side pro rata, so the volume is
``min(total demand, total supply)``. Two price rules on a band ``[lo, hi]`` are provided:
- ``mid_band_price``: the middle of the band (a "mid-market rate");
- ``supply_demand_ratio_price``: the supply-demand-ratio rule (Liu et al., 2017): with SDR = supply / demand,
  the price is ``lo * hi / ((hi - lo) * SDR + lo)`` for SDR < 1 (hi at SDR = 0, falling to lo at SDR = 1) and
  ``lo`` for SDR >= 1.
"""

from __future__ import annotations

import numpy as np

from heron.clearing.book import (
    ClearingResult,
    as_book,
    no_trades,
    paired_result,
    pro_rata,
    sort_side,
)
from heron.errors import OrderBookError


def mid_band_price(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Middle of the price band, elementwise."""
    return 0.5 * (np.asarray(lo, dtype=float) + np.asarray(hi, dtype=float))


def supply_demand_ratio_price(supply: np.ndarray, demand: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Supply-demand-ratio price within ``[lo, hi]``, monotone non-increasing in supply / demand."""
    supply, demand, lo, hi = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (supply, demand, lo, hi)))
    sdr = np.divide(supply, demand, out=np.full(supply.shape, np.inf), where=demand > 0)
    denom = (hi - lo) * np.minimum(sdr, 1.0) + lo
    below_one = np.divide(lo * hi, denom, out=hi.copy(), where=denom > 0)
    return np.where(sdr >= 1.0, lo, below_one)


def clear_posted_price(quantity: np.ndarray, price: np.ndarray) -> ClearingResult:
    """Clear markets at posted prices.

    Args:
        quantity: (..., N) signed order quantities, + buy, − sell.
        price: (...,) the posted price of each market.
    """
    price = np.asarray(price, dtype=float)
    q, _, batch_shape = as_book(quantity, np.zeros_like(quantity, dtype=float))
    if price.shape != batch_shape:
        raise OrderBookError(f"posted price shape {price.shape} must equal the batch shape {batch_shape}")
    m, n = q.shape
    posted = price.reshape(m)
    if not np.isfinite(posted).all():
        raise OrderBookError("posted prices must be finite")
    # Index order within each side (no priority): sort by a constant key.
    zeros = np.zeros_like(q)
    buy = sort_side(np.where(q > 0, q, 0.0), zeros, zeros)
    sell = sort_side(np.where(q < 0, -q, 0.0), zeros, zeros)
    if buy.width == 0 or sell.width == 0:
        return no_trades(m, n, batch_shape)
    volume = np.minimum(buy.qty.sum(axis=-1), sell.qty.sum(axis=-1))
    fill_b = pro_rata(buy.qty, buy.qty > 0, volume)
    fill_s = pro_rata(sell.qty, sell.qty > 0, volume)
    return paired_result(
        fill_b,
        fill_s,
        buy,
        sell,
        n,
        batch_shape,
        lambda pairs: np.broadcast_to(posted[:, None], pairs.end.shape),
        posted,
    )
