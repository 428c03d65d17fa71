"""Per-agent observation features for learning agents: one builder shared by the environment and the trained
policy's controller, so training and deployment see the same numbers.

Every feature is normalised and clipped to [-CLIP, CLIP] (float32). Scales come from the training days only.
Forecasts come from the scenario's forecaster (``mpc.forecaster``, the one MPC plans with, fitted on the training
days), so a learning agent knows no more about the future than the optimiser it is compared with; they never look
past the end of the current window: beyond it the last in-window value is repeated.
"""

from __future__ import annotations

import numpy as np

from powergrid.actions import Observation
from powergrid.forecasting import Forecaster, make_forecaster
from powergrid.scenarios.build import Community

CLIP = 10.0
#: Look-ahead feature blocks kept per (step, window end) before the memo is cleared.
AHEAD_CACHE_SIZE = 100_000
#: Voltage deviations from 1 pu are given in units of this (pu): ±1 = the usual ±5 % band.
VOLTAGE_SCALE = 0.05


def feature_names(horizon: int) -> list[str]:
    """Names of the observation vector's entries, in order."""
    names = [
        "load",
        "pv",
        "soc",
        "retail",
        "feed_in",
        "hour_sin",
        "hour_cos",
        "weekday_sin",
        "weekday_cos",
        "max_charge",
        "max_discharge",
        "net_load_per_power",
        "net_load",
        "last_clearing_price",
        "last_fill",
        "community_imbalance",
        "co2_intensity",
        "voltage",
        "path_loading",
        "pv_size",
        "battery_capacity",
        "battery_power",
        "is_prosumer",
        "is_pv_only",
        "is_consumer",
        "is_storage",
        "retail_max_day",
        "retail_min_day",
        "hours_to_retail_max",
        "net_load_day",
    ]
    for quantity in ("load", "pv", "retail"):
        names += [f"{quantity}_forecast_{h}" for h in range(1, horizon + 1)]
    return names


