"""A learned forecaster: one direct ridge regression per lead time, shared by all agents (per-agent scaling)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.forecasting.base import ForecastError, HistoryForecaster, PriceForecaster, seasonal_source

FEATURES: tuple[str, ...] = (
    "now",  # scaled value at the origin t (measured)
    "lag_1h",
    "lag_2h",
    "lag_24h",  # scaled origin lags
    "seasonal",  # scaled latest known value at the target's time of day (the seasonal-naive forecast)
    "profile_target",  # mean scaled training value at the target's time of day
    "profile_now",  # mean scaled training value at the origin's time of day
    "active_now",  # 1 where the origin's time of day has a non-zero reference (PV: daylight)
    "hour_sin",
    "hour_cos",
    "weekday_sin",
    "weekday_cos",  # calendar of the target step
)
QUANTITIES: tuple[str, ...] = ("load_kw", "pv_kw")
UNUSED: dict[str, tuple[str, ...]] = {"load_kw": (), "pv_kw": ("weekday_sin", "weekday_cos")}  # PV has no week


@dataclass(frozen=True)
class _Quantity:
    """Per-quantity fitted state: reference (kW) and mean scaled value per time of day, one model per lead."""

    reference: np.ndarray  # (steps_per_day, N) kW; 0 = never seen in training at that time of day (forecast 0)
    profile: np.ndarray  # (steps_per_day, N) mean scaled training value
    coef: np.ndarray  # (max_horizon, n_features)
    intercept: np.ndarray  # (max_horizon,)


class LearnedForecaster(HistoryForecaster):
    """Direct multi-horizon ridge regression on scaled lags, a seasonal value and calendar features.

    Scaling (per agent and time of day, from the training steps): each value is divided by a reference ``r``
    — load: the agent's mean load at that time of day; PV: the agent's maximum PV at that time of day (a
    clear-sky proxy) — so the model sees a multiplicative anomaly / clear-sky index. For each quantity and
    each lead ``h = 1 … max_horizon`` (default one day; longer leads use the last model) one scikit-learn
    ``Ridge(alpha)`` maps ``FEATURES`` to the scaled value at ``t + h``; rows are (origin, agent) pairs pooled
    over agents, weighted by ``r²`` of the target so the fit minimises the squared error in kW. The forecast
    is ``max(prediction, 0) * r`` — 0 where ``r`` is 0 (PV at night, agents without PV). PV leaves out the
    weekday features (weather has no week; with three training weeks they only fit noise).

    Ridge over ``HistGradientBoostingRegressor``: after this scaling the relation is close to linear (an
    anomaly persisting with a lead-dependent weight); boosting did not clearly help on prosumer-20's test
    days (HistGradientBoostingRegressor: load MAE at most ~4 % lower, PV worse at leads <= 6 h) while taking
    ~5 s per model instead of milliseconds, and a linear model is deterministic, fast and inspectable.

    Only ``train_steps`` are learned from: references and profiles use those steps, and a training row is kept
    only if its target and every input step lie in ``train_steps``. Forecasts read the data of steps ``<= t``
    (inputs before step 0 are clipped to step 0). scikit-learn is imported by ``fit`` only.
    """

    name = "learned"

    def __init__(
        self, alpha: float = 1.0, max_horizon: int | None = None, price_forecaster: PriceForecaster = "perfect"
    ) -> None:
        super().__init__(price_forecaster)
        if not (np.isfinite(alpha) and alpha >= 0.0):
            raise ForecastError(f"learned: alpha must be finite and >= 0, got {alpha}")
        if max_horizon is not None and (
            isinstance(max_horizon, bool) or not isinstance(max_horizon, int | np.integer) or max_horizon < 1
        ):
            raise ForecastError(f"learned: max_horizon must be an integer >= 1, got {max_horizon!r}")
        self.alpha = float(alpha)
        self.max_horizon = max_horizon
        self._fitted: dict[str, _Quantity] = {}

    def _fit(self, train_steps: np.ndarray) -> None:
        from sklearn.linear_model import Ridge  # scikit-learn is only needed by this forecaster

        c = self.community
        per_day = self.per_day
        max_h = self.max_horizon or per_day
        self._slot, self._cal = _calendar(c.grid.index, c.grid.step_minutes)
        in_train = np.zeros(c.n_steps + max_h, dtype=bool)  # padded: targets past the end are never kept
        in_train[train_steps] = True
        origins = train_steps
        self._fitted = {}
        for quantity in QUANTITIES:
            values = getattr(c.profiles, quantity)
            state = self._references(quantity, values, train_steps, max_h)
            scaled = self._scaled(values, state.reference)
            reference = state.reference
            used = np.array([f not in UNUSED[quantity] for f in FEATURES])
            for h in range(1, max_h + 1):
                targets = origins + h
                x, sources = self._features(scaled, state, origins, np.minimum(targets, c.n_steps - 1))
                keep = in_train[targets] & (sources >= 0).all(axis=1)
                keep &= in_train[np.clip(sources, 0, None)].all(axis=1)
                weight = reference[self._slot[targets[keep]]] ** 2  # (rows, N)
                active = weight > 0
                if not active.any():
                    raise ForecastError(
                        f"learned: no training rows for {quantity} at lead {h} (train_steps too short or scattered)"
                    )
                model = Ridge(alpha=self.alpha).fit(
                    x[keep][active][:, used], scaled[targets[keep]][active], sample_weight=weight[active]
                )
                state.coef[h - 1, used] = model.coef_
                state.intercept[h - 1] = model.intercept_
            self._fitted[quantity] = state

    def _references(self, quantity: str, values: np.ndarray, train_steps: np.ndarray, max_h: int) -> _Quantity:
        """Reference (kW) and mean scaled value per time of day from the training steps; coefficients zeroed."""
        per_day, n = self.per_day, values.shape[1]
        slots = self._slot[train_steps]
        count = np.maximum(np.bincount(slots, minlength=per_day), 1)[:, None]
        reference = np.zeros((per_day, n))
        if quantity == "load_kw":
            np.add.at(reference, slots, values[train_steps])
            reference /= count
        else:
            np.maximum.at(reference, slots, values[train_steps])
        profile = np.zeros((per_day, n))
        np.add.at(profile, slots, self._scaled(values[train_steps], reference, train_steps))
        return _Quantity(reference, profile / count, np.zeros((max_h, len(FEATURES))), np.zeros(max_h))

    def _scaled(self, values: np.ndarray, reference: np.ndarray, steps: np.ndarray | None = None) -> np.ndarray:
        """``values / reference`` at the time of day of ``steps`` (default: 0, 1, …), 0 where the reference is 0."""
        ref = reference[self._slot[: values.shape[0]] if steps is None else self._slot[steps]]
        return np.divide(values, ref, out=np.zeros_like(values, dtype=float), where=ref > 0)

    def _features(
        self, scaled: np.ndarray, state: _Quantity, origins: np.ndarray, targets: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features (M, N, F) of (origin, target) pairs and the input steps (M, 5) they read (may be < 0)."""
        per_h = 60 // self.community.grid.step_minutes
        per_day = self.per_day
        sources = np.stack(
            [
                origins,
                origins - per_h,
                origins - 2 * per_h,
                origins - per_day,
                seasonal_source(origins, targets, per_day),
            ],
            axis=1,
        )
        lagged = scaled[np.clip(sources, 0, None)].transpose(0, 2, 1)  # (M, N, 5)
        m, n = lagged.shape[:2]
        now_slot = self._slot[origins]
        profile = np.stack(
            [state.profile[self._slot[targets]], state.profile[now_slot], (state.reference[now_slot] > 0)], axis=2
        )
        cal = np.broadcast_to(self._cal[targets][:, None, :], (m, n, self._cal.shape[1]))
        return np.concatenate([lagged, profile, cal], axis=2), sources

    def predict_scaled(self, quantity: str, features: np.ndarray, leads: np.ndarray) -> np.ndarray:
        """The fitted model's scaled prediction for features (L, N, F) at leads (L,) (>= 1); shape (L, N)."""
        state = self._state(quantity)
        row = np.minimum(np.asarray(leads), state.coef.shape[0]) - 1
        return np.einsum("lnf,lf->ln", features, state.coef[row]) + state.intercept[row][:, None]

    def _state(self, quantity: str) -> _Quantity:
        if not self._fitted:
            raise ForecastError("learned: call fit(community, train_steps) before forecasting")
        if quantity not in self._fitted:
            raise ForecastError(f"learned: quantity must be one of {QUANTITIES}, got {quantity!r}")
        return self._fitted[quantity]

    def _predict(self, t: int, targets: np.ndarray, leads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = []
        origins = np.full(targets.shape, t)
        for quantity in QUANTITIES:
            state = self._state(quantity)
            scaled = self._scaled(getattr(self.community.profiles, quantity)[: t + 1], state.reference)
            x, _ = self._features(scaled, state, origins, targets)
            pred = np.maximum(self.predict_scaled(quantity, x, leads), 0.0)
            out.append(pred * state.reference[self._slot[targets]])
        return out[0], out[1]


def _calendar(index, step_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Time-of-day slot (n_steps,) and calendar features (n_steps, 4): sin/cos of hour and of weekday."""
    minute = index.hour.to_numpy() * 60 + index.minute.to_numpy()
    day = 2 * np.pi * minute / (24 * 60)
    week = 2 * np.pi * (index.dayofweek.to_numpy() + minute / (24 * 60)) / 7
    return minute // step_minutes, np.stack([np.sin(day), np.cos(day), np.sin(week), np.cos(week)], axis=1)
