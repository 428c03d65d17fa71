"""Grid carbon intensity per step (kg CO2 per kWh imported)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from powergrid.data.profiles import TimeGrid

#: Shape of grid carbon intensity; ``data``: the data source's series (read by the scenario builder).
CarbonKind = Literal["constant", "diurnal", "data"]


@dataclass(frozen=True)
class CarbonShape:
    """Grid carbon intensity: ``kind`` constant, diurnal or ``data`` (the data source's series, not built here);
    ``mean_kg_per_kwh`` the daily mean (kg/kWh); ``solar_dip`` and ``evening_peak`` the relative dip at midday and
    rise in the evening (dimensionless, diurnal only). The defaults are the schema's."""

    kind: CarbonKind = "diurnal"
    mean_kg_per_kwh: float = 0.4
    solar_dip: float = 0.3
    evening_peak: float = 0.15


def _bump(hour: np.ndarray, centre: float, width: float) -> np.ndarray:
    """A smooth daily bump of height 1 at ``centre`` (h) with half-width ``width`` (h), periodic in 24 h."""
    distance = np.abs((hour - centre + 12.0) % 24.0 - 12.0)
    return np.exp(-0.5 * (distance / width) ** 2)


def build_carbon(config: CarbonShape, grid: TimeGrid) -> np.ndarray:
    """Carbon intensity (kg/kWh) per step, shape (n_steps,).

    ``diurnal``: the mean times ``1 - solar_dip * bump(13 h) + evening_peak * bump(19 h)``, rescaled so that the
    average over a whole day equals ``mean_kg_per_kwh`` (solar-rich midday, gas-fired evening).
    """
    if config.kind == "data":
        raise ValueError("carbon.kind 'data' is read from the data source (powergrid.scenarios.build), not built here")
    if config.kind == "constant":
        return np.full(grid.n_steps, config.mean_kg_per_kwh)
    index = grid.index
    mid_hour = index.hour.to_numpy() + (index.minute.to_numpy() + grid.step_minutes / 2) / 60.0
    shape = 1.0 - config.solar_dip * _bump(mid_hour, 13.0, 2.5) + config.evening_peak * _bump(mid_hour, 19.0, 2.0)
    day = np.arange(0.0, 24.0, 0.25) + 0.125
    day_mean = np.mean(1.0 - config.solar_dip * _bump(day, 13.0, 2.5) + config.evening_peak * _bump(day, 19.0, 2.0))
    return config.mean_kg_per_kwh * shape / day_mean
