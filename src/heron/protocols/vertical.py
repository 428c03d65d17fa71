"""Vertical protocols: how a coordinator turns its decision into setpoints of its children (vectorised).

- ``SetpointProtocol``: direct control; one normalised action in [-1, 1] per child, mapped onto its bounds.
- ``PriceSignalProtocol``: indirect control; the coordinator broadcasts a price and each child answers with
  its own response rule, supplied by the caller (device rules live with the devices, e.g.
  ``powergrid.devices.price_response``). Outputs are *net supply* (+ inject/produce, − consume/charge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from heron.errors import ProtocolError


def _check_vector(name: str, arr: np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(arr, dtype=float)
    if arr.shape[-1:] != (n,):
        raise ProtocolError(f"{name}: expected {n} entries (one per child) on the last axis, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ProtocolError(f"{name} contains NaN")
    return arr


@dataclass(frozen=True)
class SetpointProtocol:
    """Map a coordinator action in [-1, 1]^N linearly onto each child's ``[low, high]``: -1 -> low, +1 -> high."""

    def split(self, action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Setpoints of shape ``action.shape`` (a leading batch axis is allowed); actions are clipped to [-1, 1]."""
        low = np.asarray(low, dtype=float)
        high = np.asarray(high, dtype=float)
        if low.ndim != 1 or low.shape != high.shape:
            raise ProtocolError(f"low {low.shape} and high {high.shape} must be 1-D of the same length")
        n = low.shape[0]
        low = _check_vector("low", low, n)
        high = _check_vector("high", high, n)
        if (low > high).any():
            raise ProtocolError(
                f"low must be <= high for every child (violated at {np.flatnonzero(low > high).tolist()})"
            )
        a = np.clip(_check_vector("action", action, n), -1.0, 1.0)
        return np.clip(low + 0.5 * (a + 1.0) * (high - low), low, high)


@dataclass(frozen=True)
class PriceSignalProtocol:
    """Indirect control: the coordinator broadcasts one price and each child answers with its own response rule.

    heron keeps device physics out: the rules come from the caller as one vectorised ``response`` — a function of
    the price (a scalar, or prices of shape (..., 1)) returning the children's net supply (+ inject/produce,
    − consume/charge) of shape (N,) (or (..., N)), monotone non-decreasing in price (e.g.
    ``powergrid.devices.price_response.PriceResponse``). The protocol checks what crosses the boundary.
    """

    def split(self, price: float | np.ndarray, response: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
        """The N children's setpoints at ``price``; ProtocolError for a NaN price or answers of the wrong shape
        or not finite."""
        price = np.asarray(price, dtype=float)
        if np.isnan(price).any():
            raise ProtocolError("price contains NaN")
        answer = np.asarray(response(price), dtype=float)
        if answer.shape[-1:] != (n,):
            raise ProtocolError(f"the children's response must have {n} entries on the last axis, got {answer.shape}")
        if not np.isfinite(answer).all():
            raise ProtocolError("the children's response is not finite")
        return answer
