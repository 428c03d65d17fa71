"""Tests for the seeded offline synthetic data source (pvlib PV + demandlib BDEW H25 load)."""

from __future__ import annotations

import warnings
from datetime import timedelta, timezone

import numpy as np
import pandas as pd
import pvlib
import pytest

from powergrid.data.profiles import TimeGrid
from powergrid.data.synthetic import Location, synthetic_profiles
from powergrid.errors import DataError

BERLIN = Location(latitude=52.5, longitude=13.4, altitude_m=35.0, utc_offset_hours=1.0)
SYDNEY = Location(latitude=-33.9, longitude=151.2, altitude_m=20.0, utc_offset_hours=10.0)


def _grid(start: str, step: int, hours: float, location: Location = BERLIN) -> TimeGrid:
    return TimeGrid(pd.Timestamp(start), step, int(hours * 60 / step), location.utc_offset_hours)


def _make(grid: TimeGrid, n: int = 4, location: Location = BERLIN, **kwargs):
    params = {
        "agent_ids": [f"h{i}" for i in range(n)],
        "pv_peak_kw": np.linspace(3.0, 8.0, n),
        "annual_load_kwh": np.linspace(2500.0, 5000.0, n),
        "seed": 7,
    }
    params.update(kwargs)
    return synthetic_profiles(grid, location, **params)


def _daily_kwh(values_kw: np.ndarray, grid: TimeGrid) -> np.ndarray:
    """Energy per day (kWh), shape (n_days, n_agents)."""
    steps_per_day = 24 * 60 // grid.step_minutes
    return values_kw.reshape(-1, steps_per_day, values_kw.shape[1]).sum(axis=1) * grid.dt_hours


def test_shapes_ids_and_signs() -> None:
    grid = _grid("2023-05-01", 30, 48)
    prof = _make(grid, n=3)
    assert prof.agent_ids == ("h0", "h1", "h2")
    assert prof.load_kw.shape == prof.pv_kw.shape == (96, 3)
    assert prof.load_kw.dtype == prof.pv_kw.dtype == np.float64
    assert (prof.load_kw > 0).all()
    assert prof.pv_kw.max() > 0


def test_deterministic_for_seed_and_seed_matters() -> None:
    grid = _grid("2023-07-01", 15, 24)
    a, b = _make(grid, seed=3), _make(grid, seed=3)
    assert np.array_equal(a.load_kw, b.load_kw)
    assert np.array_equal(a.pv_kw, b.pv_kw)
    c = _make(grid, seed=4)
    assert not np.array_equal(a.load_kw, c.load_kw)
    assert not np.array_equal(a.pv_kw, c.pv_kw)


def test_process_warning_filters_untouched() -> None:
    before = list(warnings.filters)
    _make(_grid("2021-03-01", 60, 24))
    assert list(warnings.filters) == before


@pytest.mark.parametrize("cloudiness", [0.0, 0.6])
def test_pv_zero_at_night_and_bounded_by_peak(cloudiness: float) -> None:
    grid = _grid("2023-06-18", 15, 72)
    prof = _make(grid, cloudiness=cloudiness)
    assert (prof.pv_kw <= np.linspace(3.0, 8.0, 4)[None, :]).all()
    tz = timezone(timedelta(hours=BERLIN.utc_offset_hours))
    edges = pd.date_range(grid.start, grid.end, freq="15min").tz_localize(tz)
    elevation = pvlib.solarposition.get_solarposition(edges, BERLIN.latitude, BERLIN.longitude)[
        "apparent_elevation"
    ].to_numpy()
    night = (elevation[:-1] < -0.5) & (elevation[1:] < -0.5)
    assert night.sum() > 50
    assert (~night).sum() > 150
    assert (prof.pv_kw[night] == 0.0).all()
    assert (prof.pv_kw[~night].sum(axis=0) > 0).all()


def test_agent_without_pv_has_zero_pv() -> None:
    prof = _make(_grid("2023-06-01", 60, 48), pv_peak_kw=np.array([0.0, 4.0, 0.0, 6.0]))
    assert (prof.pv_kw[:, [0, 2]] == 0.0).all()
    assert (prof.pv_kw[:, [1, 3]].sum(axis=0) > 0).all()
    assert (prof.load_kw[:, [0, 2]] > 0).all()


@pytest.mark.parametrize(("location", "summer_over_winter"), [(BERLIN, True), (SYDNEY, False)])
def test_pv_seasonality_by_hemisphere(location: Location, summer_over_winter: bool) -> None:
    june = _make(_grid("2023-06-15", 60, 24 * 7, location), location=location, cloudiness=0.0)
    december = _make(_grid("2023-12-15", 60, 24 * 7, location), location=location, cloudiness=0.0)
    ratio = june.pv_kw.sum(axis=0) / december.pv_kw.sum(axis=0)
    if summer_over_winter:
        assert (ratio > 2.0).all()
    else:
        assert (ratio < 1.0).all()


