"""Deterministic safety layer between decisions and physics: the FeasibilityFilter.

It never learns and never guesses: each action component is clipped to what is physically possible this step,
non-finite actions are replaced by the safe action (battery idle, no order), and every intervention is counted
per agent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.actions import Actions, Observation

#: A change smaller than this (kW or currency/kWh) is rounding, not an intervention.
CLIP_TOL = 1e-9


@dataclass(frozen=True)
class Interventions:
    """Per-agent flags of one step, boolean arrays (N,)."""

    nonfinite: np.ndarray
    battery_clipped: np.ndarray
    trade_clipped: np.ndarray
    price_clipped: np.ndarray

    FIELDS = ("nonfinite", "battery_clipped", "trade_clipped", "price_clipped")


class FeasibilityFilter:
    """Clip actions to battery limits, to the agent's physical surplus/deficit, and to the P2P price band.

    Order of checks: (1) a non-finite component replaces the agent's whole action by the safe action;
    (2) battery power into ``[-max_discharge, max_charge]``; (3) the order into ``[min(0, net), max(0, net)]``
    with ``net = load + charge - discharge - pv`` (no selling energy you do not have, no buying beyond your
    deficit); (4) the limit price of a non-zero order into ``[price_floor, price_cap]``.
    """

    def apply(self, actions: Actions, obs: Observation) -> tuple[Actions, Interventions]:
        battery, trade, price = actions.battery_kw, actions.trade_kw, actions.limit_price
        nonfinite = ~(np.isfinite(battery) & np.isfinite(trade) & np.isfinite(price))
        if nonfinite.any():
            battery = np.where(nonfinite, 0.0, battery)
            trade = np.where(nonfinite, 0.0, trade)
            price = np.where(nonfinite, obs.price_floor, price)

        safe_battery = np.clip(battery, -obs.max_discharge_kw, obs.max_charge_kw)
        net = obs.load_kw + safe_battery - obs.pv_kw
        safe_trade = np.clip(trade, np.minimum(net, 0.0), np.maximum(net, 0.0))
        safe_price = np.where(safe_trade != 0.0, np.clip(price, obs.price_floor, obs.price_cap), price)

        flags = Interventions(
            nonfinite=nonfinite,
            battery_clipped=np.abs(safe_battery - battery) > CLIP_TOL,
            trade_clipped=np.abs(safe_trade - trade) > CLIP_TOL,
            price_clipped=np.abs(safe_price - price) > CLIP_TOL,
        )
        return Actions(safe_battery, safe_trade, safe_price), flags
