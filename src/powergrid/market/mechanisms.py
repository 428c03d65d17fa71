"""P2P mechanisms on one community step: energy orders in kWh, prices in currency/kWh.

``uniform`` (the k-double auction on the clearing interval) and ``pay-as-bid`` are heron's double auction;
``mcafee`` is McAfee's trade-reduction auction (truthful; the marginal traders are left out and the operator keeps
the spread between the marginal bid and ask);
``mid-market`` (the middle of the price band) and ``sdr`` (supply-demand ratio) are posted prices that ignore limit
prices; ``none`` has no P2P market. The caller (the FeasibilityFilter) keeps limit prices inside the band
``[price_floor, price_cap]`` (itself inside ``[feed_in, retail]``).

Fees follow heron's one fee rule (``heron.clearing.fees``): the book sees bids lowered and asks raised by the fee,
posted prices lie in the band shrunk by the fee on both sides, so counting fees no buyer pays more per kWh than its
bid (≤ retail) and no seller receives less than its ask (≥ feed-in); payments and fees come from one settlement of
the trade list (``settle_trades``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron.clearing import (
    Trades,
    clear_double_auction,
    clear_posted_price,
    clear_trade_reduction,
    fee_adjusted_limits,
    fee_band,
    mid_band_price,
    settle_trades,
    supply_demand_ratio_price,
)
from powergrid.scenarios.model import MarketConfig


@dataclass(frozen=True)
class MarketOutcome:
    """One step's P2P result. Arrays (N,): kWh bought and sold, net P2P payment (+ paid, currency), fees paid.

    ``trades`` holds buyer, seller, kWh and price per trade (the buyer's price); ``price`` is the uniform/posted
    price (NaN if none). ``operator_surplus`` (currency) is what buyers paid beyond what sellers received (McAfee's
    trade reduction; 0 for the budget-balanced mechanisms).
    """

    bought_kwh: np.ndarray
    sold_kwh: np.ndarray
    p2p_payment: np.ndarray
    fees: np.ndarray
    price: float
    trades: Trades
    operator_surplus: float = 0.0


def _no_trades() -> Trades:
    empty_i = np.zeros(0, dtype=np.int64)
    return Trades(empty_i, empty_i, empty_i, np.zeros(0), np.zeros(0))


def clear_market(
    config: MarketConfig, order_kwh: np.ndarray, limit_price: np.ndarray, price_floor: float, price_cap: float
) -> MarketOutcome:
    """Clear the step's orders (+ buy / − sell, kWh) with the scenario's mechanism."""
    n = order_kwh.shape[0]
    fee = config.fee_per_kwh
    if config.mechanism == "none" or not ((order_kwh > 0).any() and (order_kwh < 0).any()):
        zeros = np.zeros(n)
        return MarketOutcome(zeros, zeros.copy(), zeros.copy(), zeros.copy(), float("nan"), _no_trades())
    if config.mechanism in ("uniform", "pay-as-bid"):
        limits = fee_adjusted_limits(order_kwh, limit_price, fee)
        result = clear_double_auction(order_kwh, limits, k=config.k, pricing=config.mechanism)
    elif config.mechanism == "mcafee":
        result = clear_trade_reduction(order_kwh, fee_adjusted_limits(order_kwh, limit_price, fee))
    else:
        lo, hi = fee_band(price_floor, price_cap, fee)
        if lo > hi:  # the fees exceed the price band: no trade leaves both sides better off
            zeros = np.zeros(n)
            return MarketOutcome(zeros, zeros.copy(), zeros.copy(), zeros.copy(), float("nan"), _no_trades())
        if config.mechanism == "mid-market":
            posted = mid_band_price(lo, hi)
        else:
            supply = -order_kwh[order_kwh < 0].sum()
            demand = order_kwh[order_kwh > 0].sum()
            posted = supply_demand_ratio_price(supply, demand, lo, hi)
        result = clear_posted_price(order_kwh, np.asarray(posted, dtype=float))
    payment, fees = settle_trades(result.trades, order_kwh.shape, fee, result.seller_price)
    return MarketOutcome(
        bought_kwh=np.maximum(result.filled, 0.0),
        sold_kwh=np.maximum(-result.filled, 0.0),
        p2p_payment=payment,
        fees=fees,
        price=float(result.price),
        trades=result.trades,
        operator_surplus=float(payment.sum()) if result.seller_price is not None else 0.0,
    )
