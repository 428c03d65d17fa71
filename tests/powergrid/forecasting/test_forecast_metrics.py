"""forecast_errors against a brute-force loop over origins, leads and agents."""

from __future__ import annotations

import math

import numpy as np
import pytest
from forecast_helpers import small_community

from powergrid.forecasting import ForecastError, forecast_errors, make_forecaster


@pytest.fixture(scope="module")
def small():
    return small_community()


def brute_force(forecaster, community, steps, horizon):
    out = {}
    for quantity in ("load_kw", "pv_kw"):
        truth = getattr(community.profiles, quantity)
        mae, rmse = [], []
        for h in range(horizon):
            abs_sum, sq_sum, count = 0.0, 0.0, 0
            for t in steps:
                if t + h >= community.n_steps:
                    continue
                pred = getattr(forecaster.forecast(int(t), horizon), quantity)
                for i in range(community.n_agents):
                    e = pred[h, i] - truth[t + h, i]
                    abs_sum, sq_sum, count = abs_sum + abs(e), sq_sum + e * e, count + 1
            mae.append(abs_sum / count if count else math.nan)
            rmse.append(math.sqrt(sq_sum / count) if count else math.nan)
        out[quantity] = {"mae": np.array(mae), "rmse": np.array(rmse)}
    return out


@pytest.mark.parametrize(("name", "options"), [("persistence", {}), ("noisy", {"sigma": 0.3, "seed": 2})])
@pytest.mark.parametrize("steps", [np.arange(24, 72), np.array([5, 60, 110, 117, 119])])
def test_metrics_equal_a_brute_force_loop(small, name, options, steps):
    f = make_forecaster(name, **options)
    f.fit(small, np.arange(72))
    got = forecast_errors(f, small, steps, 6)
    want = brute_force(f, small, steps, 6)
    assert set(got) == {"load_kw", "pv_kw"}
    for quantity in want:
        assert set(got[quantity]) == {"mae", "rmse"}
        for metric in ("mae", "rmse"):
            assert got[quantity][metric].shape == (6,)
            np.testing.assert_allclose(got[quantity][metric], want[quantity][metric], rtol=1e-12, atol=1e-12)
    assert got["load_kw"]["mae"][1] > 0


def test_leads_without_a_target_are_nan(small):
    f = make_forecaster("persistence")
    f.fit(small, np.arange(72))
    got = forecast_errors(f, small, np.array([small.n_steps - 1]), 3)
    assert got["load_kw"]["mae"][0] == 0.0
    assert np.isnan(got["load_kw"]["mae"][1:]).all()
    assert np.isnan(got["pv_kw"]["rmse"][1:]).all()


def test_bad_arguments(small):
    f = make_forecaster("perfect")
    f.fit(small, np.arange(72))
    with pytest.raises(ForecastError, match="horizon"):
        forecast_errors(f, small, np.arange(3), 0)
    with pytest.raises(ForecastError, match="steps"):
        forecast_errors(f, small, np.array([]), 3)
