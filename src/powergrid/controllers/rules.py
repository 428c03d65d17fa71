"""Rule-based baselines: grid-only, self-consumption, truthful bidder."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.controllers.base import register
from powergrid.scenarios.build import Community


def self_consumption_battery(obs: Observation) -> np.ndarray:
    """Battery power (kW, + charge) that absorbs the PV surplus and covers the deficit, within this step's limits."""
    return np.clip(obs.pv_kw - obs.load_kw, -obs.max_discharge_kw, obs.max_charge_kw)


@register("grid-only")
class GridOnly:
    """No battery use, no P2P: every kWh is bought at retail or sold at feed-in. The savings baseline."""

    fallbacks = 0
    fallback_events: tuple[str, ...] = ()

    def reset(self, community: Community) -> None:
        self.n = community.n_agents

    def act(self, obs: Observation) -> Actions:
        return replace(Actions.idle(self.n, obs.price_floor), balancing=False)  # the battery stays idle


@register("self-consumption")
class SelfConsumption:
    """The battery absorbs PV surplus and covers deficit; no P2P orders."""

    fallbacks = 0
    fallback_events: tuple[str, ...] = ()

    def reset(self, community: Community) -> None:
        self.n = community.n_agents

    def act(self, obs: Observation) -> Actions:
        return Actions(self_consumption_battery(obs), np.zeros(self.n), np.full(self.n, obs.price_floor))


@register("truthful-bidder")
class TruthfulBidder:
    """Self-consumption, then the remaining surplus is offered and the remaining deficit bid at the agent's
    true marginal value: a seller's alternative is feed-in (ask = price floor), a buyer's is retail
    (bid = price cap)."""

    fallbacks = 0
    fallback_events: tuple[str, ...] = ()

    def reset(self, community: Community) -> None:
        self.n = community.n_agents

    def act(self, obs: Observation) -> Actions:
        battery = self_consumption_battery(obs)
        net = obs.load_kw + battery - obs.pv_kw
        price = np.where(net > 0, obs.price_cap, obs.price_floor)
        return Actions(battery, net, price)


@register("zi-c")
class ZeroIntelligenceConstrained:
    """Gode & Sunder's (1993) zero-intelligence-constrained trader, the classic double-auction baseline:
    self-consumption, then the remaining deficit is bid and the surplus offered at a *random* limit price that never
    risks a loss — buyers draw uniformly from [price floor, their value = the price cap], sellers from [their value =
    the price floor, price cap]. Draws are seeded by the scenario's seed and the step (reproducible)."""

    fallbacks = 0
    fallback_events: tuple[str, ...] = ()

    def reset(self, community: Community) -> None:
        self.n = community.n_agents
        self.seed = community.scenario.seed

    def act(self, obs: Observation) -> Actions:
        battery = self_consumption_battery(obs)
        net = obs.load_kw + battery - obs.pv_kw
        u = np.random.default_rng([self.seed, 0x5A49, obs.t]).uniform(size=self.n)
        band = obs.price_cap - obs.price_floor
        price = np.where(net > 0, obs.price_floor + u * band, obs.price_cap - u * band)
        return Actions(battery, net, price)
