"""Grid settlement within feeder limits: cuts in the documented order, balances closed."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.market import grid_bill, settle_with_grid

INF = np.inf


def balance(s, load, bought, sold):
    return s.pv + s.discharge + bought + s.imported + s.unserved - (load + s.charge + sold + s.exported)


def test_unlimited_grid_takes_every_residual():
    load, pv = np.array([2.0, 1.0]), np.array([0.5, 3.0])
    z = np.zeros(2)
    s = settle_with_grid(load, pv, z, z, z, z, INF, INF)
    np.testing.assert_allclose(s.imported, [1.5, 0.0])
    np.testing.assert_allclose(s.exported, [0.0, 2.0])
    assert s.unserved.sum() == 0
    assert s.curtailed.sum() == 0


def test_import_limit_cuts_grid_charging_before_load():
    load = np.array([2.0, 2.0, 0.0])
    charge = np.array([0.0, 1.0, 3.0])
    z = np.zeros(3)
    # Net import 8 kWh against a 5 kWh limit: 3 kWh less charging (pro rata 1:3), no unserved load.
    s = settle_with_grid(load, z, charge, z, z, z, 5.0, INF)
    np.testing.assert_allclose(s.charge, [0.0, 0.25, 0.75])
    assert s.unserved.sum() == 0
    assert s.imported.sum() == pytest.approx(5.0)
    # A 1 kWh limit: all charging cut, then 3 kWh of load unserved, pro rata to imports (2:2).
    s = settle_with_grid(load, z, charge, z, z, z, 1.0, INF)
    np.testing.assert_allclose(s.charge, 0.0)
    np.testing.assert_allclose(s.unserved, [1.5, 1.5, 0.0])
    np.testing.assert_allclose(balance(s, load, z, z), 0.0, atol=1e-12)


def test_limits_apply_to_the_net_exchange():
    load, pv = np.array([4.0, 0.0]), np.array([0.0, 4.0])
    z = np.zeros(2)
    s = settle_with_grid(load, pv, z, z, z, z, 1.0, 1.0)  # import 4 and export 4 cancel at the feeder
    assert s.unserved.sum() == 0
    assert s.curtailed.sum() == 0


def test_export_limit_curtails_pv_then_reduces_discharge():
    load = np.zeros(2)
    pv = np.array([2.0, 0.0])
    discharge = np.array([0.0, 3.0])
    z = np.zeros(2)
    s = settle_with_grid(load, pv, z, discharge, z, z, INF, 2.0)
    np.testing.assert_allclose(s.curtailed, [2.0, 0.0])
    np.testing.assert_allclose(s.discharge, [0.0, 2.0])
    assert s.exported.sum() == pytest.approx(2.0)
    np.testing.assert_allclose(balance(s, load, z, z), 0.0, atol=1e-12)


def test_grid_bill_prices_imports_at_retail_exports_at_feed_in_and_the_imbalance_at_its_price():
    net = np.array([2.0, -3.0, 1.0])
    no_imbalance_price = grid_bill(net, np.zeros(3), 0.30, 0.05, None)
    np.testing.assert_allclose(no_imbalance_price, [0.60, -0.15, 0.30])
    # position = net − imbalance: agent 0 bought 1 kWh on the spot (imbalance +1), agent 2 had 1 kWh extra (−1)
    imbalance = np.array([1.0, 0.0, -1.0])
    priced = grid_bill(net, imbalance, 0.30, 0.05, 0.50)
    np.testing.assert_allclose(priced, [1.0 * 0.30 + 0.50, -0.15, 2.0 * 0.30 - 0.50])
