"""Reference forecasters: perfect foresight, persistence, seasonal naive and noisy truth (kW, per agent)."""

from __future__ import annotations

import numpy as np

from powergrid.forecasting.base import ForecastError, HistoryForecaster, PriceForecaster, seasonal_source


class PerfectForecaster(HistoryForecaster):
    """The true future load and PV (an upper bound for any forecaster)."""

    name = "perfect"

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.community.profiles
        return p.load_kw[targets], p.pv_kw[targets]


class PersistenceForecaster(HistoryForecaster):
    """Every future step equals the current step's measured value."""

    name = "persistence"

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.community.profiles
        rows = np.full(targets.shape, t)
        return p.load_kw[rows], p.pv_kw[rows]


class SeasonalNaiveForecaster(HistoryForecaster):
    """Same time of day on the latest known day: step ``t+h - steps_per_day`` (or ``- k*steps_per_day`` when that
    is still in the future); the current value where no earlier day exists (first day of the data)."""

    name = "seasonal-naive"

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.community.profiles
        rows = seasonal_source(t, targets, self.per_day)
        return p.load_kw[rows], p.pv_kw[rows]


class NoisyForecaster(HistoryForecaster):
    """The truth times ``(1 + ε)``, ``ε ~ N(0, (sigma*sqrt(h))²)`` independent per (t, h, agent, quantity).

    The draws of a forecast made at ``t`` come from a generator seeded with ``(seed, quantity, t)`` and are
    taken row by row, so a forecast is reproducible and its first rows do not depend on the horizon asked
    for. Forecasts are clipped at 0 kW, so PV is never negative and stays 0 whenever the true PV is 0 (night).
    ``sigma`` is the relative error (dimensionless) one step ahead.
    """

    name = "noisy"

    def __init__(self, sigma: float = 0.1, seed: int = 0, price_forecaster: PriceForecaster = "perfect") -> None:
        super().__init__(price_forecaster)
        if not (np.isfinite(sigma) and sigma >= 0.0):
            raise ForecastError(f"noisy: sigma must be finite and >= 0, got {sigma}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ForecastError(f"noisy: seed must be a non-negative integer, got {seed!r}")
        self.sigma = float(sigma)
        self.seed = int(seed)

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self.community.profiles
        scale = self.sigma * np.sqrt(leads)[:, None]
        out = []
        for code, truth in enumerate((p.load_kw[targets], p.pv_kw[targets])):
            rng = np.random.default_rng([self.seed, code, t])
            eps = rng.standard_normal(truth.shape) * scale
            out.append(np.maximum(truth * (1.0 + eps), 0.0))
        return out[0], out[1]
