"""Reference forecasters, the shared conventions (h = 0, past the end, prices) and the registry."""

from __future__ import annotations

import numpy as np
import pytest
from forecast_helpers import indexed, seasonal_row, small_community, with_data

from powergrid.data.tariffs import Tariff
from powergrid.errors import HeronGridError
from powergrid.forecasting import (
    Forecast,
    Forecaster,
    ForecastError,
    forecast_errors,
    forecaster_names,
    make_forecaster,
)
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from powergrid.scenarios.split import day_split, day_steps

NAMES = ("perfect", "persistence", "seasonal-naive", "noisy", "learned")


@pytest.fixture(scope="module")
def small():
    return small_community()


@pytest.fixture(scope="module")
def prosumer20():
    return build_community(load_scenario("prosumer-20"))


def fitted(name, community, **options):
    f = make_forecaster(name, **options)
    f.fit(community, day_steps(community, day_split(community)[0]))
    return f


def test_registry_lists_every_forecaster():
    assert forecaster_names() == NAMES
    for name in NAMES:
        f = make_forecaster(name)
        assert f.name == name
        assert isinstance(f, Forecaster)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(HeronGridError, match=r"unknown forecaster 'oracle'.*perfect.*seasonal-naive.*learned"):
        make_forecaster("oracle")


@pytest.mark.parametrize(
    ("name", "options", "match"),
    [
        ("perfect", {"price_forecaster": "ARIMA"}, "price_forecaster"),
        ("noisy", {"sigma": -0.1}, "sigma"),
        ("noisy", {"seed": -1}, "seed"),
        ("learned", {"alpha": float("nan")}, "alpha"),
        ("learned", {"max_horizon": 0}, "max_horizon"),
    ],
)
def test_bad_options_are_rejected(name, options, match):
    with pytest.raises(ForecastError, match=match):
        make_forecaster(name, **options)


def test_misuse_raises(small):
    f = make_forecaster("persistence")
    with pytest.raises(ForecastError, match="before forecast"):
        f.forecast(0, 3)
    with pytest.raises(ForecastError, match="train_steps"):
        f.fit(small, np.array([0, small.n_steps]))
    with pytest.raises(ForecastError, match="train_steps"):
        f.fit(small, np.array([], dtype=int))
    f.fit(small, np.arange(48))
    for t, horizon in [(-1, 3), (small.n_steps, 3), (0, 0), (1.0, 3)]:
        with pytest.raises(ForecastError):
            f.forecast(t, horizon)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_h0_truth_and_non_negative(small, name):
    f = fitted(name, small)
    for t in (0, 30, 77, small.n_steps - 1):
        fc = f.forecast(t, 30)
        assert isinstance(fc, Forecast)
        assert fc.load_kw.shape == fc.pv_kw.shape == (30, small.n_agents)
        assert fc.retail.shape == fc.feed_in.shape == (30,)
        np.testing.assert_array_equal(fc.load_kw[0], small.profiles.load_kw[t])
        np.testing.assert_array_equal(fc.pv_kw[0], small.profiles.pv_kw[t])
        assert (fc.load_kw >= 0).all()
        assert (fc.pv_kw >= 0).all()
        assert np.isfinite(fc.load_kw).all()
        assert np.isfinite(fc.pv_kw).all()


@pytest.mark.parametrize("name", NAMES)
def test_past_the_end_repeats_the_last_row(small, name):
    f = fitted(name, small)
    fc = f.forecast(small.n_steps - 3, 7)
    for arr in (fc.load_kw, fc.pv_kw, fc.retail, fc.feed_in):
        np.testing.assert_array_equal(arr[2:], np.broadcast_to(arr[2], arr[2:].shape))


def test_perfect_is_the_truth_and_has_zero_error(prosumer20):
    f = fitted("perfect", prosumer20)
    fc = f.forecast(100, 24)
    np.testing.assert_array_equal(fc.load_kw, prosumer20.profiles.load_kw[100:124])
    np.testing.assert_array_equal(fc.pv_kw, prosumer20.profiles.pv_kw[100:124])
    errors = forecast_errors(f, prosumer20, day_steps(prosumer20, day_split(prosumer20)[1]), 24)
    for quantity in ("load_kw", "pv_kw"):
        for metric in ("mae", "rmse"):
            np.testing.assert_array_equal(errors[quantity][metric], np.zeros(24))


def test_persistence_repeats_the_current_step(small):
    c = indexed(small)
    fc = fitted("persistence", c).forecast(5, 4)
    np.testing.assert_array_equal(fc.load_kw, np.tile(1050.0 + np.arange(8), (4, 1)))
    np.testing.assert_array_equal(fc.pv_kw, np.tile(50.0 + np.arange(8), (4, 1)))


