"""Forecast error metrics per lead time (kW)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from powergrid.forecasting.base import Forecaster, ForecastError

if TYPE_CHECKING:
    from powergrid.scenarios.build import Community

QUANTITIES: tuple[str, ...] = ("load_kw", "pv_kw")


def forecast_errors(
    forecaster: Forecaster, community: Community, steps: np.ndarray, horizon: int
) -> dict[str, dict[str, np.ndarray]]:
    """MAE and RMSE (kW) per lead ``h = 0 … horizon-1`` of forecasts made at each of ``steps``.

    ``forecaster`` must already be fitted on ``community``. Returns ``{"load_kw": {"mae": (horizon,),
    "rmse": (horizon,)}, "pv_kw": {…}}``, averaged over agents and the origins in ``steps``. Pairs whose
    target ``t + h`` lies past the data's end have no truth and are left out; a lead with no target inside
    the data gets NaN.
    """
    origins = np.asarray(steps)
    if origins.ndim != 1 or origins.size == 0 or not np.issubdtype(origins.dtype, np.integer):
        raise ForecastError(f"steps must be a non-empty 1-D integer array, got shape {origins.shape}")
    if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
        raise ForecastError(f"horizon must be an integer >= 1, got {horizon!r}")
    forecasts = [forecaster.forecast(int(t), int(horizon)) for t in origins]
    targets = origins[:, None] + np.arange(horizon)[None, :]  # (M, H)
    valid = targets < community.n_steps
    count = valid.sum(axis=0) * community.n_agents
    out: dict[str, dict[str, np.ndarray]] = {}
    for quantity in QUANTITIES:
        pred = np.stack([getattr(f, quantity) for f in forecasts])  # (M, H, N)
        truth = getattr(community.profiles, quantity)[np.minimum(targets, community.n_steps - 1)]
        err = np.where(valid[:, :, None], pred - truth, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mae = np.abs(err).sum(axis=(0, 2)) / count
            rmse = np.sqrt((err**2).sum(axis=(0, 2)) / count)
        out[quantity] = {"mae": mae, "rmse": rmse}
    return out
