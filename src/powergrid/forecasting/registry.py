"""Forecasters by name: ``make_forecaster("seasonal-naive")``, ``make_forecaster("noisy", sigma=0.2, seed=1)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from powergrid.forecasting.base import ForecastError, HistoryForecaster
from powergrid.forecasting.learned import LearnedForecaster
from powergrid.forecasting.naive import (
    NoisyForecaster,
    PerfectForecaster,
    PersistenceForecaster,
    SeasonalNaiveForecaster,
)

FORECASTERS: dict[str, Callable[..., HistoryForecaster]] = {
    cls.name: cls
    for cls in (PerfectForecaster, PersistenceForecaster, SeasonalNaiveForecaster, NoisyForecaster, LearnedForecaster)
}


def forecaster_names() -> tuple[str, ...]:
    return tuple(FORECASTERS)


def make_forecaster(name: str, **options: Any) -> HistoryForecaster:
    """A new, unfitted forecaster; ``options`` go to its constructor (every one takes ``price_forecaster``)."""
    if name not in FORECASTERS:
        raise ForecastError(f"unknown forecaster {name!r}; known forecasters: {', '.join(FORECASTERS)}")
    return FORECASTERS[name](**options)
