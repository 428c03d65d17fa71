"""The scenario's forecaster (``mpc.forecaster``), fitted as every user of it needs: MPC's plans, the learning
agents' forecast features and the market's gate closure all see the same forecasts.

It learns from the scenario's training days. A scenario too short for a train/test split (under two whole days)
fits it on the data seen so far only — allowed for the forecasters that do not learn (with a warning for
seasonal-naive, which is persistence on the first day); ``learned`` is then an error naming ``mpc.forecaster``.
"""

from __future__ import annotations

import warnings
import weakref

import numpy as np

from powergrid.errors import ScenarioError
from powergrid.forecasting.base import Forecaster
from powergrid.forecasting.registry import make_forecaster
from powergrid.scenarios.build import Community
from powergrid.scenarios.split import day_split, day_steps


def fit_forecaster(forecaster: Forecaster, community: Community) -> Forecaster:
    """Fit ``forecaster`` on the community's training days (see the module docstring); returns it."""
    try:
        steps = day_steps(community, day_split(community)[0])
    except ScenarioError as exc:
        if forecaster.name == "learned":
            raise ScenarioError(
                f"mpc.forecaster: 'learned' needs training days, and this scenario has none to spare ({exc}); "
                "choose mpc.forecaster: seasonal-naive (or persistence, perfect)"
            ) from None
        if forecaster.name == "seasonal-naive":
            warnings.warn(
                "mpc.forecaster 'seasonal-naive': the scenario has no earlier day to repeat on its first day, "
                "which is forecast by persistence",
                RuntimeWarning,
                stacklevel=3,
            )
        steps = np.arange(community.n_steps)  # nothing is learned: a forecast reads only steps <= t
    forecaster.fit(community, steps)
    return forecaster


def scenario_forecaster(community: Community) -> Forecaster:
    """A fitted instance of the scenario's ``mpc.forecaster``."""
    return fit_forecaster(make_forecaster(community.scenario.mpc.forecaster), community)


#: Gate forecasts per community object (a comparison builds one engine per controller on the same community).
_GATE_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def gate_forecasts(community: Community) -> tuple[np.ndarray, np.ndarray]:
    """Load and PV (n_steps, N) kW as known at gate closure: the forecast of step t made at the start of step
    t − 1 (one step ahead) by the scenario's forecaster; step 0, with nothing before it, is forecast at its own
    start (its measured value). Computed once per community object (read-only arrays)."""
    key = id(community)
    if key not in _GATE_CACHE:
        load, pv = _gate_forecasts(community)
        load.flags.writeable = pv.flags.writeable = False
        _GATE_CACHE[key] = (load, pv)
        weakref.finalize(community, _GATE_CACHE.pop, key, None)
    return _GATE_CACHE[key]


def _gate_forecasts(community: Community) -> tuple[np.ndarray, np.ndarray]:
    forecaster = scenario_forecaster(community)
    n = community.n_steps
    load, pv = np.empty((n, community.n_agents)), np.empty((n, community.n_agents))
    for t in range(n):
        made = max(t - 1, 0)
        f = forecaster.forecast(made, t - made + 1)
        load[t], pv[t] = f.load_kw[-1], f.pv_kw[-1]
    return load, pv
