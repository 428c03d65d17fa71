"""Per-agent observation features for learning agents: one builder shared by the environment and the trained
policy's controller, so training and deployment see the same numbers.

Every feature is normalised and clipped to [-CLIP, CLIP] (float32). Scales come from the training days only.
Forecasts are perfect-with-noise (multiplicative, seeded, deterministic per step) and never look past the end of
the current window: beyond it the last in-window value is repeated.
"""

from __future__ import annotations

import numpy as np

from powergrid.actions import Observation
from powergrid.scenarios.build import Community

CLIP = 10.0


def feature_names(horizon: int) -> list[str]:
    """Names of the observation vector's entries, in order."""
    names = [
        "load", "pv", "soc", "retail", "feed_in", "hour_sin", "hour_cos", "weekday_sin", "weekday_cos",
        "max_charge", "max_discharge", "net_load_per_power", "net_load", "last_clearing_price", "last_fill",
        "community_imbalance", "co2_intensity",
    ]  # fmt: skip
    for quantity in ("load", "pv", "retail"):
        names += [f"{quantity}_forecast_{h}" for h in range(1, horizon + 1)]
    return names


class ObservationBuilder:
    """Turn an engine Observation into an (N, F) float32 feature matrix (see ``feature_names``).

    Args:
        community: the community (profiles, prices, devices).
        train_steps: indices of the steps of the training days (for the normalisation scales).
        horizon: forecast steps k.
        forecast_noise: relative std of the load/PV forecast error (0 = perfect).
        seed: seed of the forecast noise.
    """

    def __init__(
        self, community: Community, train_steps: np.ndarray, horizon: int = 4, forecast_noise: float = 0.1,
        seed: int = 0,
    ) -> None:  # fmt: skip
        self.c = community
        self.horizon = horizon
        self.noise = forecast_noise
        self.seed = seed
        load = community.profiles.load_kw[train_steps]
        self.load_scale = np.maximum(np.percentile(load, 99, axis=0), 0.1)
        self.pv_scale = np.maximum(community.agents.pv_peak_kw, 0.1)
        self.price_scale = float(max(community.tariff.retail.max(), 1e-6))
        self.carbon_scale = float(max(community.carbon_kg_per_kwh.max(), 1e-6))
        self.power = np.maximum(community.agents.battery.power_kw, 1e-6)
        self.capacity = community.agents.battery.capacity_kwh
        self.names = feature_names(horizon)
        index = community.grid.index
        hour = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
        self._hour = np.stack([np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)], axis=1)
        weekday = index.dayofweek.to_numpy()
        self._weekday = np.stack([np.sin(2 * np.pi * weekday / 7), np.cos(2 * np.pi * weekday / 7)], axis=1)

    @property
    def n_features(self) -> int:
        return len(self.names)

    def _forecast_steps(self, t: int, window_end: int) -> np.ndarray:
        return np.minimum(np.arange(t + 1, t + 1 + self.horizon), window_end - 1)

    def _noise(self, t: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, t])
        return 1.0 + self.noise * rng.standard_normal((2, self.horizon, self.c.n_agents))

    def build(self, obs: Observation, window_end: int) -> np.ndarray:
        """Features (N, F) for the observation of step ``obs.t``; forecasts stop at ``window_end`` (exclusive)."""
        c, t, n = self.c, obs.t, self.c.n_agents
        ahead = self._forecast_steps(t, window_end)
        noise = self._noise(t)
        load_fc = c.profiles.load_kw[ahead] * noise[0] / self.load_scale
        pv_fc = c.profiles.pv_kw[ahead] * noise[1] / self.pv_scale
        retail_fc = np.broadcast_to(c.tariff.retail[ahead][:, None] / self.price_scale, (self.horizon, n))
        last_price = 0.0 if np.isnan(obs.last_clearing_price) else obs.last_clearing_price / self.price_scale
        community_load = float(self.load_scale.sum()) * obs.dt_hours
        columns = [
            obs.load_kw / self.load_scale,
            obs.pv_kw / self.pv_scale,
            np.divide(obs.soc_kwh, self.capacity, out=np.zeros(n), where=self.capacity > 0),
            np.full(n, obs.retail / self.price_scale),
            np.full(n, obs.feed_in / self.price_scale),
            np.full(n, self._hour[t, 0]),
            np.full(n, self._hour[t, 1]),
            np.full(n, self._weekday[t, 0]),
            np.full(n, self._weekday[t, 1]),
            obs.max_charge_kw / self.power,
            obs.max_discharge_kw / self.power,
            (obs.load_kw - obs.pv_kw) / self.power,  # the self-consumption battery set-point, in ratings
            (obs.load_kw - obs.pv_kw) / self.load_scale,
            np.full(n, last_price),
            obs.last_fill_kwh / (self.load_scale * obs.dt_hours),
            np.full(n, obs.last_net_import_kwh / community_load),
            np.full(n, obs.carbon_kg_per_kwh / self.carbon_scale),
        ]
        features = np.concatenate([np.stack(columns, axis=1), load_fc.T, pv_fc.T, retail_fc.T], axis=1)
        return np.clip(features, -CLIP, CLIP).astype(np.float32)
