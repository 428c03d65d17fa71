"""RewardTracker: the learning signal, from the engine's own step results (no second ledger of money).

Per agent and step:
``R = w_profit·profit + w_team·team − w_grid·import − w_soc·soc_penalty − w_degrad·throughput − w_co2·co2
− w_overload·overload − w_fair·gini`` with
- profit (currency): minus the agent's headline cost, so that over an episode the profit summed per agent is
  exactly − its headline cost of the episode (KPIS.md): each step pays −(cash cost + unserved cost) and is shaped by
  v·Δstored (v per agent: the midpoint of the episode's refill and salvage prices); the episode's last step
  takes the shaping back (−v·Σ Δstored) and pays the end-of-horizon storage adjustment. Shaping of this
  potential-based form changes no optimal policy and credits stored energy when it is stored,
- team: the community's mean profit of the step (shared by all; weight 0 by default). With the defaults (w_profit 1,
  w_grid = w_soc = 0) the reward is aligned with the headline cost: the agents' profits sum to −the community's
  headline cost over an episode; the team term adds each agent's share of the community's,
- import: grid import (kWh),
- soc_penalty: distance of the end-of-step SoC outside the comfort band (fraction of capacity),
- throughput: battery charge + discharge (kWh),
- co2: kg from imports,
- overload: with a feeder, the step's violation cost — ``network.violation_penalty`` × (LV buses outside the voltage
  band + branches above 100 %), the KPI ``violation_cost`` — shared equally by the agents (currency each; for
  microgrids, ``network.agent_sections``, each pays for the buses of its own section); on a
  copper plate, the energy the feeder limits cut (unserved + curtailed) as a fraction of the community's load,
- gini: Gini of the agents' episode profits so far (shared by all).
Every component is returned per agent, so each can be logged and plotted.
"""

from __future__ import annotations

import numpy as np

from powergrid.analytics.kpis import gini_rows
from powergrid.engine import StepResult
from powergrid.engine.yardstick import TerminalPrices, terminal_prices
from powergrid.scenarios.build import Community

COMPONENTS = ("profit", "team", "grid_import", "soc_penalty", "throughput", "co2", "overload", "gini")


class RewardTracker:
    """Weighted reward components per agent and step; keeps the episode's running profit for the Gini term.

    ``copies=K`` tracks K copies of the community at once (the batched engine's results, arrays (K, N)), each
    with its own episode (``restart``); ``None`` (default) one community, arrays (N,).
    """

    def __init__(self, community: Community, copies: int | None = None) -> None:
        """Weights from the scenario's ``reward`` section; call ``reset(start, stop)`` at each episode's start."""
        self.community = community
        self.copies = copies
        config = self.config = community.scenario.reward
        self.capacity = community.agents.battery.capacity_kwh
        self.weights = np.array(
            [
                config.w_profit,
                config.w_team,
                -config.w_grid,
                -config.w_soc,
                -config.w_degrad,
                -config.w_co2,
                -config.w_overload,
                -config.w_fair,
            ]
        )
        shape = self.capacity.shape if copies is None else (copies, self.capacity.size)
        self.stop = np.full(shape[:-1], community.n_steps)
        self.terminal = TerminalPrices(np.zeros(shape), np.zeros(shape))
        self.storage_value = np.zeros(shape)
        self.episode_profit = np.zeros(shape)
        self.episode_stored = np.zeros(shape)
        self.reset(0, community.n_steps)

    def reset(self, start: int | np.ndarray, stop: int | np.ndarray) -> None:
        """Start an episode over steps ``start … stop − 1`` (per copy: ints or (K,) arrays): its end-of-horizon
        prices, zero running sums."""
        everything = np.ones(self.stop.shape, dtype=bool)
        self.restart(everything, start, stop)

    def restart(self, which: np.ndarray, start: int | np.ndarray, stop: int | np.ndarray) -> None:
        """Start new episodes for the copies selected by ``which`` (K,) bool (``()`` for one community)."""
        c = self.community
        fleet = c.agents.battery
        start = np.broadcast_to(np.asarray(start), which.shape)
        stop = np.broadcast_to(np.asarray(stop), which.shape)
        refill, salvage = self.terminal.refill.copy(), self.terminal.salvage.copy()
        for k in zip(*np.nonzero(which), strict=True) if which.ndim else [()]:
            prices = terminal_prices(
                c.tariff.retail[start[k] : stop[k]],
                c.tariff.feed_in[start[k] : stop[k]],
                c.grid.dt_hours,
                fleet.charge_efficiency,
                fleet.discharge_efficiency,
            )
            refill[k], salvage[k] = prices.refill, prices.salvage
        self.terminal = TerminalPrices(refill, salvage)
        self.storage_value = 0.5 * (refill + salvage)
        self.stop = np.where(which, stop, self.stop)
        rows = which[..., None]
        self.episode_profit = np.where(rows, 0.0, self.episode_profit)
        self.episode_stored = np.where(rows, 0.0, self.episode_stored)

    def components(self, r: StepResult) -> dict[str, np.ndarray]:
        """The unweighted components of step ``r`` (arrays (N,), or (K, N) for copies)."""
        shape = r.cash_cost.shape
        n = shape[-1]
        lo, hi = self.config.soc_band
        cap = self.capacity
        outside = np.maximum(lo * cap - r.soc, 0.0) + np.maximum(r.soc - hi * cap, 0.0)
        feeder = self.community.network
        # per agent: a share of the overloaded branches and of the violating buses
        if r.network is not None and feeder is not None:
            penalty = feeder.config.violation_penalty
            shared = np.asarray(r.network.overloads, dtype=float)
            if feeder.sectioned:  # microgrids: each pays for the buses of its own section
                own = np.asarray(r.network.section_violations, dtype=float)
            else:
                shared = shared + np.asarray(r.network.violations, dtype=float)
                own = np.zeros(shape)
            overload = penalty * (own + shared[..., None] / n)
        else:
            load = r.load.sum(axis=-1)
            cut = r.unserved.sum(axis=-1) + r.curtailed.sum(axis=-1)
            overload = np.divide(cut, load, out=np.zeros_like(load), where=load > 0)[..., None]
        self.episode_stored = self.episode_stored + r.stored_change
        profit = -(r.cash_cost + r.unserved_cost) + self.storage_value * r.stored_change
        last = (np.asarray(r.t) == self.stop - 1)[..., None]  # the episode's last step: undo the shaping, pay the rule
        if last.any():
            settle = self.storage_value * self.episode_stored + self.terminal.adjustment(self.episode_stored)
            profit = profit - np.where(last, settle, 0.0)
        self.episode_profit = self.episode_profit + profit
        fairness = gini_rows(self.episode_profit.reshape(-1, n)).reshape(shape[:-1])
        per_copy = np.ones(shape)
        return {
            "profit": profit,
            "team": profit.mean(axis=-1, keepdims=True) * per_copy,
            "grid_import": r.imported,
            "soc_penalty": np.divide(outside, cap, out=np.zeros(shape), where=cap > 0),
            "throughput": r.charge + r.discharge,
            "co2": r.co2_kg,
            "overload": overload * per_copy,
            "gini": fairness[..., None] * per_copy,
        }

    def step(self, r: StepResult) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(rewards (N,) or (K, N), components) for step ``r``."""
        parts = self.components(r)
        rewards = sum(w * parts[name] for w, name in zip(self.weights, COMPONENTS, strict=True))
        return rewards, parts