def test_full_year_energy_and_yield() -> None:
    """One calendar year at 1 h: annual load per agent within 10 %, plausible specific PV yields (kWh/kWp)."""
    peak = np.array([1.0, 5.0, 10.0])
    annual = np.array([1500.0, 3500.0, 6000.0])
    kwargs = {"agent_ids": ["a", "b", "c"], "pv_peak_kw": peak, "annual_load_kwh": annual, "seed": 11}
    grid = _grid("2023-01-01", 60, 8760)
    clear = synthetic_profiles(grid, BERLIN, cloudiness=0.0, **kwargs)
    cloudy = synthetic_profiles(grid, BERLIN, **kwargs)  # default cloudiness 0.3
    np.testing.assert_allclose(cloudy.load_kw.sum(axis=0), annual, rtol=0.10)
    np.testing.assert_allclose(clear.load_kw, cloudy.load_kw)  # weather does not touch the load
    clear_yield = clear.pv_kw.sum(axis=0) / peak
    cloudy_yield = cloudy.pv_kw.sum(axis=0) / peak
    # Clear sky every day of the year at 52.5 N is an upper bound (real climate: ~900-1,100 kWh/kWp).
    assert ((clear_yield > 1400.0) & (clear_yield < 2100.0)).all()
    assert ((cloudy_yield > 800.0) & (cloudy_yield < 1600.0)).all()
    assert (cloudy_yield < 0.9 * clear_yield).all()
    assert cloudy.pv_kw.max() <= peak.max()


def test_households_differ_but_share_the_evening_peak() -> None:
    grid = _grid("2023-01-09", 60, 24 * 28)
    prof = _make(grid, n=6)
    corr = np.corrcoef(prof.load_kw.T)
    assert corr[~np.eye(6, dtype=bool)].max() < 0.999
    hourly = prof.load_kw.reshape(28, 24, 6).mean(axis=0)  # mean daily shape (kW), (24, n_agents)
    assert ((hourly.argmax(axis=0) >= 16) & (hourly.argmax(axis=0) <= 21)).all()
    community = hourly.mean(axis=1)
    assert 17 <= community.argmax() <= 20
    for i in range(6):
        assert np.corrcoef(hourly[:, i], community)[0, 1] > 0.8
    assert (hourly[3] < 0.7 * hourly[18]).all()  # every household: night trough well below the evening


@pytest.mark.parametrize("start", ["2023-04-20 00:00", "2023-04-20 06:30"])
def test_step_lengths_are_energy_consistent(start: str) -> None:
    results = {}
    for step in (15, 30, 60):
        grid = _grid(start, step, 24)
        prof = _make(grid, cloudiness=0.5, load_variability=0.4)
        results[step] = (prof.load_kw.sum(axis=0) * grid.dt_hours, prof.pv_kw.sum(axis=0) * grid.dt_hours)
    for step in (30, 60):
        for ref, other in zip(results[15], results[step], strict=True):
            np.testing.assert_allclose(other, ref, rtol=1e-9, atol=0)
    assert (results[60][1] > 0).all()


def test_year_boundary_and_leap_year() -> None:
    grid = _grid("2023-12-31 12:00", 15, 24)
    prof = _make(grid)
    assert prof.n_steps == 96
    assert (prof.load_kw > 0).all()
    leap = _make(_grid("2024-02-28", 60, 72))
    assert leap.n_steps == 72
    assert np.isfinite(leap.load_kw).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cloudiness": -0.1}, "cloudiness"),
        ({"cloudiness": 1.5}, "cloudiness"),
        ({"cloudiness": float("nan")}, "cloudiness"),
        ({"load_variability": -0.1}, "load_variability"),
        ({"load_variability": float("inf")}, "load_variability"),
        ({"annual_load_kwh": np.array([3000.0, 0.0, 3000.0, 3000.0])}, "annual_load_kwh"),
        ({"annual_load_kwh": np.array([3000.0, -5.0, 3000.0, 3000.0])}, "annual_load_kwh"),
        ({"annual_load_kwh": np.array([3000.0, np.nan, 3000.0, 3000.0])}, "annual_load_kwh"),
        ({"annual_load_kwh": np.full(3, 3000.0)}, "annual_load_kwh"),
        ({"pv_peak_kw": np.array([1.0, -1.0, 0.0, 2.0])}, "pv_peak_kw"),
        ({"pv_peak_kw": np.ones((4, 1))}, "pv_peak_kw"),
        ({"agent_ids": ["a", "b", "a", "c"]}, "unique"),
        ({"agent_ids": []}, "agent_ids"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_bad_parameters_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        _make(_grid("2023-06-01", 60, 24), **kwargs)


def test_bad_location_raises() -> None:
    grid = _grid("2023-06-01", 60, 24)
    with pytest.raises(DataError, match="utc_offset"):
        _make(grid, location=Location(52.5, 13.4, utc_offset_hours=2.0))
    with pytest.raises(DataError, match="lat/lon"):
        _make(grid, location=Location(95.0, 13.4, utc_offset_hours=1.0))
