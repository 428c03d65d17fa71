"""Map a learning agent's normalised action in [-1, 1]^3 to engine Actions (kW, kW, currency/kWh)."""

from __future__ import annotations

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.errors import ActionError


def scale_actions(a: np.ndarray, obs: Observation, power_kw: np.ndarray) -> Actions:
    """``a`` (N, 3) in [-1, 1], each relative to what is feasible this step, so the zero action is self-consumption
    and no action component needs clipping:

    - battery: a residual around self-consumption ``sc`` (the set-point that balances load and PV within the step's
      limits): ``a > 0`` moves it towards the largest charge, ``a < 0`` towards the largest discharge, linearly;
    - trade: the share ``(a + 1) / 2`` of the agent's residual position after the battery, ``load + battery − pv``
      (a deficit is bid, a surplus offered): −1 trades nothing, +1 everything, 0 half;
    - limit price: placed linearly in the step's price band.

    A batched observation (K copies) takes ``a`` (K, N, 3). ``power_kw`` (N,) is kept for the interface (the step's
    limits already carry the rating). Values outside [-1, 1] are clipped; NaN/inf pass through to the
    FeasibilityFilter, which replaces and counts them."""
    a = np.asarray(a, dtype=float)
    a = np.where(np.isfinite(a), np.clip(a, -1.0, 1.0), a)
    lo, hi = -obs.max_discharge_kw, np.maximum(obs.max_charge_kw, -obs.max_discharge_kw)
    own = np.clip(obs.pv_kw - obs.load_kw, lo, hi)  # self-consumption
    battery = own + np.where(a[..., 0] > 0, a[..., 0] * (hi - own), a[..., 0] * (own - lo))
    residual = obs.load_kw + battery - obs.pv_kw
    trade = 0.5 * (a[..., 1] + 1.0) * residual
    price = obs.price_floor + 0.5 * (a[..., 2] + 1.0) * (obs.price_cap - obs.price_floor)
    return Actions(battery, trade, price)


def unscale_actions(actions: Actions, obs: Observation) -> np.ndarray:
    """The inverse of ``scale_actions``: engine Actions of a step → (N, 3) in [-1, 1] (what a policy would output
    to take them; clipped where the actions lie outside the feasible range). Where a component's range is empty
    (no battery room either way, no residual position, a zero-width price band) it is 0."""
    lo, hi = -obs.max_discharge_kw, np.maximum(obs.max_charge_kw, -obs.max_discharge_kw)
    own = np.clip(obs.pv_kw - obs.load_kw, lo, hi)
    up, down = hi - own, own - lo
    shift = actions.battery_kw - own
    a0 = np.where(
        shift > 0,
        np.divide(shift, up, out=np.zeros_like(up), where=up > 1e-12),
        np.divide(shift, down, out=np.zeros_like(down), where=down > 1e-12),
    )
    residual = obs.load_kw + np.clip(actions.battery_kw, lo, hi) - obs.pv_kw
    share = np.divide(actions.trade_kw, residual, out=np.zeros_like(residual), where=np.abs(residual) > 1e-9)
    band = obs.price_cap - obs.price_floor
    a2 = 2.0 * (actions.limit_price - obs.price_floor) / band - 1.0 if band > 1e-12 else np.zeros_like(residual)
    return np.clip(np.column_stack([a0, 2.0 * share - 1.0, a2]), -1.0, 1.0)


def require_actions(agents: list[str], actions: dict, noun: str, show: int | None = 5) -> None:
    """A PettingZoo ``step`` check: the episode is running, every live agent has an action and no other name has
    one (ActionError)."""
    if not agents:
        raise ActionError("the episode is over; call reset()")
    missing = [a for a in agents if a not in actions]
    if missing:
        raise ActionError(f"no action for {noun} {missing[:show]}")
    unknown = [a for a in actions if a not in agents]
    if unknown:
        raise ActionError(f"actions for unknown {noun} {unknown[:show]}; the live ones are {agents[:show]}")