class ObservationBuilder:
    """Turn an engine Observation into an (N, F) float32 feature matrix (see ``feature_names``).

    Args:
        community: the community (profiles, prices, devices).
        train_steps: indices of the steps of the training days (for the normalisation scales).
        horizon: forecast steps k.
        forecaster: a fitted Forecaster, or None for the scenario's ``mpc.forecaster`` fitted on ``train_steps``.
    """

    def __init__(
        self,
        community: Community,
        train_steps: np.ndarray,
        horizon: int = 4,
        forecaster: Forecaster | None = None,
    ) -> None:
        self.c = community
        self.horizon = horizon
        if forecaster is None:
            forecaster = make_forecaster(community.scenario.mpc.forecaster)
            forecaster.fit(community, train_steps)
        self.forecaster = forecaster
        load = community.profiles.load_kw[train_steps]
        self.load_scale = np.maximum(np.percentile(load, 99, axis=0), 0.1)
        self.pv_scale = np.maximum(community.agents.pv_peak_kw, 0.1)
        self.price_scale = float(max(community.tariff.retail.max(), 1e-6))
        self.carbon_scale = float(max(community.carbon_kg_per_kwh.max(), 1e-6))
        self.power = np.maximum(community.agents.battery.power_kw, 1e-6)
        self.capacity = community.agents.battery.capacity_kwh
        self.names = feature_names(horizon)
        agents = community.agents
        kinds = np.array(agents.kinds)
        self._descriptors = np.column_stack(
            [  # static per agent: what a policy shared by different homes needs
                agents.pv_peak_kw / max(float(agents.pv_peak_kw.max()), 1e-6),
                self.capacity / max(float(self.capacity.max()), 1e-6),
                agents.battery.power_kw / max(float(agents.battery.power_kw.max()), 1e-6),
                *[(kinds == k).astype(float) for k in ("prosumer", "pv-only", "consumer", "storage")],
            ]
        )
        self._day = max(1, round(24.0 / community.grid.dt_hours))
        self._ahead_cache: dict[tuple[int, int], np.ndarray] = {}
        index = community.grid.index
        hour = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
        self._hour = np.stack([np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)], axis=1)
        weekday = index.dayofweek.to_numpy()
        self._weekday = np.stack([np.sin(2 * np.pi * weekday / 7), np.cos(2 * np.pi * weekday / 7)], axis=1)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def _forecast(self, t: int, window_end: int):
        """The forecast at ``t`` of the next day (steps t+1 … t+day, at least ``horizon``), each step past the
        window's last repeating that step's forecast: load and PV (rows, N) kW, retail (rows,)."""
        last = max(min(window_end - 1, self.c.n_steps - 1) - t, 0)  # rows 1 … last lie inside the window
        f = self.forecaster.forecast(t, last + 1)
        rows = np.minimum(np.arange(1, max(self.horizon, self._day) + 1), last)
        return f.load_kw[rows], f.pv_kw[rows], f.retail[rows]

    def _ahead(self, t: int, window_end: int, dt: float) -> np.ndarray:
        """The features that look ahead from step ``t`` (N, 4 + 3·horizon): the coming day's retail maximum and
        minimum, hours to the maximum, net load; then the load, PV and retail forecasts. Memoised per
        (t, window_end): the forecaster is fitted once, so they depend on nothing else."""
        key = (t, window_end)
        cached = self._ahead_cache.get(key)
        if cached is not None:
            return cached
        n = self.c.n_agents
        day_load, day_pv, day_retail = self._forecast(t, window_end)
        load, pv, retail = day_load[: self.horizon], day_pv[: self.horizon], day_retail[: self.horizon]
        peak = int(np.argmax(day_retail))  # the coming day (to the evening peak and beyond), from the forecaster
        day_net = (day_load - day_pv).sum(axis=0) * dt
        summary = np.stack(
            [
                np.full(n, day_retail.max() / self.price_scale),
                np.full(n, day_retail.min() / self.price_scale),
                np.full(n, (peak + 1) / self._day),
                day_net / (self.load_scale * self._day * dt),
            ],
            axis=1,
        )
        retail_fc = np.broadcast_to(retail[:, None] / self.price_scale, (self.horizon, n))
        block = np.concatenate([summary, (load / self.load_scale).T, (pv / self.pv_scale).T, retail_fc.T], axis=1)
        if len(self._ahead_cache) >= AHEAD_CACHE_SIZE:
            self._ahead_cache.clear()
        self._ahead_cache[key] = block
        return block

    def build(self, obs: Observation, window_end: int | np.ndarray) -> np.ndarray:
        """Features (N, F) for the observation of step ``obs.t``; forecasts stop at ``window_end`` (exclusive).
        For a batched observation (K copies: ``obs.t`` (K,), arrays (K, N)) ``window_end`` is (K,) and the features
        are (K, N, F)."""
        t = np.minimum(obs.t, self.c.n_steps - 1)  # a terminal observation may sit past the data
        shape = obs.load_kw.shape
        if t.ndim:
            ends = np.asarray(window_end)
            ahead = np.stack([self._ahead(int(k), int(e), obs.dt_hours) for k, e in zip(t, ends, strict=True)])
            hour, weekday = self._hour[t][:, None, :], self._weekday[t][:, None, :]
        else:
            ahead = self._ahead(int(t), int(window_end), obs.dt_hours)
            hour, weekday = self._hour[t], self._weekday[t]
        last_price = np.nan_to_num(np.asarray(obs.last_clearing_price) / self.price_scale)
        community_load = float(self.load_scale.sum()) * obs.dt_hours
        columns = [
            obs.load_kw / self.load_scale,
            obs.pv_kw / self.pv_scale,
            np.divide(obs.soc_kwh, self.capacity, out=np.zeros(shape), where=self.capacity > 0),
            np.asarray(obs.retail) / self.price_scale,
            np.asarray(obs.feed_in) / self.price_scale,
            hour[..., 0],
            hour[..., 1],
            weekday[..., 0],
            weekday[..., 1],
            obs.max_charge_kw / self.power,
            obs.max_discharge_kw / self.power,
            (obs.load_kw - obs.pv_kw) / self.power,  # the self-consumption battery set-point, in ratings
            (obs.load_kw - obs.pv_kw) / self.load_scale,
            last_price,
            obs.last_fill_kwh / (self.load_scale * obs.dt_hours),
            np.asarray(obs.last_net_import_kwh) / community_load,
            np.asarray(obs.carbon_kg_per_kwh) / self.carbon_scale,
            np.nan_to_num((obs.voltage_pu - 1.0) / VOLTAGE_SCALE),  # last step's; 0 without a feeder
            np.nan_to_num(obs.path_loading),
            *self._descriptors.T,
        ]
        features = np.empty((*shape, self.n_features), dtype=np.float32)
        for j, column in enumerate(columns):  # assignment broadcasts per-copy scalars over the agents
            features[..., j] = column
        features[..., len(columns) :] = ahead
        return np.clip(features, -CLIP, CLIP, out=features)
