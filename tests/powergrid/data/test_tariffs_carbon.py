"""Time-of-use tariffs and carbon intensity profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from powergrid.data.carbon import build_carbon
from powergrid.data.profiles import TimeGrid
from powergrid.data.tariffs import build_tariff
from powergrid.scenarios.model import CarbonConfig, TariffConfig

# Friday 2024-03-01 and Saturday 2024-03-02, 30-minute steps.
GRID = TimeGrid(pd.Timestamp("2024-03-01"), 30, 96)


def test_peak_windows_weekdays_and_wrapping():
    config = TariffConfig.model_validate(
        {
            "retail": 0.2,
            "feed_in": 0.05,
            "peak_windows": [
                {"start": "17:00", "end": "20:00", "retail": 0.4, "weekdays_only": True},
                {"start": "23:00", "end": "01:00", "retail": 0.1, "feed_in": 0.02},
            ],
        }
    )
    tariff = build_tariff(config, GRID)
    hours = GRID.index.hour + GRID.index.minute / 60
    friday = GRID.index.dayofweek == 4
    peak = friday & (hours >= 17) & (hours < 20)
    night = (hours >= 23) | (hours < 1)
    np.testing.assert_allclose(tariff.retail[peak], 0.4)
    np.testing.assert_allclose(tariff.retail[night], 0.1)
    np.testing.assert_allclose(tariff.feed_in[night], 0.02)
    np.testing.assert_allclose(tariff.retail[~peak & ~night], 0.2)  # incl. Saturday evening
    assert (tariff.feed_in <= tariff.retail).all()


def test_tariff_validation():
    window = {"start": "01:00", "end": "02:00", "retail": 0.2, "feed_in": 0.3}
    with pytest.raises(ValueError, match=r"feed-in 0\.3 exceeds retail 0\.2"):
        TariffConfig.model_validate({"retail": 0.25, "feed_in": 0.1, "peak_windows": [window]})
    with pytest.raises(ValueError, match="must not exceed retail"):
        TariffConfig.model_validate({"retail": 0.1, "feed_in": 0.2})


def test_carbon_profiles():
    flat = build_carbon(CarbonConfig(kind="constant", mean_kg_per_kwh=0.5), GRID)
    np.testing.assert_allclose(flat, 0.5)
    diurnal = build_carbon(CarbonConfig(mean_kg_per_kwh=0.4), GRID)
    assert diurnal[:48].mean() == pytest.approx(0.4, rel=2e-3)
    hours = GRID.index.hour
    assert diurnal[hours == 13].mean() < 0.4 < diurnal[hours == 19].mean()
    assert (diurnal > 0).all()
