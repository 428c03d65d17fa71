"""Time-of-use tariffs as per-step price arrays (currency/kWh)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Literal

import numpy as np

from powergrid.data.profiles import TimeGrid
from powergrid.errors import ScenarioError

#: The default value of lost load is this multiple of the highest retail price of the data (KPIS.md).
DEFAULT_VOLL_FACTOR = 10.0


def default_value_of_lost_load(retail: np.ndarray) -> float:
    """``DEFAULT_VOLL_FACTOR × max(retail)`` (currency/kWh) of a retail price series (n_steps,)."""
    return DEFAULT_VOLL_FACTOR * float(np.max(retail)) if np.size(retail) else 0.0


@dataclass(frozen=True)
class PeakRates:
    """A time-of-use window: from ``start`` (inclusive) to ``end`` (exclusive; ``end <= start`` wraps past midnight),
    local time; ``retail`` and ``feed_in`` (currency/kWh) inside it, ``feed_in`` None = the base feed-in price."""

    start: time
    end: time
    retail: float
    feed_in: float | None = None
    weekdays_only: bool = False


@dataclass(frozen=True)
class TariffRates:
    """Base prices (currency/kWh) and time-of-use windows applied in order; ``retail`` ``"data"`` = the data
    source's retail series. The defaults are the schema's."""

    retail: float | Literal["data"] = 0.15
    feed_in: float = 0.05
    peak_windows: tuple[PeakRates, ...] = ()


@dataclass(frozen=True)
class Tariff:
    """Grid prices per step, shape (n_steps,): ``retail`` (grid buy) and ``feed_in`` (grid sell), currency/kWh."""

    retail: np.ndarray
    feed_in: np.ndarray


def build_tariff(config: TariffRates, grid: TimeGrid, data_retail: np.ndarray | None = None) -> Tariff:
    """Apply the base prices, then each peak window in order (a later window wins where windows overlap).

    A step belongs to a window when its start time of day lies in ``[start, end)``; ``end <= start`` wraps past
    midnight. ``retail: data`` takes the retail series (n_steps,) of the data source (``data_retail``); a feed-in
    price above it at any step is a ScenarioError naming the step.
    """
    if config.retail == "data":
        if data_retail is None:
            raise ScenarioError("tariff.retail: 'data' needs a data source with prices (source: citylearn)")
        retail = np.asarray(data_retail, dtype=float).copy()
        above = config.feed_in > retail
        if above.any():
            t = int(np.argmax(above))
            raise ScenarioError(
                f"tariff.feed_in ({config.feed_in}) exceeds the data's retail price {retail[t]:.4g} at step {t} "
                f"({grid.index[t]}); the lowest retail price of the window is {retail.min():.4g}"
            )
        return Tariff(retail=retail, feed_in=np.full(grid.n_steps, config.feed_in, dtype=float))
    index = grid.index
    minute_of_day = index.hour.to_numpy() * 60 + index.minute.to_numpy()
    weekday = index.dayofweek.to_numpy() < 5
    retail = np.full(grid.n_steps, config.retail, dtype=float)
    feed_in = np.full(grid.n_steps, config.feed_in, dtype=float)
    for window in config.peak_windows:
        start = window.start.hour * 60 + window.start.minute
        end = window.end.hour * 60 + window.end.minute
        if end > start:
            inside = (minute_of_day >= start) & (minute_of_day < end)
        else:
            inside = (minute_of_day >= start) | (minute_of_day < end)
        if window.weekdays_only:
            inside &= weekday
        retail[inside] = window.retail
        if window.feed_in is not None:
            feed_in[inside] = window.feed_in
    return Tariff(retail=retail, feed_in=feed_in)
