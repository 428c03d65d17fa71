"""Time-of-use tariffs and carbon intensity profiles."""

from __future__ import annotations

from datetime import time

import numpy as np
import pandas as pd
import pytest

from powergrid.data.carbon import CarbonShape, build_carbon
from powergrid.data.profiles import TimeGrid
from powergrid.data.tariffs import PeakRates, TariffRates, build_tariff
from powergrid.errors import ScenarioError

# Friday 2024-03-01 and Saturday 2024-03-02, 30-minute steps.
GRID = TimeGrid(pd.Timestamp("2024-03-01"), 30, 96)


def test_peak_windows_weekdays_and_wrapping():
    config = TariffRates(
        retail=0.2,
        feed_in=0.05,
        peak_windows=(
            PeakRates(time(17), time(20), retail=0.4, weekdays_only=True),
            PeakRates(time(23), time(1), retail=0.1, feed_in=0.02),
        ),
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


def test_data_retail_series_and_its_errors():
    data = np.full(GRID.n_steps, 0.3)
    tariff = build_tariff(TariffRates(retail="data", feed_in=0.05), GRID, data)
    np.testing.assert_allclose(tariff.retail, 0.3)
    np.testing.assert_allclose(tariff.feed_in, 0.05)
    with pytest.raises(ScenarioError, match="needs a data source"):
        build_tariff(TariffRates(retail="data"), GRID)
    data[7] = 0.01
    with pytest.raises(ScenarioError, match="at step 7"):
        build_tariff(TariffRates(retail="data", feed_in=0.05), GRID, data)


def test_carbon_profiles():
    flat = build_carbon(CarbonShape(kind="constant", mean_kg_per_kwh=0.5), GRID)
    np.testing.assert_allclose(flat, 0.5)
    diurnal = build_carbon(CarbonShape(mean_kg_per_kwh=0.4), GRID)
    assert diurnal[:48].mean() == pytest.approx(0.4, rel=2e-3)
    hours = GRID.index.hour
    assert diurnal[hours == 13].mean() < 0.4 < diurnal[hours == 19].mean()
    assert (diurnal > 0).all()
    with pytest.raises(ValueError, match="read from the data source"):
        build_carbon(CarbonShape(kind="data"), GRID)
