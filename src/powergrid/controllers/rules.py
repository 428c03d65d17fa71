"""Rule-based baselines: grid-only, self-consumption, truthful bidder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.controllers.base import ControllerBase, register
from powergrid.scenarios.build import Community


def self_consumption_battery(obs: Observation) -> np.ndarray:
    """Battery power (kW, + charge) that absorbs the PV surplus and covers the deficit, within this step's limits."""
    return np.clip(obs.pv_kw - obs.load_kw, -obs.max_discharge_kw, obs.max_charge_kw)


@register("grid-only")
class GridOnly(ControllerBase):
    """No battery use, no P2P: every kWh is bought at retail or sold at feed-in. The savings baseline."""

    def reset(self, community: Community) -> None:
        self.n = community.n_agents

    def act(self, obs: Observation) -> Actions:
        return replace(Actions.idle(self.n, float(obs.price_floor)), balancing=False)  # the battery stays idle


@register("self-consumption")
class SelfConsumption(ControllerBase):
    """The battery absorbs PV surplus and covers deficit; no P2P orders."""

    def reset(self, community: Community) -> None:
        self.n = community.n_agents

    def act(self, obs: Observation) -> Actions:
        return Actions(self_consumption_battery(obs), np.zeros(self.n), np.full(self.n, obs.price_floor))


def coming_day_max_retail(retail: np.ndarray, steps_per_day: int) -> np.ndarray:
    """(T,) the highest retail price (currency/kWh) over each step and the following ``steps_per_day − 1`` steps
    (a window cut short by the end of the data)."""
    padded = np.concatenate([retail, np.full(steps_per_day - 1, -np.inf)])
    return np.lib.stride_tricks.sliding_window_view(padded, steps_per_day).max(axis=1)


@register("truthful-bidder")
class TruthfulBidder(ControllerBase):
    """Bids its true marginal values (a price-taking prosumer that reports them truthfully, as McAfee's mechanism
    rewards): the battery runs self-consumption, and what the agent would do without the market sets the price.

    - Buyer (deficit the battery cannot cover): values energy at retail, its alternative → bid the price cap.
    - Seller of PV the battery cannot store: its alternative is feed-in → ask the price floor.
    - Seller of PV the battery *could* store: storing 1 kWh returns η_c·η_d kWh later, displacing retail then, less
      the degradation cost → ask ``v_store = η_c·η_d·(r_day − c_deg)`` (clipped into the band), where ``r_day`` is
      the highest retail price of the coming 24 h (the tariff is known in advance). The whole absorbable surplus is
      offered and the battery stores what is not sold (``Actions.follow_fill``).
    - Buyer whose battery could cover the deficit: the stored energy is worth ``r_day`` ≥ retail now, so buying at
      up to retail keeps it for later → bid the cap for the whole deficit; the battery covers what is not bought.

    So storage owners ask more than the floor: with a TOU tariff and a fee, mechanisms price differently and
    per-agent outcomes differ (BENCHMARKS.md). Source for valuing storage at its opportunity cost: the marginal
    value of stored energy in storage arbitrage (e.g. Sioshansi et al., Energy Economics 31 (2009) 269–277)."""

    def reset(self, community: Community) -> None:
        self.n = community.n_agents
        fleet = community.agents.battery
        steps_per_day = max(1, round(24.0 / community.grid.dt_hours))
        r_day = coming_day_max_retail(community.tariff.retail, steps_per_day)
        efficiency = fleet.charge_efficiency * fleet.discharge_efficiency
        self.store_value = efficiency[None, :] * (r_day[:, None] - fleet.degradation_cost[None, :])  # (T, N)

    def act(self, obs: Observation) -> Actions:
        lo, hi = -obs.max_discharge_kw, obs.max_charge_kw
        need = obs.load_kw - obs.pv_kw  # + deficit / − surplus (kW)
        own = self_consumption_battery(obs)
        covered = np.abs(own + need) <= 1e-12  # the battery alone would balance the agent
        battery = np.where(covered, np.clip(0.0, lo, hi), own)  # covered: the set-point of a fully filled order
        order = need + battery
        store = np.clip(self.store_value[min(obs.t, self.store_value.shape[0] - 1)], obs.price_floor, obs.price_cap)
        price = np.where(order > 0, obs.price_cap, np.where(covered, store, obs.price_floor))
        return Actions(battery, order, price, follow_fill=True)


@register("zi-c")
class ZeroIntelligenceConstrained(ControllerBase):
    """Gode & Sunder's (1993) zero-intelligence-constrained trader, the classic double-auction baseline:
    self-consumption, then the remaining deficit is bid and the surplus offered at a *random* limit price that never
    risks a loss — buyers draw uniformly from [price floor, their value = the price cap], sellers from [their value =
    the price floor, price cap]. Draws are seeded by the scenario's seed and the step (reproducible)."""

    def reset(self, community: Community) -> None:
        self.n = community.n_agents
        self.seed = community.scenario.seed

    def act(self, obs: Observation) -> Actions:
        battery = self_consumption_battery(obs)
        net = obs.load_kw + battery - obs.pv_kw
        u = np.random.default_rng([self.seed, 0x5A49, int(obs.t)]).uniform(size=self.n)
        band = obs.price_cap - obs.price_floor
        price = np.where(net > 0, obs.price_floor + u * band, obs.price_cap - u * band)
        return Actions(battery, net, price)
