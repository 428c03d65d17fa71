"""What the batteries do at delivery: the filtered set-point moved by the unfilled part of the order (when the
controller asked its battery to follow the fill) and, under real-time balancing (``market.balancing: battery``),
by the surprise between the forecast the orders were placed on and the realised net load."""

from __future__ import annotations

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.safety import Interventions
from powergrid.scenarios.build import Community


def surprise_kw(community: Community, obs: Observation, gate_forecast: bool) -> np.ndarray:
    """(N,) or (K, N) kW: realised minus seen net load (load − PV) of the observed step — 0 unless orders are placed
    on forecasts (``gate_forecast``). With ``market.balancing: battery`` the engine moves each battery's set-point
    (after the FeasibilityFilter) by −surprise at delivery, within the step's battery limits, so a battery that was
    to cover the forecast net load covers the measured one; the rest of the surprise goes to the grid."""
    if not gate_forecast:
        return np.zeros(np.shape(obs.load_kw))
    k = np.minimum(obs.t, community.n_steps - 1)
    return (community.profiles.load_kw[k] - obs.load_kw) - (community.profiles.pv_kw[k] - obs.pv_kw)


def battery_at_delivery(
    community: Community,
    gate_forecast: bool,
    actions: Actions,
    safe: Actions,
    flags: Interventions,
    obs: Observation,
    unfilled_kwh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(scheduled, delivered) battery power (kW, + charge), arrays (N,) or (K, N). Scheduled: the filtered
    set-point ``safe.battery_kw``, moved by what the market left unfilled (``unfilled_kwh`` = fill − order, kWh) if
    the controller asked its battery to follow the fill. Delivered: also moved by −surprise under real-time
    balancing. Both stay in the step's battery limits; agents switched to the idle safe action (fallback,
    non-finite) are not moved."""
    dt = obs.dt_hours
    zeros = np.zeros(np.shape(safe.battery_kw))
    shift = unfilled_kwh / dt if actions.follow_fill else zeros
    balance = gate_forecast and community.market.balancing == "battery" and actions.balancing
    surprise = surprise_kw(community, obs, gate_forecast) if balance else zeros
    if not (actions.follow_fill or balance):
        return safe.battery_kw, safe.battery_kw
    idle = flags.fallback | flags.nonfinite
    lo, hi = -obs.max_discharge_kw, obs.max_charge_kw
    scheduled = np.where(idle, safe.battery_kw, np.clip(safe.battery_kw + shift, lo, hi))
    delivered = np.where(idle, safe.battery_kw, np.clip(safe.battery_kw + shift - surprise, lo, hi))
    return scheduled, delivered
