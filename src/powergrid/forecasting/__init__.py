"""Load, PV and price forecasters behind one interface, and their error metrics.

A forecast made at the start of step ``t`` covers steps ``t … t+horizon-1``; row 0 is the measured truth.
"""

from powergrid.forecasting.base import (
    PRICE_FORECASTERS,
    Forecast,
    Forecaster,
    ForecastError,
    HistoryForecaster,
    seasonal_source,
)
from powergrid.forecasting.learned import LearnedForecaster
from powergrid.forecasting.metrics import forecast_errors
from powergrid.forecasting.naive import (
    NoisyForecaster,
    PerfectForecaster,
    PersistenceForecaster,
    SeasonalNaiveForecaster,
)
from powergrid.forecasting.registry import FORECASTERS, forecaster_names, make_forecaster

__all__ = [
    "FORECASTERS",
    "PRICE_FORECASTERS",
    "Forecast",
    "ForecastError",
    "Forecaster",
    "HistoryForecaster",
    "LearnedForecaster",
    "NoisyForecaster",
    "PerfectForecaster",
    "PersistenceForecaster",
    "SeasonalNaiveForecaster",
    "forecast_errors",
    "forecaster_names",
    "make_forecaster",
    "seasonal_source",
]
