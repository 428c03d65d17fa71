"""P2P mechanisms on one community step: energy orders in kWh, prices in currency/kWh.

``uniform`` and ``pay-as-bid`` are heron's double auction; ``mid-market`` (the middle of the price band) and
``sdr`` (supply-demand ratio) are posted prices that ignore limit prices; ``none`` has no P2P market. The caller
(the FeasibilityFilter) keeps limit prices inside the band ``[price_floor, price_cap]`` (itself inside
``[feed_in, retail]``), so every trade price lies in the band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron.clearing import (
    Trades,
    clear_double_auction,
    clear_posted_price,
    mid_band_price,
    supply_demand_ratio_price,
)
from powergrid.scenarios.model import MarketConfig


@dataclass(frozen=True)
class MarketOutcome:
    """One step's P2P result. Arrays (N,): kWh bought and sold, net P2P payment (+ paid, currency), fees paid.

    ``trades`` holds buyer, seller, kWh and price per trade; ``price`` is the uniform/posted price (NaN if none).
    """

    bought_kwh: np.ndarray
    sold_kwh: np.ndarray
    p2p_payment: np.ndarray
    fees: np.ndarray
    price: float
    trades: Trades


def _no_trades() -> Trades:
    empty_i = np.zeros(0, dtype=np.int64)
    return Trades(empty_i, empty_i, empty_i, np.zeros(0), np.zeros(0))


def clear_market(
    config: MarketConfig, order_kwh: np.ndarray, limit_price: np.ndarray, price_floor: float, price_cap: float
) -> MarketOutcome:
    """Clear the step's orders (+ buy / − sell, kWh) with the scenario's mechanism."""
    n = order_kwh.shape[0]
    if config.mechanism == "none" or not ((order_kwh > 0).any() and (order_kwh < 0).any()):
        zeros = np.zeros(n)
        return MarketOutcome(zeros, zeros.copy(), zeros.copy(), zeros.copy(), float("nan"), _no_trades())
    if config.mechanism in ("uniform", "pay-as-bid"):
        result = clear_double_auction(order_kwh, limit_price, k=config.k, pricing=config.mechanism)
    else:
        if config.mechanism == "mid-market":
            posted = mid_band_price(price_floor, price_cap)
        else:
            supply = -order_kwh[order_kwh < 0].sum()
            demand = order_kwh[order_kwh > 0].sum()
            posted = supply_demand_ratio_price(supply, demand, price_floor, price_cap)
        result = clear_posted_price(order_kwh, np.asarray(posted, dtype=float))
    trades = result.trades
    value = trades.quantity * trades.price
    paid = np.bincount(trades.buyer, weights=value, minlength=n)
    received = np.bincount(trades.seller, weights=value, minlength=n)
    bought = np.maximum(result.filled, 0.0)
    sold = np.maximum(-result.filled, 0.0)
    return MarketOutcome(
        bought_kwh=bought,
        sold_kwh=sold,
        p2p_payment=paid - received,
        fees=config.fee_per_kwh * (bought + sold),
        price=float(result.price),
        trades=trades,
    )
