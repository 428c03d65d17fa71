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
        """Largest feasible charge and discharge power this step (kW): the feasible battery power (signed, + charge)
        is ``[-max_discharge, max_charge]``.

        Physics: the power rating, the room to ``soc_max`` and the energy above ``soc_min`` (with efficiencies);
        this range always contains 0. Ramp (when ``last_power_kw`` is given): the power may change by at most
        ``ramp_kw`` from ``last_power_kw`` in either direction, so after charging at 3 kW with a 1 kW ramp the range
        is [2, 4] and ``max_discharge`` is −2 (the battery must keep charging at 2 kW at least). Where the ramp
        range and the physical range do not overlap, physics wins: the range is the physical power nearest to
        the ramp range.
        """
        room = np.maximum(self.soc_max_kwh - soc_kwh, 0.0) / (self.charge_efficiency * dt_hours)
        available = np.maximum(soc_kwh - self.soc_min_kwh, 0.0) * self.discharge_efficiency / dt_hours
        max_charge = np.minimum(self.power_kw, room)
        max_discharge = np.minimum(self.power_kw, available)
        if last_power_kw is None:
            return max_charge, max_discharge
        lo = np.maximum(-max_discharge, last_power_kw - self.ramp_kw)
        hi = np.minimum(max_charge, last_power_kw + self.ramp_kw)
        return np.maximum(hi, -max_discharge), -np.minimum(lo, max_charge)

    def next_soc(self, soc_kwh: np.ndarray, charge_kwh: np.ndarray, discharge_kwh: np.ndarray) -> np.ndarray:
        """State of charge after charging/discharging the given AC-side energies (kWh)."""
        return soc_kwh + charge_kwh * self.charge_efficiency - discharge_kwh / self.discharge_efficiency

    def losses_kwh(self, charge_kwh: np.ndarray, discharge_kwh: np.ndarray) -> np.ndarray:
        """Conversion losses (kWh) of the given AC-side energies."""
        return charge_kwh * (1.0 - self.charge_efficiency) + discharge_kwh * (1.0 / self.discharge_efficiency - 1.0)
