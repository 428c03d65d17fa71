"""Default offline, seeded synthetic data source: pvlib PV and demandlib BDEW household load per agent.

Deterministic for a given seed (independent ``numpy.random.default_rng`` sub-streams, no global state):

* Weather, shared by the community: a daily Markov chain over clear / partly cloudy / overcast days
  (stationary probabilities ``[(1-c)^2, 2c(1-c), c^2]`` for ``cloudiness`` c, persistence 0.5) sets the daily
  mean clear-sky index k (1.0 / 0.65 / 0.3); an intraday mean-one log-normal AR(1) fluctuation (15-min lag-1
  correlation e^-0.25, log-std 0 / 0.35 / 0.15 per state) multiplies it; k is clipped to [0, 1.2].
  ``cloudiness=0`` is exactly Ineichen clear sky; ~0.5 gives Central-European yields. GHI is scaled by k,
  DNI by the beam index ``clip((k - 0.3) / 0.7, 0, 1)`` (clouds remove beam first), and
  DHI = GHI - DNI cos(zenith) (>= 0, closes the irradiance balance).
* PV: solar position and Ineichen clear sky (offline Linke turbidity table) at 15-min mid-interval
  timestamps; isotropic plane-of-array irradiance (albedo 0.2) for a fixed array per agent (tilt
  U(20, 40) deg, azimuth equator-facing +- U(0, 45) deg); Faiman cell temperature with a synthetic
  seasonal + diurnal air temperature (degC) and 1 m/s wind; ``pvwatts_dc`` (gamma -0.004 /degC; no
  angle-of-incidence, spectral or soiling losses); flat system efficiency 0.96; AC clipped at
  ``pv_peak_kw``; averaged to the grid step with ``resample_mean_kw``.
* Load: BDEW 2025 household profile ``demandlib.bdew.H25`` (revised H0, dynamised; demandlib returns mean kW
  for ~1 GWh/year on 15-min steps; no holidays are passed, so public holidays count as ordinary days),
  normalised to 1,000 kWh per calendar year, shifted per agent by U(-1, 1) h (exact, on the cumulative energy
  curve), multiplied by a mean-one log-normal AR(1) factor on an hourly lattice anchored at ``grid.start``
  (lag-1 correlation 0.6, std of the factor = ``load_variability``) and scaled to ``annual_load_kwh``.

Weather and load noise live on lattices independent of the grid step, so 15/30/60-min grids with the same
start and span carry the same energy per common interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta, timezone
from functools import cache
from typing import TypeVar

import numpy as np
import pandas as pd
import pvlib
from demandlib import bdew

from powergrid.data.profiles import Profiles, TimeGrid
from powergrid.data.resample import resample_mean_kw
from powergrid.errors import DataError

_FINE_MIN = 15  # internal PV resolution (min)
_STATE_KC = np.array([1.0, 0.65, 0.3])  # daily mean clear-sky index: clear, partly cloudy, overcast
_STATE_LOG_STD = np.array([0.0, 0.35, 0.15])  # intraday log-std of the clear-sky index per state
_DAY_PERSISTENCE = 0.5  # probability that tomorrow keeps today's weather state
_CLOUD_PHI = float(np.exp(-0.25))  # lag-1 correlation of the 15-min cloud fluctuation (1 h time scale)
_KC_MAX = 1.2
_BEAM_THRESHOLD = 0.3  # clear-sky index below which no beam irradiance remains
_ALBEDO = 0.2
_GAMMA_PDC = -0.004  # 1/degC
_SYSTEM_EFFICIENCY = 0.96
_WIND_MS = 1.0
_LOAD_PHI = 0.6  # lag-1 correlation of the hourly load noise
_MAX_SHIFT_H = 1.0
_REF_ANNUAL_KWH = 1000.0
_CHUNK_ELEMENTS = 1_000_000  # (15-min steps x agents) per chunk: temporaries of ~8 MB each


@dataclass(frozen=True)
class Location:
    """Community site: latitude/longitude (deg N/E), altitude (m), local standard time = UTC + offset (h)."""

    latitude: float
    longitude: float
    altitude_m: float = 0.0
    utc_offset_hours: float = 0.0


def synthetic_profiles(
    grid: TimeGrid,
    location: Location,
    agent_ids: Sequence[str],
    pv_peak_kw: np.ndarray,
    annual_load_kwh: np.ndarray,
    seed: int,
    cloudiness: float = 0.3,
    load_variability: float = 0.25,
) -> Profiles:
    """Seeded synthetic load and PV (mean kW per step, shape (grid.n_steps, n_agents)) for every agent.

    ``pv_peak_kw``: DC peak power per agent in kW (0 = no PV, also the AC clipping limit);
    ``annual_load_kwh``: yearly consumption per agent in kWh (> 0); ``cloudiness`` in [0, 1] (0 = clear sky);
    ``load_variability``: std of the mean-one multiplicative hourly load noise (>= 0).
    ``location.utc_offset_hours`` must equal ``grid.utc_offset_hours``. Models: see the module docstring.
    """
    ids = tuple(agent_ids)
    peak, annual = _validate(grid, location, ids, pv_peak_kw, annual_load_kwh, seed)
    _check_parameters(cloudiness, load_variability)
    n = len(ids)
    rng_days, rng_cloud, rng_orient, rng_shift, rng_noise = (
        np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(5)
    )
    ratio = grid.step_minutes // _FINE_MIN
    fine_mid = grid.start + pd.to_timedelta((np.arange(grid.n_steps * ratio) + 0.5) * _FINE_MIN, unit="min")
    zen, sun_az, ghi, dni, dhi, t_air = _weather(fine_mid, location, cloudiness, rng_days, rng_cloud)

    u = rng_orient.random((n, 2))
    tilt = 20.0 + 20.0 * u[:, 0]
    azimuth = ((180.0 if location.latitude >= 0 else 0.0) + 90.0 * u[:, 1] - 45.0) % 360.0
    shift_h = _MAX_SHIFT_H * (2.0 * rng_shift.random(n) - 1.0)
    base_kw, origin = _base_load_kw(grid)
    cum_kwh = np.concatenate(([0.0], np.cumsum(base_kw * (_FINE_MIN / 60.0))))
    t0_h = (grid.start - origin) / pd.Timedelta(hours=1)
    log_std = float(np.sqrt(np.log1p(load_variability**2)))
    z = rng_noise.standard_normal(n)

    steps_per_h = 60 // grid.step_minutes
    n_hours = -(-grid.n_steps // steps_per_h)
    chunk_h = max(1, _CHUNK_ELEMENTS // (4 * n))
    load = np.empty((grid.n_steps, n))
    pv = np.empty((grid.n_steps, n))
    for h0 in range(0, n_hours, chunk_h):  # loop over time chunks only, to bound the temporaries
        h1 = min(h0 + chunk_h, n_hours)
        g0, g1 = h0 * steps_per_h, min(h1 * steps_per_h, grid.n_steps)
        f = slice(g0 * ratio, g1 * ratio)
        ac = _pv_per_kwp(zen[f], sun_az[f], ghi[f], dni[f], dhi[f], t_air[f], tilt, azimuth)
        pv[g0:g1] = resample_mean_kw(ac, _FINE_MIN, grid.step_minutes) * peak
        del ac

        noise = rng_noise.standard_normal((h1 - h0, n))
        z = _ar1_inplace(noise, _LOAD_PHI, z)
        noise *= log_std
        noise -= 0.5 * log_std**2
        np.exp(noise, out=noise)  # mean-one log-normal factor per hour and agent
        edges_h = t0_h + np.arange(g0, g1 + 1) * grid.dt_hours
        energy = np.diff(_cumulative_kwh(cum_kwh, base_kw, edges_h[:, None] - shift_h[None, :]), axis=0)
        load[g0:g1] = np.repeat(noise, steps_per_h, axis=0)[: g1 - g0] * energy
    load *= annual / (_REF_ANNUAL_KWH * grid.dt_hours)
    return Profiles(load_kw=load, pv_kw=pv, agent_ids=ids)


#: An AR(1) state: one value, or one per series.
_State = TypeVar("_State", np.ndarray, float)


def _ar1_inplace(eps: np.ndarray, phi: float, state: _State) -> _State:
    """Turn standard-normal innovations ``eps`` (time on axis 0) into a unit-variance AR(1) path, in place,
    continuing from ``state``; return the last value (the state for the next chunk)."""
    scale = np.sqrt(1.0 - phi**2)
    for k in range(eps.shape[0]):
        state = phi * state + scale * eps[k]
        eps[k] = state
    return state


def _check_parameters(cloudiness: float, load_variability: float) -> None:
    """Raise DataError unless cloudiness is in [0, 1] and load_variability is finite and >= 0."""
    if not 0.0 <= cloudiness <= 1.0:
        raise DataError(f"cloudiness must be in [0, 1], got {cloudiness}")
    if not (np.isfinite(load_variability) and load_variability >= 0.0):
        raise DataError(f"load_variability must be finite and >= 0, got {load_variability}")


def _validate(
    grid: TimeGrid,
    location: Location,
    ids: tuple[str, ...],
    pv_peak_kw: np.ndarray,
    annual_load_kwh: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Check every argument; return ``(pv_peak_kw, annual_load_kwh)`` as float arrays of shape (n_agents,)."""
    n = len(ids)
    if n == 0 or len(set(ids)) != n:
        raise DataError(f"agent_ids must be non-empty and unique, got {n} ids ({len(set(ids))} distinct)")
    if not (-90.0 <= location.latitude <= 90.0 and -180.0 <= location.longitude <= 180.0):
        raise DataError(f"location ({location.latitude}, {location.longitude}) is outside lat/lon bounds")
    if not np.isfinite(location.altitude_m):
        raise DataError(f"location.altitude_m must be finite, got {location.altitude_m}")
    if location.utc_offset_hours != grid.utc_offset_hours:
        raise DataError(
            f"location.utc_offset_hours={location.utc_offset_hours} differs from "
            f"grid.utc_offset_hours={grid.utc_offset_hours}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    arrays = []
    checks = (("pv_peak_kw", pv_peak_kw, False), ("annual_load_kwh", annual_load_kwh, True))
    for name, values, positive in checks:
        arr = np.asarray(values, dtype=float)
        if arr.shape != (n,):
            raise DataError(f"{name} must have shape ({n},), got {arr.shape}")
        bad = ~np.isfinite(arr) | ((arr <= 0.0) if positive else (arr < 0.0))
        if bad.any():
            i = int(np.argmax(bad))
            rule = "finite and > 0" if positive else "finite and >= 0"
            raise DataError(f"{name} must be {rule}, got {arr[i]} for agent {ids[i]!r}")
        arrays.append(arr)
    return arrays[0], arrays[1]


def _weather(
    times: pd.DatetimeIndex,
    location: Location,
    cloudiness: float,
    rng_days: np.random.Generator,
    rng_cloud: np.random.Generator,
) -> tuple[np.ndarray, ...]:
    """Apparent zenith, azimuth (deg), cloudy GHI, DNI, DHI (W/m²) and air temperature (degC) at ``times``."""
    aware = times.tz_localize(timezone(timedelta(hours=location.utc_offset_hours)))
    site = pvlib.location.Location(location.latitude, location.longitude, altitude=location.altitude_m)
    sun = site.get_solarposition(aware)
    clear = site.get_clearsky(aware, model="ineichen", solar_position=sun)

    day = ((times.normalize() - times[0].normalize()) // pd.Timedelta(days=1)).to_numpy()
    n_days = int(day[-1]) + 1
    c = cloudiness
    cdf = np.cumsum([(1.0 - c) ** 2, 2.0 * c * (1.0 - c), c**2])
    draws = rng_days.random((n_days, 2))  # (persist?, new state) per day
    new_state = np.minimum(np.searchsorted(cdf, draws[:, 1], side="right"), 2)
    redraw = draws[:, 0] >= _DAY_PERSISTENCE
    redraw[0] = True
    state = new_state[np.maximum.accumulate(np.where(redraw, np.arange(n_days), 0))][day]

    x = rng_cloud.standard_normal(len(times) + 1)
    _ar1_inplace(x[1:], _CLOUD_PHI, x[0])
    x = x[1:]
    sigma = _STATE_LOG_STD[state]
    kc = np.clip(_STATE_KC[state] * np.exp(sigma * x - 0.5 * sigma**2), 0.0, _KC_MAX)
    kb = np.clip((kc - _BEAM_THRESHOLD) / (1.0 - _BEAM_THRESHOLD), 0.0, 1.0)
    ghi = kc * clear["ghi"].to_numpy()
    dni = kb * clear["dni"].to_numpy()
    cos_zen = np.maximum(np.cos(np.radians(sun["apparent_zenith"].to_numpy())), 0.0)
    dhi = np.maximum(ghi - dni * cos_zen, 0.0)

    doy = (times.dayofyear - 1 + (times.hour + times.minute / 60.0) / 24.0).to_numpy()
    hour = (times.hour + times.minute / 60.0).to_numpy()
    abs_lat = abs(location.latitude)
    warmest_doy = 200.0 if location.latitude >= 0 else 17.0
    t_air = (
        28.0
        - 0.35 * abs_lat
        - 0.0065 * location.altitude_m
        + 0.18 * abs_lat * np.cos(2.0 * np.pi * (doy - warmest_doy) / 365.25)
        + 4.0 * np.cos(2.0 * np.pi * (hour - 15.0) / 24.0)
    )
    return sun["apparent_zenith"].to_numpy(), sun["azimuth"].to_numpy(), ghi, dni, dhi, t_air


def _pv_per_kwp(
    zenith: np.ndarray,
    azimuth_sun: np.ndarray,
    ghi: np.ndarray,
    dni: np.ndarray,
    dhi: np.ndarray,
    t_air: np.ndarray,
    tilt: np.ndarray,
    azimuth: np.ndarray,
) -> np.ndarray:
    """AC power per kWp (kW/kWp, <= 1), shape (n_times, n_agents), from 1-D weather (deg, W/m², degC) and 1-D
    per-agent orientations (deg). Night rows (GHI = 0) are exactly zero and skipped."""
    out = np.zeros((len(ghi), len(tilt)))
    day = ghi > 0.0
    poa = pvlib.irradiance.get_total_irradiance(
        tilt[None, :],
        azimuth[None, :],
        zenith[day, None],
        azimuth_sun[day, None],
        dni[day, None],
        ghi[day, None],
        dhi[day, None],
        albedo=_ALBEDO,
        model="isotropic",
    )["poa_global"]
    t_cell = pvlib.temperature.faiman(poa, t_air[day, None], wind_speed=_WIND_MS)
    dc = pvlib.pvsystem.pvwatts_dc(poa, t_cell, pdc0=1.0, gamma_pdc=_GAMMA_PDC)
    out[day] = np.minimum(_SYSTEM_EFFICIENCY * np.maximum(dc, 0.0), 1.0)
    return out


@cache  # = functools.lru_cache(maxsize=None)
def _h25_year_kw(year: int) -> np.ndarray:
    """BDEW H25 household profile for one calendar year: 15-min mean kW for 1,000 kWh/year (read-only)."""
    start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year + 1, 1, 1)
    index = pd.date_range(start, end, freq="15min", inclusive="left")
    values = bdew.H25(index).to_numpy(dtype=float)  # kW for ~1 GWh/year (demandlib scales energy x 4)
    if values.shape != (len(index),) or not np.all(np.isfinite(values)):
        raise DataError(f"demandlib H25 profile for {year} is incomplete")
    values = values * (_REF_ANNUAL_KWH / (values.sum() * _FINE_MIN / 60.0))
    values.flags.writeable = False
    return values


def _base_load_kw(grid: TimeGrid) -> tuple[np.ndarray, pd.Timestamp]:
    """15-min H25 profile (kW at 1,000 kWh/year) for all years the shifted grid touches + origin."""
    margin = pd.Timedelta(hours=_MAX_SHIFT_H + 1.0)
    years = range((grid.start - margin).year, (grid.end + margin).year + 1)
    return np.concatenate([_h25_year_kw(y) for y in years]), pd.Timestamp(years[0], 1, 1)


def _cumulative_kwh(cum_kwh: np.ndarray, base_kw: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """Cumulative energy (kWh) of the piecewise-constant 15-min profile at ``hours`` after its origin."""
    x = hours * (60.0 / _FINE_MIN)
    k = np.clip(np.floor(x).astype(np.int64), 0, len(base_kw) - 1)
    return cum_kwh[k] + (x - k) * base_kw[k] * (_FINE_MIN / 60.0)
