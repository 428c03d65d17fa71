"""Map a learning agent's normalised action in [-1, 1]^3 to engine Actions (kW, kW, currency/kWh)."""

from __future__ import annotations

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.errors import ActionError


def scale_actions(a: np.ndarray, obs: Observation, power_kw: np.ndarray) -> Actions:
    """``a`` (N, 3): battery power as a share of the rating (+ charge); trade as a share of the agent's largest
    possible order (buy: load + feasible charge; sell: PV + feasible discharge); limit price placed linearly in
    the step's price band. Values outside [-1, 1] are clipped; NaN/inf pass through to the FeasibilityFilter,
    which replaces and counts them."""
    a = np.asarray(a, dtype=float)
    finite = np.isfinite(a)
    a = np.where(finite, np.clip(a, -1.0, 1.0), a)
    battery = a[:, 0] * power_kw
    buy_bound = obs.load_kw + obs.max_charge_kw
    sell_bound = obs.pv_kw + obs.max_discharge_kw
    trade = a[:, 1] * np.where(a[:, 1] > 0, buy_bound, sell_bound)
    price = obs.price_floor + 0.5 * (a[:, 2] + 1.0) * (obs.price_cap - obs.price_floor)
    return Actions(battery, trade, price)


def require_actions(agents: list[str], actions: dict, noun: str, show: int | None = 5) -> None:
    """A PettingZoo ``step`` check: the episode is running and every live agent has an action (ActionError)."""
    if not agents:
        raise ActionError("the episode is over; call reset()")
    missing = [a for a in agents if a not in actions]
    if missing:
        raise ActionError(f"no action for {noun} {missing[:show]}")
