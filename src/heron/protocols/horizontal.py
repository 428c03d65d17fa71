"""Horizontal protocols: peers coordinate without a central dispatcher.

- ``P2PTradingProtocol``: peers with surplus offer it and peers in deficit bid for it; the book is cleared by
  the shared double-auction kernel (``heron.clearing.clear_double_auction``).
- ``ConsensusProtocol`` (defined in ``heron.protocols.consensus``): distributed averaging and incremental-cost
  (λ) consensus economic dispatch over a communication graph with Metropolis–Hastings weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from heron.clearing import ClearingResult, Trades, clear_double_auction, fee_adjusted_limits, settle_trades
from heron.clearing.auction import Pricing
from heron.errors import ProtocolError
from heron.protocols.consensus import ConsensusProtocol  # the seed's import path for both horizontal protocols

__all__ = ["ConsensusProtocol", "P2PResult", "P2PTradingProtocol"]


@dataclass(frozen=True)
class P2PResult:
    """Outcome of one (batch of) P2P round(s); per-peer arrays have the shape of ``net_position``.

    ``traded``: signed quantity, + bought, − sold. ``payment``: currency, + paid, − received (sums to 0 per
    market). ``fees``: fees paid by each peer to the platform (>= 0, not part of ``payment``). ``price``: uniform
    clearing price per market (NaN if nothing traded or pay-as-bid). ``limit_price``: the order limit prices
    sent to the book (after clipping and the fee shift). ``trades``: the bilateral trades.
    """

    traded: np.ndarray
    payment: np.ndarray
    fees: np.ndarray
    price: np.ndarray
    volume: np.ndarray
    limit_price: np.ndarray
    trades: Trades
    clearing: ClearingResult = field(repr=False)


@dataclass(frozen=True)
class P2PTradingProtocol:
    """Peer-to-peer trading of plain quantities via a double auction.

    Each peer's valuation is its ``marginal_price`` clipped into ``[price_floor, price_cap]``. Both sides pay
    ``fee_per_unit`` per unit they trade, so to stay individually rational including fees, buyers bid
    ``valuation - fee`` and sellers ask ``valuation + fee``: a buyer's all-in unit cost ``price + fee`` never
    exceeds its valuation, and a seller's all-in unit revenue ``price - fee`` is never below its valuation.
    ``k`` and ``pricing`` are passed to the kernel (uniform: one price per market; pay-as-bid: per pair).
    """

    fee_per_unit: float = 0.0
    k: float = 0.5
    pricing: Pricing = "uniform"

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fee_per_unit) and self.fee_per_unit >= 0.0):
            raise ProtocolError(f"fee_per_unit must be finite and >= 0, got {self.fee_per_unit}")
        if not 0.0 <= self.k <= 1.0:
            raise ProtocolError(f"k must be in [0, 1], got {self.k}")
        if self.pricing not in ("uniform", "pay-as-bid"):
            raise ProtocolError(f"pricing must be 'uniform' or 'pay-as-bid', got {self.pricing!r}")

    def clear(
        self, net_position: np.ndarray, marginal_price: np.ndarray, price_floor: float, price_cap: float
    ) -> P2PResult:
        """Clear peers' positions: (..., N) ``net_position`` (> 0 surplus/offer, < 0 deficit/bid) and prices."""
        net = np.asarray(net_position, dtype=float)
        mp = np.asarray(marginal_price, dtype=float)
        if net.shape != mp.shape or net.ndim == 0:
            raise ProtocolError(f"net_position {net.shape} and marginal_price {mp.shape} must have the same shape")
        if not price_floor <= price_cap:
            raise ProtocolError(f"price_floor {price_floor} must be <= price_cap {price_cap}")
        if np.isnan(mp[net != 0]).any():
            raise ProtocolError("marginal_price is NaN for a peer with a non-zero position")
        valuation = np.clip(np.nan_to_num(mp), price_floor, price_cap)
        limit = fee_adjusted_limits(-net, valuation, self.fee_per_unit)  # sellers (net > 0) ask higher, buyers lower
        result = clear_double_auction(-net, limit, k=self.k, pricing=self.pricing)
        payment, fees = settle_trades(result.trades, net.shape, self.fee_per_unit)
        return P2PResult(
            traded=result.filled,
            payment=payment,
            fees=fees,
            price=result.price,
            volume=result.volume,
            limit_price=limit,
            trades=result.trades,
            clearing=result,
        )
