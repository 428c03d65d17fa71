"""Battery energy storage for N agents at once (struct of arrays). Agents without a battery have zero capacity.

Sign convention at the AC side: charge C >= 0 and discharge D >= 0 (kW); never both in one step.
Stored energy: ``soc' = soc + (C * eta_c - D / eta_d) * dt``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatteryFleet:
    """Per-agent battery parameters, arrays of shape (N,)."""

    capacity_kwh: np.ndarray
    power_kw: np.ndarray
    soc_min_kwh: np.ndarray
    soc_max_kwh: np.ndarray
    initial_soc_kwh: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    ramp_kw: np.ndarray  # inf = unlimited
    degradation_cost: np.ndarray  # currency per kWh discharged

    @property
    def n_agents(self) -> int:
        return int(self.capacity_kwh.shape[0])

    def power_bounds(
        self, soc_kwh: np.ndarray, dt_hours: float, last_power_kw: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Largest feasible charge and discharge power this step (kW, both >= 0).

        Limited by the power rating, the room to ``soc_max`` / the energy above ``soc_min`` (with
        efficiencies), and the ramp limit relative to ``last_power_kw`` (signed, + charge).
        """
        room = np.maximum(self.soc_max_kwh - soc_kwh, 0.0) / (self.charge_efficiency * dt_hours)
        available = np.maximum(soc_kwh - self.soc_min_kwh, 0.0) * self.discharge_efficiency / dt_hours
        max_charge = np.minimum(self.power_kw, room)
        max_discharge = np.minimum(self.power_kw, available)
        if last_power_kw is not None:
            max_charge = np.minimum(max_charge, np.maximum(last_power_kw + self.ramp_kw, 0.0))
            max_discharge = np.minimum(max_discharge, np.maximum(-(last_power_kw - self.ramp_kw), 0.0))
        return max_charge, max_discharge

    def next_soc(self, soc_kwh: np.ndarray, charge_kwh: np.ndarray, discharge_kwh: np.ndarray) -> np.ndarray:
        """State of charge after charging/discharging the given AC-side energies (kWh)."""
        return soc_kwh + charge_kwh * self.charge_efficiency - discharge_kwh / self.discharge_efficiency

    def losses_kwh(self, charge_kwh: np.ndarray, discharge_kwh: np.ndarray) -> np.ndarray:
        """Conversion losses (kWh) of the given AC-side energies."""
        return charge_kwh * (1.0 - self.charge_efficiency) + discharge_kwh * (1.0 / self.discharge_efficiency - 1.0)
