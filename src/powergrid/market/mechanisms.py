"""P2P mechanisms on one community step: energy orders in kWh, prices in currency/kWh.

``uniform`` (the k-double auction on the clearing interval) and ``pay-as-bid`` are heron's double auction;
``mcafee`` is McAfee's trade-reduction auction (truthful; the marginal traders are left out and the operator keeps
the spread between the marginal bid and ask);
``mid-market`` (the middle of the price band) and ``sdr`` (supply-demand ratio) are posted prices that ignore limit
prices; ``none`` has no P2P market. The caller (the FeasibilityFilter) keeps limit prices inside the band
``[price_floor, price_cap]`` (itself inside ``[feed_in, retail]``).

Fees follow heron's one fee rule (``heron.clearing.fees``): the book sees bids lowered and asks raised by the fee,
(per side: the platform fee plus half the network operator's use-of-system charge ``network_charge_per_kwh``),
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
from powergrid.market.rules import MarketRules


@dataclass(frozen=True)
class MarketOutcome:
    """One step's P2P result. Arrays (N,) — or (K, N) for K independent markets (copies of a community): kWh
    bought and sold, net P2P payment (+ paid, currency), platform fees and network charges paid.

    ``trades`` holds market (copy), buyer, seller, kWh and price per trade (the buyer's price); ``price`` is the
    uniform/posted price (NaN if none; (K,) for K markets). ``operator_surplus`` (currency, (K,) for K markets) is
    what buyers paid beyond what sellers received (McAfee's trade reduction; 0 for the budget-balanced mechanisms).
    """

    bought_kwh: np.ndarray
    sold_kwh: np.ndarray
    p2p_payment: np.ndarray
    fees: np.ndarray
    network_charges: np.ndarray
    price: float | np.ndarray
    trades: Trades
    operator_surplus: float | np.ndarray = 0.0


def _no_trades() -> Trades:
    empty_i = np.zeros(0, dtype=np.int64)
    return Trades(empty_i, empty_i, empty_i, np.zeros(0), np.zeros(0))


def _nothing_traded(shape: tuple[int, ...]) -> MarketOutcome:
    zeros = np.zeros(shape)
    none = float("nan") if len(shape) == 1 else np.full(shape[0], np.nan)
    surplus = 0.0 if len(shape) == 1 else np.zeros(shape[0])
    return MarketOutcome(zeros, zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy(), none, _no_trades(), surplus)


def _per_market(value: float | np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A per-market value (scalar, (K,) or (K, 1)) as an array of the book's batch shape."""
    value = np.asarray(value, dtype=float)
    return np.broadcast_to(value[:, 0] if value.ndim == 2 else value, shape[:-1])


def clear_market(
    config: MarketRules,
    order_kwh: np.ndarray,
    limit_price: np.ndarray,
    price_floor: float | np.ndarray,
    price_cap: float | np.ndarray,
) -> MarketOutcome:
    """Clear the step's orders (+ buy / − sell, kWh) with the scenario's mechanism.

    ``order_kwh`` and ``limit_price`` are (N,) for one market or (K, N) for K independent markets cleared in one
    call (``price_floor``/``price_cap`` then (K, 1) or scalars); the outcome has the orders' shape."""
    shape = order_kwh.shape
    batched = len(shape) == 2
    fee = config.fee_per_kwh + 0.5 * config.network_charge_per_kwh  # what each side pays per kWh
    if config.mechanism == "none" or not ((order_kwh > 0).any() and (order_kwh < 0).any()):
        return _nothing_traded(shape)
    if config.mechanism in ("uniform", "pay-as-bid"):
        limits = fee_adjusted_limits(order_kwh, limit_price, fee)
        result = clear_double_auction(order_kwh, limits, k=config.k, pricing=config.mechanism)
    elif config.mechanism == "mcafee":
        result = clear_trade_reduction(order_kwh, fee_adjusted_limits(order_kwh, limit_price, fee))
    else:
        lo, hi = (_per_market(x, shape) for x in fee_band(price_floor, price_cap, fee))
        empty = lo > hi  # the fees exceed the price band: no trade leaves both sides better off
        if empty.all():
            return _nothing_traded(shape)
        if empty.any():
            order_kwh = np.where(empty[:, None], 0.0, order_kwh)
            lo, hi = np.where(empty, 0.0, lo), np.where(empty, 0.0, hi)
        if config.mechanism == "mid-market":
            posted = mid_band_price(lo, hi)
        else:
            supply = np.maximum(-order_kwh, 0.0).sum(axis=-1)
            demand = np.maximum(order_kwh, 0.0).sum(axis=-1)
            posted = supply_demand_ratio_price(supply, demand, lo, hi)
        result = clear_posted_price(order_kwh, np.asarray(posted, dtype=float))
    payment, units = settle_trades(result.trades, shape, 1.0, result.seller_price)  # units: kWh each order traded
    surplus = payment.sum(axis=-1) if result.seller_price is not None else np.zeros(shape[:-1])
    return MarketOutcome(
        bought_kwh=np.maximum(result.filled, 0.0),
        sold_kwh=np.maximum(-result.filled, 0.0),
        p2p_payment=payment,
        fees=config.fee_per_kwh * units,
        network_charges=0.5 * config.network_charge_per_kwh * units,
        price=result.price if batched else float(result.price),
        trades=result.trades,
        operator_surplus=surplus if batched else float(surplus),
    )
