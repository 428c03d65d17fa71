"""Horizontal protocols: peers coordinate without a central dispatcher.

- ``P2PTradingProtocol``: peers with surplus offer it and peers in deficit bid for it; the book is cleared by
  the shared double-auction kernel (``heron.clearing.clear_double_auction``).
- ``ConsensusProtocol``: distributed averaging and incremental-cost (λ) consensus economic dispatch over a
  communication graph with Metropolis–Hastings weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from heron.clearing import ClearingResult, Trades, clear_double_auction, fee_adjusted_limits, settle_trades
from heron.clearing.auction import Pricing
from heron.errors import ProtocolError


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


def metropolis_weights(graph: np.ndarray) -> np.ndarray:
    """Metropolis–Hastings weights: ``W_ij = 1 / (1 + max(d_i, d_j))`` on edges, ``W_ii = 1 - sum_j W_ij``.

    Symmetric and doubly stochastic for an undirected graph, so averaging preserves the sum.
    """
    adj = np.asarray(graph, dtype=bool)
    deg = adj.sum(axis=1)
    w = np.where(adj, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    np.fill_diagonal(w, 1.0 - w.sum(axis=1))
    return w


def is_connected(graph: np.ndarray) -> bool:
    """Whether the undirected graph is connected (reachability by repeated boolean products)."""
    adj = np.asarray(graph, dtype=bool) | np.eye(len(graph), dtype=bool)
    reach = adj[0]
    while True:
        nxt = adj[reach].any(axis=0)
        if (nxt == reach).all():
            return bool(reach.all())
        reach = nxt


@dataclass(frozen=True)
class ConsensusProtocol:
    """Consensus over an undirected communication graph (``graph``: (N, N) symmetric bool adjacency).

    Every iteration each agent only mixes its own state with its neighbours' via the Metropolis weights ``W``;
    the loop is over iterations, each a single matrix product. Convergence is declared when the spread
    ``max - min`` of the consensus variable is below ``tolerance * max(1, max|x|)`` (and, for dispatch, the
    supply-demand mismatch likewise); exceeding ``max_iterations`` raises ``RuntimeError``.
    """

    graph: np.ndarray
    tolerance: float = 1e-8
    max_iterations: int = 10_000
    weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        adj = np.asarray(self.graph)
        if adj.ndim != 2 or adj.shape[0] != adj.shape[1] or adj.shape[0] == 0:
            raise ProtocolError(f"graph must be a non-empty square adjacency matrix, got shape {adj.shape}")
        adj = adj.astype(bool)
        if not (adj == adj.T).all():
            raise ProtocolError("graph must be symmetric (undirected)")
        adj = adj & ~np.eye(adj.shape[0], dtype=bool)
        if not is_connected(adj):
            raise ProtocolError("graph is disconnected: consensus cannot reach every agent")
        if not self.tolerance > 0 or self.max_iterations < 1:
            raise ProtocolError("tolerance must be > 0 and max_iterations >= 1")
        object.__setattr__(self, "graph", adj)
        object.__setattr__(self, "weights", metropolis_weights(adj))

    @property
    def n(self) -> int:
        return int(self.graph.shape[0])

    def _converged(self, x: np.ndarray) -> bool:
        scale = max(1.0, float(np.abs(x).max()))
        return bool((x.max(axis=0) - x.min(axis=0)).max() <= self.tolerance * scale)

    def average(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Average consensus ``x <- W x`` on (N,) or (N, D) values. Returns (every agent's estimate, iterations)."""
        x = np.asarray(values, dtype=float)
        if x.shape[:1] != (self.n,) or not np.isfinite(x).all():
            raise ProtocolError(f"values must be finite with {self.n} rows (one per agent), got shape {x.shape}")
        for it in range(self.max_iterations + 1):
            if self._converged(x):
                return x, it
            x = self.weights @ x
        raise RuntimeError(f"average consensus did not converge in {self.max_iterations} iterations")

    def economic_dispatch(
        self,
        a: np.ndarray,
        b: np.ndarray,
        pmin: np.ndarray,
        pmax: np.ndarray,
        demand: float | np.ndarray,
        step_size: float | None = None,
    ) -> tuple[np.ndarray, float, int]:
        """Minimise Σ a_i p_i² + b_i p_i s.t. Σ p_i = demand, pmin <= p <= pmax, by λ-consensus.

        ``demand`` is the total (split evenly as local demand d_i) or an (N,) vector of local demands. Scheme
        (consensus with a mismatch-tracking correction, Yang, Tan & Xu 2013)::

            λ(k+1) = W λ(k) + ε y(k)
            p(k+1) = clip((λ(k+1) - b) / (2a), pmin, pmax)
            y(k+1) = W y(k) - (p(k+1) - p(k)),   y(0) = d - p(0),   λ(0) = 2a·p(0) + b

        Since W is doubly stochastic, Σ y(k) = Σ d - Σ p(k) is the global mismatch at every step, so at the fixed
        point λ is common and the balance holds. Default ``ε = 0.1 N / Σ 1/(2 a_i)`` (a tenth of the step that
        closes the aggregate mismatch in one round when no unit is at a bound); too large a step can oscillate on
        poorly connected graphs, in which case pass a smaller ``step_size``. Returns (dispatch, λ, iterations).
        """
        n = self.n
        a, b, pmin, pmax = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (a, b, pmin, pmax))
        if not np.isfinite(np.stack([a, b, pmin, pmax])).all() or (a <= 0).any() or (pmin > pmax).any():
            raise ProtocolError("need finite a > 0, b, and pmin <= pmax")
        d = np.asarray(demand, dtype=float)
        d = np.full(n, d / n) if d.ndim == 0 else d
        if d.shape != (n,) or not np.isfinite(d).all():
            raise ProtocolError(f"demand must be a finite scalar or have shape ({n},), got {d.shape}")
        total = float(d.sum())
        if not pmin.sum() - 1e-12 <= total <= pmax.sum() + 1e-12:
            raise ProtocolError(f"demand {total} outside the feasible range [{pmin.sum()}, {pmax.sum()}]")
        eps = 0.1 * n / float((0.5 / a).sum()) if step_size is None else float(step_size)
        if not eps > 0:
            raise ProtocolError(f"step_size must be > 0, got {eps}")

        p = np.clip(d, pmin, pmax)
        lam = 2.0 * a * p + b
        y = d - p
        scale = max(1.0, abs(total))
        for it in range(self.max_iterations + 1):
            if self._converged(lam) and np.abs(y).max() <= self.tolerance * scale:
                return p, float(lam.mean()), it
            lam = self.weights @ lam + eps * y
            p_new = np.clip((lam - b) / (2.0 * a), pmin, pmax)
            y = self.weights @ y - (p_new - p)
            p = p_new
        raise RuntimeError(f"economic dispatch consensus did not converge in {self.max_iterations} iterations")
