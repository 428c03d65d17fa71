"""RewardTracker: the learning signal, from the engine's own step results (no second ledger of money).

Per agent and step:
``R = w_profit·profit − w_grid·import − w_soc·soc_penalty − w_degrad·throughput − w_co2·co2 − w_overload·overload
− w_fair·gini`` with
- profit = −cost + v·Δstored (currency): the cost the KPIs sum, plus the energy put into (taken from) storage
  valued at v = the scenario's mean midpoint of feed-in and retail (the KPIs' ``cost_net_of_storage``): over an
  episode this values the change of stored energy, so emptying batteries at the end is not a free profit,
- import: grid import (kWh),
- soc_penalty: distance of the end-of-step SoC outside the comfort band (fraction of capacity),
- throughput: battery charge + discharge (kWh),
- co2: kg from imports,
- overload: with a feeder, the worst line/transformer loading above 100 % (fraction); on a copper plate, the
  energy the feeder limits cut (unserved + curtailed) as a fraction of the community's load — shared by all,
- gini: Gini of the agents' episode profits so far (shared by all).
Every component is returned per agent, so each can be logged and plotted.
"""

from __future__ import annotations

import numpy as np

from powergrid.analytics.kpis import NA, gini
from powergrid.engine import StepResult
from powergrid.scenarios.model import RewardConfig


def community_storage_value(community) -> float:
    """The scenario's mean midpoint of feed-in and retail (currency/kWh)."""
    return float(0.5 * (community.tariff.retail + community.tariff.feed_in).mean())


COMPONENTS = ("profit", "grid_import", "soc_penalty", "throughput", "co2", "overload", "gini")


class RewardTracker:
    """Weighted reward components per agent and step; keeps the episode's running profit for the Gini term."""

    def __init__(self, config: RewardConfig, capacity_kwh: np.ndarray, storage_value: float) -> None:
        """``storage_value``: currency per kWh of stored energy (see module docstring)."""
        self.config = config
        self.capacity = capacity_kwh
        self.storage_value = storage_value
        self.weights = np.array([
            config.w_profit, -config.w_grid, -config.w_soc, -config.w_degrad, -config.w_co2, -config.w_overload,
            -config.w_fair,
        ])  # fmt: skip
        self.reset()

    def reset(self) -> None:
        self.episode_profit = np.zeros_like(self.capacity)

    def components(self, r: StepResult) -> dict[str, np.ndarray]:
        """The unweighted components of step ``r`` (arrays (N,))."""
        n = r.cost.size
        lo, hi = self.config.soc_band
        cap = self.capacity
        outside = np.maximum(lo * cap - r.soc, 0.0) + np.maximum(r.soc - hi * cap, 0.0)
        if r.network is not None:
            overload = max(r.network.max_line_loading, r.network.max_trafo_loading, 1.0) - 1.0
        else:
            load = r.load.sum()
            overload = float((r.unserved.sum() + r.curtailed.sum()) / load) if load > 0 else 0.0
        profit = -r.cost + self.storage_value * r.stored_change
        self.episode_profit = self.episode_profit + profit
        fairness = gini(self.episode_profit)
        return {
            "profit": profit,
            "grid_import": r.imported,
            "soc_penalty": np.divide(outside, cap, out=np.zeros(n), where=cap > 0),
            "throughput": r.charge + r.discharge,
            "co2": r.co2_kg,
            "overload": np.full(n, overload),
            "gini": np.full(n, 0.0 if isinstance(fairness, NA) else fairness),
        }

    def step(self, r: StepResult) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(rewards (N,), components) for step ``r``."""
        parts = self.components(r)
        rewards = sum(w * parts[name] for w, name in zip(self.weights, COMPONENTS, strict=True))
        return rewards, parts
