"""The yardstick's two pricing rules, shared by the KPIs, the optimisers' objective and the RL reward.

Definitions (KPIS.md, "headline cost"):

- **Value of lost load (VoLL).** Unserved energy costs ``VoLL`` currency per kWh (``Community.value_of_lost_load``;
  the default, 10 × the highest retail price of the data, is set by ``powergrid.data.tariffs``).
- **End-of-horizon storage adjustment.** With ``Δ = stored energy at the end − at the start`` of a horizon (kWh,
  battery side), an agent ending *emptier* pays ``−Δ · r_min / η_c`` (refilling from the grid at the cheapest
  retail price of the horizon's last 24 h, through the charger's efficiency); an agent ending *fuller* is credited
  ``Δ · η_d · f_max`` (exporting the energy at the best feed-in price of the horizon's last 24 h, through the
  inverter's efficiency). Draining never looks like savings unless the tariff really pays for it, and hoarding
  never looks free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Length of the window whose prices value stored energy at the end of a horizon (hours).
TERMINAL_WINDOW_HOURS = 24.0


@dataclass(frozen=True)
class TerminalPrices:
    """Per-kWh prices of the end-of-horizon rule, arrays (N,) in currency per kWh *stored*.

    ``refill``: cost of each kWh the horizon drained (``r_min / η_c``); ``salvage``: credit for each kWh it
    added (``η_d · f_max``). ``convex`` is True where ``refill >= salvage`` (the usual case: then the rule is a
    convex function of Δ and an LP represents it exactly with two non-negative variables).
    """

    refill: np.ndarray
    salvage: np.ndarray

    @property
    def convex(self) -> np.ndarray:
        return self.refill >= self.salvage

    def adjustment(self, delta_kwh: np.ndarray) -> np.ndarray:
        """The storage adjustment (currency, + = cost) of each agent's change of stored energy Δ (kWh), shape (N,)."""
        delta = np.asarray(delta_kwh, dtype=float)
        return np.maximum(-delta, 0.0) * self.refill - np.maximum(delta, 0.0) * self.salvage


def terminal_window_steps(n_steps: int, dt_hours: float) -> int:
    """Number of steps in the last 24 h of a horizon of ``n_steps`` (all of them for a shorter horizon)."""
    return max(1, min(n_steps, math.ceil(TERMINAL_WINDOW_HOURS / dt_hours - 1e-9)))


def terminal_prices(
    retail: np.ndarray,
    feed_in: np.ndarray,
    dt_hours: float,
    charge_efficiency: np.ndarray,
    discharge_efficiency: np.ndarray,
) -> TerminalPrices:
    """The end-of-horizon prices of a horizon whose step prices are ``retail``/``feed_in`` (n_steps,), for agents
    with the given efficiencies (N,). Raises ValueError for an empty horizon."""
    retail, feed_in = np.asarray(retail, dtype=float), np.asarray(feed_in, dtype=float)
    if retail.size == 0:
        raise ValueError("the end-of-horizon rule needs at least one step of prices")
    k = terminal_window_steps(retail.size, dt_hours)
    r_min, f_max = float(retail[-k:].min()), float(feed_in[-k:].max())
    return TerminalPrices(
        refill=r_min / np.asarray(charge_efficiency, dtype=float),
        salvage=f_max * np.asarray(discharge_efficiency, dtype=float),
    )
