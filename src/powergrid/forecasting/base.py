"""The forecaster interface, the Forecast container and the shared plumbing of every forecaster.

Information set: a forecast made at the start of step ``t`` may use the data of steps ``<= t`` (the engine has
measured step ``t``'s load and PV when it asks), so row ``h = 0`` is always the truth. Rows whose target step
``t + h`` lies past the data's end repeat the row of the last step (``n_steps - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

from powergrid.errors import HeronGridError

if TYPE_CHECKING:
    from powergrid.scenarios.build import Community

PriceForecaster = Literal["perfect", "seasonal"]
PRICE_FORECASTERS: tuple[str, ...] = ("perfect", "seasonal")


class ForecastError(HeronGridError):
    """A forecaster was misused: unknown name or option, not fitted, step or horizon out of range."""


@dataclass(frozen=True)
class Forecast:
    """Forecast made at the start of step ``t`` for steps ``t, t+1, …, t+horizon-1`` (row 0 is "now").

    ``load_kw``/``pv_kw``: (horizon, N) mean kW per step; ``retail``/``feed_in``: (horizon,) currency/kWh.
    """

    load_kw: np.ndarray
    pv_kw: np.ndarray
    retail: np.ndarray
    feed_in: np.ndarray

    @property
    def horizon(self) -> int:
        return self.load_kw.shape[0]


@runtime_checkable
class Forecaster(Protocol):
    """Fit on a community's training steps, then forecast from any step of the same community."""

    name: str

    def fit(self, community: Community, train_steps: np.ndarray) -> None: ...

    def forecast(self, t: int, horizon: int) -> Forecast: ...


def seasonal_source(t: int | np.ndarray, targets: np.ndarray, per_day: int) -> np.ndarray:
    """Latest known step at the same time of day as each target: ``target - k*per_day`` with the smallest
    ``k >= 1`` that gives a step ``<= t``; ``t`` itself (persistence) where no such step exists (``< 0``)."""
    k = np.maximum(1, -(-(targets - t) // per_day))
    src = targets - k * per_day
    return np.where(src >= 0, src, t)


class HistoryForecaster:
    """Base class: stores the community at ``fit``, validates calls, clips targets, fills prices and h = 0.

    Subclasses implement ``_predict(t, targets, leads) -> (load_kw, pv_kw)`` for ``targets = t + leads``
    (leads >= 1, targets < n_steps), each of shape (len(targets), N) in kW. Prices: ``price_forecaster``
    ``"perfect"`` (default; time-of-use tariffs are published) returns the true retail/feed-in,
    ``"seasonal"`` the prices of the latest known step at the same time of day (for stochastic prices).
    """

    name = "history"

    def __init__(self, price_forecaster: PriceForecaster = "perfect") -> None:
        if price_forecaster not in PRICE_FORECASTERS:
            raise ForecastError(f"price_forecaster must be one of {PRICE_FORECASTERS}, got {price_forecaster!r}")
        self.price_forecaster = price_forecaster
        self._community: Community | None = None

    @property
    def community(self) -> Community:
        if self._community is None:
            raise ForecastError(f"forecaster {self.name!r}: call fit(community, train_steps) before forecast")
        return self._community

    @property
    def per_day(self) -> int:
        return 24 * 60 // self.community.grid.step_minutes  # as powergrid.scenarios.split.steps_per_day

    def fit(self, community: Community, train_steps: np.ndarray) -> None:
        """Remember the community (its data of steps <= t is read at forecast time); learn from ``train_steps``."""
        steps = check_train_steps(community, train_steps)
        self._community = community
        self._fit(steps)

    def _fit(self, train_steps: np.ndarray) -> None:
        """Learn from the given (validated, sorted, unique) steps; nothing to learn by default."""

    def forecast(self, t: int, horizon: int) -> Forecast:
        """Forecast of steps ``t … t+horizon-1`` made at the start of step ``t`` (see the module docstring)."""
        c = self.community
        n = c.n_steps
        if isinstance(t, bool) or not isinstance(t, int | np.integer) or not 0 <= t < n:
            raise ForecastError(f"forecaster {self.name!r}: step t must be an integer in [0, {n}), got {t!r}")
        if isinstance(horizon, bool) or not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ForecastError(f"forecaster {self.name!r}: horizon must be an integer >= 1, got {horizon!r}")
        t = int(t)
        targets = np.minimum(t + np.arange(horizon), n - 1)
        last = int(targets[-1] - t)  # rows 1..last are inside the data; later rows repeat row ``last``
        load = np.empty((horizon, c.n_agents))
        pv = np.empty((horizon, c.n_agents))
        load[0] = c.profiles.load_kw[t]
        pv[0] = c.profiles.pv_kw[t]
        if last >= 1:
            leads = np.arange(1, last + 1)
            load[1 : last + 1], pv[1 : last + 1] = self._predict(t, t + leads, leads)
        load[last + 1 :] = load[last]
        pv[last + 1 :] = pv[last]
        retail, feed_in = self._prices(t, targets)
        return Forecast(load_kw=load, pv_kw=pv, retail=retail, feed_in=feed_in)

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _prices(self, t: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Retail and feed-in (currency/kWh) for the (clipped) targets; the current step's prices are known."""
        tariff = self.community.tariff
        if self.price_forecaster == "seasonal":
            targets = np.where(targets > t, seasonal_source(t, targets, self.per_day), targets)
        return tariff.retail[targets].astype(float), tariff.feed_in[targets].astype(float)


def check_train_steps(community: Community, train_steps: np.ndarray) -> np.ndarray:
    """Sorted unique integer steps inside ``[0, n_steps)``; a ForecastError names the first bad value."""
    steps = np.asarray(train_steps)
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
        raise ForecastError(
            f"train_steps must be a non-empty 1-D integer array, got shape {steps.shape} dtype {steps.dtype}"
        )
    bad = (steps < 0) | (steps >= community.n_steps)
    if bad.any():
        raise ForecastError(
            f"train_steps: step {steps[bad][0]} outside the community's steps 0…{community.n_steps - 1}"
        )
    return np.unique(steps)
