"""Vertical protocols: how a coordinator turns its decision into setpoints of its children (vectorised).

- ``SetpointProtocol``: direct control; one normalised action in [-1, 1] per child, mapped onto its bounds.
- ``PriceSignalProtocol``: indirect control; the coordinator broadcasts a price and each child answers with
  its documented response rule. Outputs are *net supply* (+ inject/produce, − consume/charge), and every rule
  is monotone non-decreasing in price.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("generator", "storage", "flexible_load")


def _check_vector(name: str, arr: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(arr, dtype=float)
    if arr.shape[-1:] != (n,):
        raise ValueError(f"{name}: expected {n} entries (one per child) on the last axis, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    return arr


@dataclass(frozen=True)
class SetpointProtocol:
    """Map a coordinator action in [-1, 1]^N linearly onto each child's ``[low, high]``: -1 -> low, +1 -> high."""

    def split(self, action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Setpoints of shape ``action.shape`` (a leading batch axis is allowed); actions are clipped to [-1, 1]."""
        low = np.asarray(low, dtype=float)
        high = np.asarray(high, dtype=float)
        if low.ndim != 1 or low.shape != high.shape:
            raise ValueError(f"low {low.shape} and high {high.shape} must be 1-D of the same length")
        n = low.shape[0]
        low = _check_vector("low", low, n)
        high = _check_vector("high", high, n)
        if (low > high).any():
            raise ValueError(f"low must be <= high for every child (violated at {np.flatnonzero(low > high).tolist()})")
        a = np.clip(_check_vector("action", action, n), -1.0, 1.0)
        return np.clip(low + 0.5 * (a + 1.0) * (high - low), low, high)


def ramp(price: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Fraction in [0, 1] rising linearly from ``start`` to ``end``; a step at ``start`` where ``end <= start``."""
    price, start, end = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (price, start, end)))
    width = end - start
    clipped = np.clip(price - start, 0.0, np.maximum(width, 0.0))  # <= width, so the ratio cannot overflow
    linear = np.divide(clipped, width, out=np.zeros(price.shape), where=width > 0)
    return np.where(width > 0, np.minimum(linear, 1.0), (price >= start).astype(float))


@dataclass(frozen=True)
class PriceSignalProtocol:
    """Price-responsive children; every parameter is an (N,) array (entries of other kinds are ignored).

    Rules (output = net supply, monotone non-decreasing in price):
    - ``generator``: ``capacity * ramp(price, c - band*|c|, c + band*|c|)`` with ``c = marginal_cost``. With
      ``band = 0`` (default) this is a step: full capacity when ``price >= c``, else 0.
    - ``storage``: ``power * (2 * ramp(price, charge_threshold, discharge_threshold) - 1)``: charges at full
      power (−power) at or below the charge threshold, discharges at full power above the discharge threshold,
      linear in between (0 at the midpoint).
    - ``flexible_load``: ``-(baseline - flexibility * ramp(price, reduce_from, reduce_to))``: consumes
      ``baseline`` up to ``reduce_from`` and reduces consumption linearly to ``baseline - flexibility`` at
      ``reduce_to``.
    """

    band: float = 0.0

    def __post_init__(self) -> None:
        if not self.band >= 0.0:
            raise ValueError(f"band must be >= 0, got {self.band}")

    def respond(
        self,
        price: float | np.ndarray,
        kind: np.ndarray,
        *,
        capacity: np.ndarray | None = None,
        marginal_cost: np.ndarray | None = None,
        power: np.ndarray | None = None,
        charge_threshold: np.ndarray | None = None,
        discharge_threshold: np.ndarray | None = None,
        baseline: np.ndarray | None = None,
        flexibility: np.ndarray | None = None,
        reduce_from: np.ndarray | None = None,
        reduce_to: np.ndarray | None = None,
    ) -> np.ndarray:
        """Net-supply setpoints (N,), or (..., N) for an array of prices of shape (..., 1). Missing params = 0."""
        kind = np.asarray(kind, dtype=str)
        if kind.ndim != 1:
            raise ValueError(f"kind must be 1-D, got shape {kind.shape}")
        bad = sorted(set(kind[~np.isin(kind, KINDS)].tolist()))
        if bad:
            raise ValueError(f"unknown kinds {bad}; expected one of {KINDS}")
        n = kind.shape[0]
        price = np.asarray(price, dtype=float)
        if np.isnan(price).any():
            raise ValueError("price contains NaN")

        def param(name: str, value: np.ndarray | None) -> np.ndarray:
            return np.zeros(n) if value is None else _check_vector(name, value, n)

        cap, cost, pw = param("capacity", capacity), param("marginal_cost", marginal_cost), param("power", power)
        base, flex = param("baseline", baseline), param("flexibility", flexibility)
        for name, arr in (("capacity", cap), ("power", pw), ("baseline", base), ("flexibility", flex)):
            if (arr < 0).any():
                raise ValueError(f"{name} must be >= 0")
        if (flex > base).any():
            raise ValueError("flexibility must not exceed baseline")
        charge, discharge = (
            param("charge_threshold", charge_threshold),
            param("discharge_threshold", discharge_threshold),
        )
        start, end = param("reduce_from", reduce_from), param("reduce_to", reduce_to)
        if (charge > discharge).any() or (start > end).any():
            raise ValueError("need charge_threshold <= discharge_threshold and reduce_from <= reduce_to")
        half = self.band * np.abs(cost)
        gen = cap * ramp(price, cost - half, cost + half)
        sto = pw * (2.0 * ramp(price, charge, discharge) - 1.0)
        load = -(base - flex * ramp(price, start, end))
        return np.select([kind == "generator", kind == "storage"], [gen, sto], load)
