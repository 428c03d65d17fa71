"""The merit-order rule: each agent covers its load from the cheapest source first, and keeps its feeder's
voltages in band with its regulator taps (where the feeder lets agents set them).

Per agent and step: PV first (free), then the battery (self-consumption: it absorbs the PV surplus and covers the
deficit within this step's limits), then the generator while its marginal cost ``b + 2·c·P`` is below the
retail price (and up to where it equals the feed-in price, exporting, if it is cheaper still), then P2P orders
for what is left (deficit bid at the cap, surplus offered at the floor, so community matches clear), then the
grid. Taps follow the standard band rule of a voltage regulator on the last measured extremes of the agent's
feeder section (``tap_rule``), and its capacitor banks the standard voltage-controlled switching rule (in when the
lowest voltage is below the band, out when the highest is above it: ``capacitor_rule``).
"""

from __future__ import annotations

import numpy as np

from powergrid.actions import Observation
from powergrid.controllers.base import ControllerBase, register
from powergrid.controllers.optimizers import cover_with_orders
from powergrid.controllers.rules import self_consumption_battery
from powergrid.controllers.taps import regulate, regulated_band, tap_limits
from powergrid.devices.generator import GeneratorFleet
from powergrid.scenarios.build import Community


def economic_output(fleet: GeneratorFleet, price: np.ndarray | float) -> np.ndarray:
    """(N,) kW where the generator's marginal cost reaches ``price`` (its rating if it never does; 0 if it starts
    above it): the output at which running more costs more than buying at ``price``."""
    price = np.broadcast_to(np.asarray(price, dtype=float), fleet.capacity_kw.shape)
    cheaper = price > fleet.marginal_cost
    slope = 2.0 * fleet.quadratic_cost
    room = np.divide(price - fleet.marginal_cost, slope, out=np.full(price.shape, np.inf), where=slope > 0)
    return np.where(cheaper, np.minimum(room, fleet.capacity_kw), 0.0)


@register("merit-order")
class MeritOrder(ControllerBase):
    """The rule of the module docstring (a baseline for microgrids; on communities without generators or
    controllable taps it is self-consumption with P2P orders for the rest)."""

    observes_network = True

    def reset(self, community: Community) -> None:
        self.c = community
        self.generators = community.agents.generators
        self.band = regulated_band(community)
        self.tap_range = tap_limits(community)

    def act(self, obs: Observation):
        battery = self_consumption_battery(obs)
        deficit = obs.load_kw + battery - obs.pv_kw
        to_cover = np.minimum(np.maximum(deficit, 0.0), economic_output(self.generators, obs.retail))
        target = np.maximum(to_cover, economic_output(self.generators, obs.feed_in))
        generator = np.where(target > 0, np.clip(target, obs.generator_low_kw, obs.generator_high_kw), 0.0)
        actions = cover_with_orders(obs, battery, p2p_worth=True, generator_kw=generator)
        return regulate(actions, obs, self.band, capacitors=True, tap_range=self.tap_range)
