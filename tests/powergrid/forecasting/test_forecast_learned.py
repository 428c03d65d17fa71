"""The learned forecaster: accuracy against persistence, training-data isolation, determinism, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
from forecast_helpers import with_data

from powergrid.forecasting import LearnedForecaster, forecast_errors, make_forecaster
from powergrid.forecasting.learned import FEATURES
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from powergrid.scenarios.split import day_split, day_steps

HORIZON = 24


@pytest.fixture(scope="module")
def prosumer20():
    return build_community(load_scenario("prosumer-20"))


@pytest.fixture(scope="module")
def train_test(prosumer20):
    train, test = day_split(prosumer20)
    return day_steps(prosumer20, train), day_steps(prosumer20, test)


@pytest.fixture(scope="module")
def learned(prosumer20, train_test):
    f = make_forecaster("learned")
    f.fit(prosumer20, train_test[0])
    return f


def test_fits_fast(prosumer20, train_test, learned):
    start = time.perf_counter()
    make_forecaster("learned").fit(prosumer20, train_test[0])
    assert time.perf_counter() - start < 5.0


def test_beats_persistence_on_test_days_for_load(prosumer20, train_test, learned):
    persistence = make_forecaster("persistence")
    persistence.fit(prosumer20, train_test[0])
    ours = forecast_errors(learned, prosumer20, train_test[1], HORIZON)
    base = forecast_errors(persistence, prosumer20, train_test[1], HORIZON)
    assert (ours["load_kw"]["mae"][2:] < base["load_kw"]["mae"][2:]).all()
    assert (ours["load_kw"]["rmse"][2:] < base["load_kw"]["rmse"][2:]).all()
    assert (ours["pv_kw"]["mae"][1:] < base["pv_kw"]["mae"][1:]).all()


def test_is_deterministic(prosumer20, train_test, learned):
    again = make_forecaster("learned")
    again.fit(prosumer20, train_test[0])
    for t in (train_test[1][0], train_test[1][50]):
        a, b = learned.forecast(int(t), HORIZON), again.forecast(int(t), HORIZON)
        np.testing.assert_array_equal(a.load_kw, b.load_kw)
        np.testing.assert_array_equal(a.pv_kw, b.pv_kw)


def test_pv_is_zero_where_training_never_saw_pv(prosumer20, train_test, learned):
    per_day = 24
    train_pv = prosumer20.profiles.pv_kw[train_test[0]].reshape(-1, per_day, prosumer20.n_agents)
    dark = train_pv.max(axis=0) == 0  # (time of day, agent)
    assert dark.any()
    assert (~dark).any()
    for t in train_test[1][::7]:
        fc = learned.forecast(int(t), HORIZON).pv_kw
        slots = (int(t) + np.arange(HORIZON)) % per_day
        assert (fc[1:][dark[slots][1:]] == 0).all()


def perturbed_outside(community, train_steps, seed):
    """The community with every value outside train_steps multiplied by a random factor in [0.2, 3]."""
    rng = np.random.default_rng(seed)
    outside = np.ones(community.n_steps, dtype=bool)
    outside[train_steps] = False
    load, pv = community.profiles.load_kw.copy(), community.profiles.pv_kw.copy()
    load[outside] *= rng.uniform(0.2, 3.0, (outside.sum(), community.n_agents))
    pv[outside] *= rng.uniform(0.2, 3.0, (outside.sum(), community.n_agents))
    return with_data(community, load, pv)


def test_uses_only_training_data(prosumer20):
    # training days with gaps, so that lags and targets of candidate rows cross into held-out days
    days = np.setdiff1d(np.arange(28), [3, 9, 10, 17, 25, 26, 27])
    train = day_steps(prosumer20, days)
    features = np.random.default_rng(0).uniform(0.0, 1.5, (HORIZON, prosumer20.n_agents, len(FEATURES)))
    leads = np.arange(1, HORIZON + 1)
    t = int(day_steps(prosumer20, np.array([6]))[12])  # noon of day 6: every input of a forecast is a train step

    def fit(community):
        f = LearnedForecaster()
        f.fit(community, train)
        return f

    base = fit(prosumer20)
    other = fit(perturbed_outside(prosumer20, train, seed=1))
    for quantity in ("load_kw", "pv_kw"):
        np.testing.assert_array_equal(
            base.predict_scaled(quantity, features, leads), other.predict_scaled(quantity, features, leads)
        )
    np.testing.assert_array_equal(base.forecast(t, HORIZON).load_kw, other.forecast(t, HORIZON).load_kw)
    np.testing.assert_array_equal(base.forecast(t, HORIZON).pv_kw, other.forecast(t, HORIZON).pv_kw)

    # the check can fail: perturbing the training steps does change the model
    everything = fit(perturbed_outside(prosumer20, np.array([0]), seed=1))
    assert not np.allclose(
        base.predict_scaled("load_kw", features, leads), everything.predict_scaled("load_kw", features, leads)
    )


def test_leads_beyond_max_horizon_use_the_last_model(prosumer20, train_test):
    f = LearnedForecaster(max_horizon=6)
    f.fit(prosumer20, train_test[0])
    features = np.random.default_rng(1).uniform(0.0, 1.0, (3, prosumer20.n_agents, len(FEATURES)))
    np.testing.assert_array_equal(
        f.predict_scaled("load_kw", features, np.array([6, 6, 6])),
        f.predict_scaled("load_kw", features, np.array([6, 9, 30])),
    )
    assert f.forecast(int(train_test[1][0]), 30).load_kw.shape == (30, prosumer20.n_agents)
