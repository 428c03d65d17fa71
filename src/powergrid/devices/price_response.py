"""How devices answer a price signal (the children's rules under heron's ``PriceSignalProtocol``), vectorised.

Every rule returns *net supply* (+ inject/produce, − consume/charge, kW) and is monotone non-decreasing in price:
- ``generator``: ``capacity · ramp(price, c − band·|c|, c + band·|c|)`` with ``c`` its marginal cost: with
  ``band = 0`` a step — full output when the price reaches the marginal cost (merit order), else 0;
- ``storage``: ``power · (2 · ramp(price, charge_threshold, discharge_threshold) − 1)``: charges at full power at
  or below the charge threshold, discharges at full power above the discharge threshold, linear in between;
- ``flexible_load``: ``−(baseline − flexibility · ramp(price, reduce_from, reduce_to))``: consumes the baseline up
  to ``reduce_from`` and sheds linearly to ``baseline − flexibility`` at ``reduce_to``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("generator", "storage", "flexible_load")


def ramp(price: float | np.ndarray, start: float | np.ndarray, end: float | np.ndarray) -> np.ndarray:
    """Fraction in [0, 1] rising linearly from ``start`` to ``end``; a step at ``start`` where ``end <= start``."""
    price, start, end = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (price, start, end)))
    width = end - start
    clipped = np.clip(price - start, 0.0, np.maximum(width, 0.0))  # <= width, so the ratio cannot overflow
    linear = np.divide(clipped, width, out=np.zeros(price.shape), where=width > 0)
    return np.where(width > 0, np.minimum(linear, 1.0), (price >= start).astype(float))


def _vector(name: str, value: np.ndarray | None, n: int) -> np.ndarray:
    if value is None:
        return np.zeros(n)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} entries (one per device), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite")
    return arr


@dataclass(frozen=True)
class PriceResponse:
    """The response rules of N devices (module docstring); every parameter is an (N,) array (entries of other
    kinds are ignored; missing parameters are 0). Call it with a price (or prices of shape (..., 1)) to get the
    devices' net supply (N,) (or (..., N)). Raises ValueError for unknown kinds or inconsistent parameters."""

    kind: np.ndarray
    capacity: np.ndarray | None = None
    marginal_cost: np.ndarray | None = None
    band: float = 0.0
    power: np.ndarray | None = None
    charge_threshold: np.ndarray | None = None
    discharge_threshold: np.ndarray | None = None
    baseline: np.ndarray | None = None
    flexibility: np.ndarray | None = None
    reduce_from: np.ndarray | None = None
    reduce_to: np.ndarray | None = None
    _params: dict[str, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        kind = np.asarray(self.kind, dtype=str)
        if kind.ndim != 1:
            raise ValueError(f"kind must be 1-D, got shape {kind.shape}")
        bad = sorted(set(kind[~np.isin(kind, KINDS)].tolist()))
        if bad:
            raise ValueError(f"unknown kinds {bad}; expected one of {KINDS}")
        if not self.band >= 0.0:
            raise ValueError(f"band must be >= 0, got {self.band}")
        n = kind.size
        names = (
            "capacity",
            "marginal_cost",
            "power",
            "charge_threshold",
            "discharge_threshold",
            "baseline",
            "flexibility",
            "reduce_from",
            "reduce_to",
        )
        p = {name: _vector(name, getattr(self, name), n) for name in names}
        for name in ("capacity", "power", "baseline", "flexibility"):
            if (p[name] < 0).any():
                raise ValueError(f"{name} must be >= 0")
        if (p["flexibility"] > p["baseline"]).any():
            raise ValueError("flexibility must not exceed baseline")
        if (p["charge_threshold"] > p["discharge_threshold"]).any() or (p["reduce_from"] > p["reduce_to"]).any():
            raise ValueError("need charge_threshold <= discharge_threshold and reduce_from <= reduce_to")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_params", p)

    def __call__(self, price: float | np.ndarray) -> np.ndarray:
        p = self._params
        half = self.band * np.abs(p["marginal_cost"])
        generator = p["capacity"] * ramp(price, p["marginal_cost"] - half, p["marginal_cost"] + half)
        storage = p["power"] * (2.0 * ramp(price, p["charge_threshold"], p["discharge_threshold"]) - 1.0)
        load = -(p["baseline"] - p["flexibility"] * ramp(price, p["reduce_from"], p["reduce_to"]))
        return np.select([self.kind == "generator", self.kind == "storage"], [generator, storage], load)
