"""Consensus over a communication graph: distributed averaging and incremental-cost (λ) economic dispatch.

Agents exchange values only with their neighbours in an undirected graph, mixing them with Metropolis–Hastings
weights. ``ConsensusProtocol.economic_dispatch`` is the λ-consensus of Yang, Tan & Xu, "Consensus based approach
for economic dispatch problem in a smart grid", IEEE Trans. Power Systems 28(4), 2013, here with an optional
outside source (a market that sells any quantity at a cap price and buys any at a floor price, which bounds λ);
``central_dispatch`` is the same problem solved in closed form, the reference the consensus must reach.

Everything is plain arrays of the agents' quadratic cost coefficients and bounds: what the units are and what
their costs mean is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from heron.errors import ConvergenceError, ProtocolError


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


def path_graph(n: int) -> np.ndarray:
    """(n, n) adjacency of the path 0 – 1 – … – (n−1): each agent talks to the agents before and after it."""
    if n < 1:
        raise ProtocolError(f"a graph needs at least one agent, got n = {n}")
    i = np.arange(n - 1)
    adj = np.zeros((n, n), dtype=bool)
    adj[i, i + 1] = adj[i + 1, i] = True
    return adj


@dataclass(frozen=True)
class DispatchResult:
    """An economic dispatch: ``dispatch`` (N,) each unit's output, ``price`` the common incremental cost λ
    (cost per unit of output, the units of ``b``), ``outside`` what the outside source supplies (Σ demand −
    Σ dispatch: > 0 bought at the cap, < 0 sold at the floor; 0 without one, up to the tolerance) and
    ``iterations`` (0 for ``central_dispatch``)."""

    dispatch: np.ndarray
    price: float
    outside: float
    iterations: int


def _units(n: int, a, b, pmin, pmax) -> tuple[np.ndarray, ...]:
    """The cost coefficients and bounds as (n,) float arrays; ProtocolError unless finite, a > 0, pmin <= pmax."""
    a, b, pmin, pmax = (np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v in (a, b, pmin, pmax))
    if not np.isfinite(np.stack([a, b, pmin, pmax])).all() or (a <= 0).any() or (pmin > pmax).any():
        raise ProtocolError("need finite a > 0, b, and pmin <= pmax for every unit")
    return a, b, pmin, pmax


def _price_range(price_range: tuple[float, float] | None) -> tuple[float, float]:
    if price_range is None:
        return -np.inf, np.inf
    lo, hi = (float(v) for v in price_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise ProtocolError(f"price_range must be finite (floor, cap) with floor <= cap, got {price_range}")
    return lo, hi


def _check_feasible(total: float, pmin: np.ndarray, pmax: np.ndarray, outside: bool) -> None:
    if not outside and not pmin.sum() - 1e-12 <= total <= pmax.sum() + 1e-12:
        raise ProtocolError(
            f"demand {total} outside the feasible range [{pmin.sum()}, {pmax.sum()}] (pass price_range for an "
            "outside source that covers the rest)"
        )


def central_dispatch(
    a: np.ndarray,
    b: np.ndarray,
    pmin: np.ndarray,
    pmax: np.ndarray,
    demand: float | np.ndarray,
    price_range: tuple[float, float] | None = None,
) -> DispatchResult:
    """Minimise Σ a_i p_i² + b_i p_i (+ cap·import − floor·export) s.t. Σ p_i (+ import − export) = Σ demand,
    pmin <= p <= pmax, in closed form: the supply ``S(λ) = Σ clip((λ − b)/(2a), pmin, pmax)`` is piecewise linear
    in λ with knots at ``b + 2a·pmin`` and ``b + 2a·pmax``, so λ is interpolated between the two knots that
    bracket the demand (then clipped into ``price_range``). Arguments as ``ConsensusProtocol.economic_dispatch``;
    (N,) arrays or scalars. ProtocolError for bad input or, without ``price_range``, an infeasible demand."""
    d = np.asarray(demand, dtype=float)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (a, b, pmin, pmax)))
    n = (int(shape[0]) if shape else 1) if d.ndim == 0 else d.shape[0]
    a, b, pmin, pmax = _units(n, a, b, pmin, pmax)
    if not np.isfinite(d).all():
        raise ProtocolError("demand must be finite")
    total = float(d.sum())
    lo, hi = _price_range(price_range)
    _check_feasible(total, pmin, pmax, price_range is not None)
    knots = np.concatenate([b + 2 * a * pmin, b + 2 * a * pmax])
    if price_range is not None:
        knots = np.concatenate([np.clip(knots, lo, hi), [lo, hi]])
    knots = np.unique(knots)
    supply = np.clip((knots[:, None] - b) / (2 * a), pmin, pmax).sum(axis=1)
    if total <= supply[0]:
        lam = float(knots[0])
    elif total >= supply[-1]:
        lam = float(knots[-1])
    else:
        k = int(np.searchsorted(supply, total))  # supply[k-1] < total <= supply[k]
        lam = float(knots[k - 1] + (total - supply[k - 1]) * (knots[k] - knots[k - 1]) / (supply[k] - supply[k - 1]))
    p = np.clip((lam - b) / (2 * a), pmin, pmax)
    return DispatchResult(p, lam, total - float(p.sum()), 0)


@dataclass(frozen=True)
class ConsensusProtocol:
    """Consensus over an undirected communication graph (``graph``: (N, N) symmetric bool adjacency).

    Every iteration each agent only mixes its own state with its neighbours' via the Metropolis weights ``W``;
    the loop is over iterations, each a single matrix product. Convergence is declared when the spread
    ``max - min`` of the consensus variable is below ``tolerance * max(1, max|x|)`` (and, for dispatch, the
    supply-demand mismatch likewise); exceeding ``max_iterations`` raises ``heron.errors.ConvergenceError``.
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

    def _spread_ok(self, x: np.ndarray, scale: float | None = None) -> bool:
        scale = max(1.0, float(np.abs(x).max())) if scale is None else scale
        return bool((x.max(axis=0) - x.min(axis=0)).max() <= self.tolerance * scale)

    def average(self, values: np.ndarray) -> tuple[np.ndarray, int]:
        """Average consensus ``x <- W x`` on (N,) or (N, D) values. Returns (every agent's estimate, iterations).
        ConvergenceError after ``max_iterations``."""
        x = np.asarray(values, dtype=float)
        if x.shape[:1] != (self.n,) or not np.isfinite(x).all():
            raise ProtocolError(f"values must be finite with {self.n} rows (one per agent), got shape {x.shape}")
        for it in range(self.max_iterations + 1):
            if self._spread_ok(x):
                return x, it
            x = self.weights @ x
        raise ConvergenceError(f"average consensus did not converge in {self.max_iterations} iterations")

    def economic_dispatch(
        self,
        a: np.ndarray,
        b: np.ndarray,
        pmin: np.ndarray,
        pmax: np.ndarray,
        demand: float | np.ndarray,
        step_size: float | None = None,
        price_range: tuple[float, float] | None = None,
    ) -> DispatchResult:
        """Minimise Σ a_i p_i² + b_i p_i s.t. Σ p_i = demand, pmin <= p <= pmax, by λ-consensus.

        ``a`` (> 0), ``b``, ``pmin``, ``pmax``: (N,) or scalars, one unit per agent (an agent without a unit:
        pmin = pmax = 0 and any a > 0 — it relays λ). ``demand`` is the total (split evenly as local demand d_i)
        or an (N,) vector of local demands. ``price_range`` = (floor, cap): an outside source sells any quantity
        at ``cap`` and buys any at ``floor``; λ is kept in [floor, cap] and the source covers the rest (the
        problem then adds ``cap·import − floor·export`` to the cost and is feasible for any demand). Scheme
        (consensus with a mismatch-tracking correction, Yang, Tan & Xu 2013)::

            λ(k+1) = clip(W λ(k) + ε y(k), floor, cap)
            p(k+1) = clip((λ(k+1) - b) / (2a), pmin, pmax)
            y(k+1) = W y(k) - (p(k+1) - p(k)),   λ(0) = clip(2a·clip(d, pmin, pmax) + b, floor, cap),   y(0) = d - p(0)

        Since W is doubly stochastic, Σ y(k) = Σ d - Σ p(k) is the global mismatch at every step, so at the fixed
        point λ is common and either the balance holds or λ sits at the cap (floor) with every y_i equal to the
        import (export) share. Default ``ε = 0.1 N / Σ 1/(2 a_i)`` (a tenth of the step that closes the aggregate
        mismatch in one round when no unit is at a bound); too large a step can oscillate on poorly connected
        graphs, in which case pass a smaller ``step_size``. ProtocolError for bad input (or a demand outside
        [Σ pmin, Σ pmax] without ``price_range``); ConvergenceError after ``max_iterations``.
        """
        n = self.n
        a, b, pmin, pmax = _units(n, a, b, pmin, pmax)
        d = np.asarray(demand, dtype=float)
        d = np.full(n, d / n) if d.ndim == 0 else d
        if d.shape != (n,) or not np.isfinite(d).all():
            raise ProtocolError(f"demand must be a finite scalar or have shape ({n},), got {d.shape}")
        total = float(d.sum())
        lo, hi = _price_range(price_range)
        _check_feasible(total, pmin, pmax, price_range is not None)
        eps = 0.1 * n / float((0.5 / a).sum()) if step_size is None else float(step_size)
        if not eps > 0:
            raise ProtocolError(f"step_size must be > 0, got {eps}")

        lam = np.clip(2.0 * a * np.clip(d, pmin, pmax) + b, lo, hi)
        p = np.clip((lam - b) / (2.0 * a), pmin, pmax)  # each unit's output at its own λ
        y = d - p
        scale = max(1.0, abs(total))
        for it in range(self.max_iterations + 1):
            if self._spread_ok(lam) and self._settled(lam, y, scale, lo, hi):
                return DispatchResult(p, float(np.clip(lam.mean(), lo, hi)), float(y.sum()), it)
            lam = np.clip(self.weights @ lam + eps * y, lo, hi)
            p_new = np.clip((lam - b) / (2.0 * a), pmin, pmax)
            y = self.weights @ y - (p_new - p)
            p = p_new
        raise ConvergenceError(
            f"economic dispatch consensus did not converge in {self.max_iterations} iterations (try more "
            "iterations, a smaller step_size or a better connected graph)"
        )

    def _settled(self, lam: np.ndarray, y: np.ndarray, scale: float, lo: float, hi: float) -> bool:
        """Supply meets demand (every |y_i| small), or λ sits at the cap (floor) and the agents agree on a positive
        (negative) mismatch that the outside source covers."""
        if np.abs(y).max() <= self.tolerance * scale:
            return True
        if not self._spread_ok(y, scale):
            return False
        tol = self.tolerance * max(1.0, float(np.abs(lam).max()))
        return bool((y.sum() > 0 and lam.min() >= hi - tol) or (y.sum() < 0 and lam.max() <= lo + tol))