def test_seasonal_naive_hand_values(small):
    c = indexed(small)  # 5 days of 24 steps; value = 10 * step + agent
    f = fitted("seasonal-naive", c)
    fc = f.forecast(30, 50)
    # h = 1: step 31 -> 7; h = 18: step 48 -> 24; h = 24: step 54 -> 30 (= t); h = 25: step 55 -> 7 (two days back)
    for h, src in [(0, 30), (1, 7), (17, 23), (18, 24), (24, 30), (25, 7), (48, 30), (49, 7)]:
        np.testing.assert_array_equal(fc.pv_kw[h], 10.0 * src + np.arange(8), err_msg=f"h={h}")
    # on the first day no earlier day exists: the current value
    np.testing.assert_array_equal(f.forecast(3, 5).pv_kw, np.tile(30.0 + np.arange(8), (5, 1)))


@pytest.mark.parametrize("t", [0, 3, 23, 24, 30, 47, 60, 100, 119])
def test_seasonal_naive_equals_a_brute_force_walk(small, t):
    c = indexed(small)
    fc = fitted("seasonal-naive", c).forecast(t, 60)
    for h in range(1, 60):
        target = min(t + h, c.n_steps - 1)  # past the end: the row of the last step (h = 0 when t is last)
        src = t if target == t else seasonal_row(t, target, 24)
        np.testing.assert_array_equal(fc.load_kw[h], c.profiles.load_kw[src], err_msg=f"t={t} h={h}")


def test_prices_perfect_and_seasonal(small):
    rng = np.random.default_rng(5)
    tariff = Tariff(retail=rng.uniform(0.2, 0.5, small.n_steps), feed_in=rng.uniform(0.0, 0.1, small.n_steps))
    c = with_data(small, small.profiles.load_kw, small.profiles.pv_kw, tariff)
    t, horizon = 40, 30
    for name in NAMES:
        fc = fitted(name, c).forecast(t, horizon)
        np.testing.assert_array_equal(fc.retail, tariff.retail[t : t + horizon])
        np.testing.assert_array_equal(fc.feed_in, tariff.feed_in[t : t + horizon])
        fc = fitted(name, c, price_forecaster="seasonal").forecast(t, horizon)
        rows = [t] + [seasonal_row(t, t + h, 24) for h in range(1, horizon)]
        np.testing.assert_array_equal(fc.retail, tariff.retail[rows])
        np.testing.assert_array_equal(fc.feed_in, tariff.feed_in[rows])


def test_noisy_is_reproducible_and_seeded(small):
    a = fitted("noisy", small, sigma=0.2, seed=7).forecast(50, 12)
    b = fitted("noisy", small, sigma=0.2, seed=7).forecast(50, 12)
    c = fitted("noisy", small, sigma=0.2, seed=8).forecast(50, 12)
    np.testing.assert_array_equal(a.load_kw, b.load_kw)
    np.testing.assert_array_equal(a.pv_kw, b.pv_kw)
    assert not np.allclose(a.load_kw[1:], c.load_kw[1:])
    # the first rows do not depend on the horizon asked for, and repeated calls agree
    f = fitted("noisy", small, sigma=0.2, seed=7)
    np.testing.assert_array_equal(f.forecast(50, 5).load_kw, a.load_kw[:5])
    np.testing.assert_array_equal(f.forecast(50, 12).pv_kw, a.pv_kw)
    # sigma = 0 is the truth
    np.testing.assert_array_equal(
        fitted("noisy", small, sigma=0.0).forecast(50, 12).load_kw, small.profiles.load_kw[50:62]
    )


def test_noisy_error_grows_like_sqrt_h_and_pv_stays_zero_at_night(prosumer20):
    sigma = 0.1
    f = fitted("noisy", prosumer20, sigma=sigma, seed=3)
    steps = np.arange(0, prosumer20.n_steps - 17)
    errors = forecast_errors(f, prosumer20, steps, 17)["load_kw"]["mae"]
    assert (np.diff(errors[[0, 1, 4, 9, 16]]) > 0).all()
    truth = prosumer20.profiles.load_kw
    rel = np.stack([f.forecast(int(t), 17).load_kw / truth[t : t + 17] - 1.0 for t in steps])
    expected = sigma * np.sqrt(np.arange(17)) * np.sqrt(2 / np.pi)  # E|N(0, s²)| = s sqrt(2/pi)
    np.testing.assert_allclose(np.abs(rel).mean(axis=(0, 2))[1:], expected[1:], rtol=0.05)
    pv = prosumer20.profiles.pv_kw
    for t in range(0, prosumer20.n_steps - 24, 5):
        fc = f.forecast(t, 24).pv_kw
        assert (fc >= 0).all()
        assert (fc[pv[t : t + 24] == 0] == 0).all()
