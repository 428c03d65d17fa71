"""Deterministic safety layer between decisions and physics: the FeasibilityFilter.

It never learns and never guesses: each action component is clipped to what is physically possible this step,
non-finite actions are replaced by the safe action (battery idle, no order), and every intervention is counted
per agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.devices.generator import GeneratorFleet
from powergrid.errors import ActionError

#: A change smaller than this (kW or currency/kWh) is rounding, not an intervention.
CLIP_TOL = 1e-9


@dataclass(frozen=True)
class Interventions:
    """Per-agent flags of one step, boolean arrays (N,)."""

    nonfinite: np.ndarray
    battery_clipped: np.ndarray
    trade_clipped: np.ndarray
    price_clipped: np.ndarray
    fallback: np.ndarray  # the SafetySupervisor replaced the agent's action by the grid-only action
    generator_clipped: np.ndarray  # the generator set-point was moved into its feasible output (or off)
    tap_clipped: np.ndarray  # the tap set-point was outside its regulators' range (or not finite: held)
    capacitor_clipped: np.ndarray  # the capacitor set-point was not finite (the banks held their state)


class FeasibilityFilter:
    """Clip actions to battery limits, to the agent's physical surplus/deficit, and to the P2P price band.

    Order of checks: (1) a non-finite component replaces the agent's whole action by the safe action (battery
    idle, generator off, no order); (2) battery power into ``[-max_discharge, max_charge]``, the generator
    set-point to its feasible output (off, or within its running range: ``GeneratorFleet.feasible``); (3) the
    order into ``[min(0, net), max(0, net)]`` with ``net = load + charge - discharge - pv - generation`` (no selling
    energy you do not have, no buying beyond your deficit); (4) the limit price of a non-zero order into
    ``[price_floor, price_cap]``.

    ``order_limits_kw`` (max sell, max buy), arrays (N,): when orders are placed on forecasts (``market.gate:
    forecast``) an order is a position taken before delivery, checked against what the agent could deliver or take
    in a step at all (PV peak + battery power; peak load + battery power) instead of (3); what delivery then
    differs by is its imbalance, settled with the grid.
    """

    def __init__(
        self,
        order_limits_kw: tuple[np.ndarray, np.ndarray] | None = None,
        generators: GeneratorFleet | None = None,
        tap_range: tuple[np.ndarray, np.ndarray] | None = None,
        capacitors: np.ndarray | None = None,
    ) -> None:
        """``tap_range`` (lowest, highest) (N,): the regulator steps each agent may set (microgrids);
        ``capacitors`` (N,) bool: the agents whose section has switched capacitor banks (microgrids)."""
        self.order_limits_kw = order_limits_kw
        self.generators = generators
        self.tap_range = tap_range
        self.capacitors = capacitors

    def apply(
        self, actions: Actions, obs: Observation, fallback: np.ndarray | None = None
    ) -> tuple[Actions, Interventions]:
        """``fallback`` (N,) marks agents the SafetySupervisor switched to grid-only (idle battery, no order)."""
        battery, trade, price = actions.battery_kw, actions.trade_kw, actions.limit_price
        generator = np.zeros(battery.shape) if actions.generator_kw is None else actions.generator_kw
        fell_back = np.zeros(battery.shape, dtype=bool) if fallback is None else np.asarray(fallback, dtype=bool)
        if fell_back.any():
            battery = np.where(fell_back, 0.0, battery)
            trade = np.where(fell_back, 0.0, trade)
            generator = np.where(fell_back, 0.0, generator)
        nonfinite = ~(np.isfinite(battery) & np.isfinite(trade) & np.isfinite(price) & np.isfinite(generator))
        if nonfinite.any():
            battery = np.where(nonfinite, 0.0, battery)
            trade = np.where(nonfinite, 0.0, trade)
            price = np.where(nonfinite, obs.price_floor, price)
            generator = np.where(nonfinite, 0.0, generator)

        safe_battery = np.clip(battery, -obs.max_discharge_kw, obs.max_charge_kw)
        safe_generator = (
            np.zeros(battery.shape)
            if self.generators is None
            else self.generators.feasible(generator, obs.generator_last_kw)
        )
        if self.order_limits_kw is None:
            net = obs.load_kw + safe_battery - obs.pv_kw - safe_generator
            safe_trade = np.clip(trade, np.minimum(net, 0.0), np.maximum(net, 0.0))
        else:
            max_sell, max_buy = self.order_limits_kw
            safe_trade = np.clip(trade, -max_sell, max_buy)
        safe_price = np.where(safe_trade != 0.0, np.clip(price, obs.price_floor, obs.price_cap), price)

        flags = Interventions(
            nonfinite=nonfinite,
            battery_clipped=np.abs(safe_battery - battery) > CLIP_TOL,
            trade_clipped=np.abs(safe_trade - trade) > CLIP_TOL,
            price_clipped=np.abs(safe_price - price) > CLIP_TOL,
            fallback=fell_back,
            generator_clipped=np.abs(safe_generator - generator) > CLIP_TOL,
            tap_clipped=np.zeros(battery.shape, dtype=bool),
            capacitor_clipped=np.zeros(battery.shape, dtype=bool),
        )
        tap, capacitor = actions.tap, actions.capacitor
        if self.tap_range is not None and tap is not None:
            tap, flags.tap_clipped[...] = self._taps(np.asarray(tap, dtype=float), obs, self.tap_range)
        if self.capacitors is not None and capacitor is not None:
            capacitor, flags.capacitor_clipped[...] = self._switches(np.asarray(capacitor, float), obs, self.capacitors)
        safe = Actions(safe_battery, safe_trade, safe_price, generator_kw=safe_generator, tap=tap, capacitor=capacitor)
        return safe, flags

    @staticmethod
    def _switches(on: np.ndarray, obs: Observation, banks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Capacitor set-points as states: 1.0 (in) at or above 0.5, else 0.0 (out); a non-finite one holds the
        current state; sections without banks (``banks`` (N,) False) keep NaN. Returns (states, held because not
        finite)."""
        if on.shape != obs.capacitor.shape:
            raise ActionError(
                f"actions.capacitor must have shape {obs.capacitor.shape} (one state per microgrid), got {on.shape}"
            )
        finite = np.isfinite(on)
        states = np.where(finite, (on >= 0.5).astype(float), obs.capacitor)
        return np.where(banks, states, np.nan), ~finite & banks

    @staticmethod
    def _taps(
        tap: np.ndarray, obs: Observation, tap_range: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tap set-points rounded to whole steps and clipped to the range; a non-finite one holds the current
        step. Returns (steps, clipped or held)."""
        if tap.shape != obs.tap.shape:
            raise ActionError(f"actions.tap must have shape {obs.tap.shape} (one step per microgrid), got {tap.shape}")
        finite = np.isfinite(tap)
        lo, hi = tap_range
        steps = np.round(np.where(finite, tap, obs.tap))
        safe = np.clip(steps, lo, hi)
        return safe, ~finite | (safe != steps)


@dataclass(frozen=True)
class OODStats:
    """Observation statistics of a trained policy's training data, stored beside the model (JSON).

    ``mean``/``std`` per feature; ``precision`` the inverse covariance (for the Mahalanobis test).
    """

    mean: np.ndarray
    std: np.ndarray
    precision: np.ndarray
    method: str = "zscore"
    threshold: float = 6.0

    @classmethod
    def fit(cls, features: np.ndarray, method: str = "zscore", threshold: float = 6.0) -> OODStats:
        """Statistics of (samples, F) features; constant features get std 1 (any change from them is large)."""
        x = np.asarray(features, dtype=float)
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std > 1e-9, std, 1.0)
        cov = np.cov(x, rowvar=False) + 1e-6 * np.eye(x.shape[1])
        return cls(mean, std, np.linalg.pinv(cov), method, threshold)

    def to_json(self) -> dict:
        return {
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
            "precision": self.precision.tolist(),
            "method": self.method,
            "threshold": self.threshold,
        }

    @classmethod
    def from_json(cls, data: dict) -> OODStats:
        return cls(
            np.array(data["mean"]),
            np.array(data["std"]),
            np.array(data["precision"]),
            data["method"],
            float(data["threshold"]),
        )


class SafetySupervisor:
    """Switches an agent to the grid-only fallback for a step when its observation is out of distribution.

    The test is deterministic: per-feature z-score (max |z| > threshold) or Mahalanobis distance (> threshold)
    against the training statistics. The engine counts every fallback (``Interventions.fallback``).
    """

    def __init__(self, stats: OODStats) -> None:
        self.stats = stats

    def scores(self, features: np.ndarray) -> np.ndarray:
        """Distance of each agent's features (N, F) from the training data (N,)."""
        z = (features - self.stats.mean) / self.stats.std
        if self.stats.method == "mahalanobis":
            d = features - self.stats.mean
            return np.sqrt(np.maximum(np.einsum("nf,fg,ng->n", d, self.stats.precision, d), 0.0))
        return np.abs(z).max(axis=1)

    def out_of_distribution(self, features: np.ndarray) -> np.ndarray:
        """Boolean mask (N,) of agents to switch to the grid-only fallback this step."""
        return self.scores(features) > self.stats.threshold
