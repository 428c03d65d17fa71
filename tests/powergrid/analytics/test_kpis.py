"""The KPI module: hand-computed values, undefined ratios, the Gini formula, totals from files."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from powergrid.analytics import NA, RunTotals, compute_kpis, gini, totals_from_frames
from powergrid.analytics.results import RunWriter
from powergrid.analytics.totals import calendar_codes
from powergrid.ledger.run_directory import TIMESERIES, TRADES
from powergrid.runner.simulate import simulate


def hand_totals(cost: list[float], **sums) -> RunTotals:
    totals = RunTotals(("a", "b"), np.array([10.0, 0.0]), dt_hours=0.5, n_steps=2)
    totals.agent["cash_cost"][:] = cost
    for k, v in sums.items():
        totals.agent[k][:] = v
    return totals


def test_hand_computed_kpis():
    t = hand_totals(
        [4.0, 6.0],
        load=[10, 10],
        pv=[8, 0],
        imported=[4, 6],
        exported=[2, 0],
        discharge=[5, 0],
        bought=[0, 4],
        sold=[0, 0],
        co2_kg=[1.0, 2.0],
    )
    t.step["imported"][:] = [3.0, 7.0]
    t.step["p2p_volume"][:] = [0.0, 4.0]
    t.step["p2p_value"][:] = [0.0, 0.4]
    t.step["n_trading"][:] = [0, 2]
    t.traded_any[:] = [True, True]
    base = hand_totals([8.0, 7.0])
    k = compute_kpis(t, base).community
    assert k["cost"] == 10.0
    assert k["savings"] == 5.0
    assert k["savings_pct"] == pytest.approx(100 * 5 / 15)
    assert k["peak_import_kw"] == 14.0  # 7 kWh in a half-hour step
    assert k["self_consumption_ratio"] == pytest.approx(1 - 2 / 8)
    assert k["self_sufficiency_ratio"] == pytest.approx(1 - 10 / 20)
    assert k["mean_p2p_price"] == pytest.approx(0.1)
    assert k["participation_rate"] == 1.0
    assert k["participation_per_step"] == 0.5
    assert k["battery_cycles"] == 0.5
    assert k["co2_kg"] == 3.0
    assert k["gini_savings"] == pytest.approx(abs(4 - 1) * 2 / (2 * 2 * 5))
    agents = compute_kpis(t, base).agents
    np.testing.assert_allclose(agents["savings"], [4.0, 1.0])
    assert np.isnan(agents["self_consumption_ratio"][1])  # no PV: undefined, not 0
    assert np.isnan(agents["battery_cycles"][1])


def test_undefined_ratios_are_na_with_a_reason():
    t = hand_totals([1.0, 1.0])
    k = compute_kpis(t, hand_totals([-1.0, 0.5])).community
    assert isinstance(k["savings_pct"], NA)
    assert "baseline cost is not positive" in k["savings_pct"].reason
    assert isinstance(k["self_consumption_ratio"], NA)
    assert isinstance(k["self_sufficiency_ratio"], NA)
    assert isinstance(k["mean_p2p_price"], NA)
    assert isinstance(compute_kpis(t).community["savings"], NA)
    json_form = compute_kpis(t).to_json()["community"]
    assert json_form["mean_p2p_price"] == {"n/a": "no P2P trades"}


@given(st.lists(st.floats(min_value=-100, max_value=100, allow_nan=False), min_size=1, max_size=12))
def test_gini_equals_the_pairwise_definition(xs):
    x = np.array(xs)
    scale = np.abs(x).sum()
    g = gini(x)
    if scale <= 1e-12:  # rounding noise in currency counts as "all savings are zero"
        assert g == 0.0
        return
    pairwise = sum(abs(a - b) for a, b in itertools.product(x, x)) / (2 * len(x) * scale)
    assert g == pytest.approx(pairwise, rel=1e-9, abs=1e-12)
    assert -1e-12 <= g <= 1 + 1e-12


def test_gini_known_values():
    assert gini(np.array([1.0, 1.0, 1.0])) == 0.0
    assert gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)
    assert gini(np.zeros(4)) == 0.0


def test_totals_from_files_equal_totals_from_the_engine(tiny_community, tmp_path):
    writer = RunWriter(tmp_path, tiny_community.agents.ids, tiny_community.grid.index, rows_per_group=50)
    live = simulate(tiny_community, "truthful-bidder", writer)
    writer.close("name: x\n", {})
    import pandas as pd

    rebuilt = totals_from_frames(
        pd.read_parquet(tmp_path / TIMESERIES),
        pd.read_parquet(tmp_path / TRADES),
        tiny_community.agents.battery.capacity_kwh,
        tiny_community.grid.dt_hours,
        charge_efficiency=tiny_community.agents.battery.charge_efficiency,
        discharge_efficiency=tiny_community.agents.battery.discharge_efficiency,
        value_of_lost_load=tiny_community.value_of_lost_load,
    )
    for name in live.agent:
        np.testing.assert_allclose(rebuilt.agent[name], live.agent[name], rtol=1e-12, atol=1e-12)
    for name in live.step:
        np.testing.assert_allclose(rebuilt.step[name], live.step[name], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(rebuilt.traded_any, live.traded_any)
    assert live.step["p2p_volume"].sum() > 0
    a, b = compute_kpis(live).community, compute_kpis(rebuilt).community
    for key in a:
        if not isinstance(a[key], NA):
            assert b[key] == pytest.approx(a[key], rel=1e-12, abs=1e-12), key


def test_headline_cost_adds_unserved_energy_and_the_storage_rule_of_kpis_md():
    t = hand_totals([4.0, 6.0], unserved=[0.0, 2.0], unserved_cost=[0.0, 2.0 * 3.0], stored_change=[-2.0, 0.0])
    t.charge_efficiency, t.discharge_efficiency = np.array([0.8, 1.0]), np.array([0.9, 1.0])
    t.steps_done = 2
    t.step["retail"][:] = [0.30, 0.20]  # cheapest retail of the last 24 h: 0.20
    t.step["feed_in"][:] = [0.05, 0.10]
    k = compute_kpis(t).community
    assert k["cash_cost"] == 10.0
    assert k["unserved_cost"] == 6.0
    assert k["storage_adjustment"] == pytest.approx(2.0 * 0.20 / 0.8)  # drained: refilled at r_min / η_c
    assert k["cost"] == pytest.approx(10.0 + 6.0 + 0.5)
    t.agent["stored_change"][:] = [3.0, 0.0]  # hoarded: credited at η_d × the best feed-in (0.10)
    assert compute_kpis(t).community["storage_adjustment"] == pytest.approx(-3.0 * 0.9 * 0.10)


def test_savings_and_the_oracle_share_use_the_headline_cost():
    from powergrid.analytics.kpis import add_share_of_oracle_savings

    runs = {name: hand_totals(cash) for name, cash in {"grid-only": [5, 5], "x": [3, 3], "oracle": [2, 2]}.items()}
    for totals in runs.values():
        totals.steps_done = 2
        totals.step["retail"][:] = 0.2
    runs["x"].agent["stored_change"][:] = [-4.0, 0.0]  # x saved cash by draining 4 kWh: refill costs 0.8
    reports = {name: compute_kpis(totals, runs["grid-only"]) for name, totals in runs.items()}
    add_share_of_oracle_savings(reports)
    assert reports["x"].community["savings"] == pytest.approx(10 - 6.8)
    assert reports["x"].community["share_of_oracle_savings"] == pytest.approx((10 - 6.8) / (10 - 4))


def test_windows_keep_their_own_storage_rule_when_merged(tiny_community):
    from powergrid.analytics.totals import merge_totals

    first = simulate(tiny_community, "self-consumption", start=0, stop=24)
    second = simulate(tiny_community, "self-consumption", start=24, stop=48)
    merged = merge_totals([first, second])
    np.testing.assert_allclose(merged.storage_adjustment(), first.storage_adjustment() + second.storage_adjustment())
    assert compute_kpis(merged).community["cost"] == pytest.approx(
        float(first.headline_cost().sum() + second.headline_cost().sum())
    )


def test_stored_change_matches_the_flows(tiny_community):
    totals = simulate(tiny_community, "self-consumption")
    kpis = compute_kpis(totals).community
    fleet = tiny_community.agents.battery
    # Δ stored from the flows, independently of the engine's own bookkeeping.
    stored = (
        totals.agent["charge"] * fleet.charge_efficiency - totals.agent["discharge"] / fleet.discharge_efficiency
    ).sum()
    assert kpis["stored_change_kwh"] == pytest.approx(stored, abs=1e-9)


def _exchange_totals(p_kw: list[float], stamps: pd.DatetimeIndex, cost: float = 1.0, co2: float = 1.0) -> RunTotals:
    """Totals whose community net exchange is ``p_kw`` (1 h steps) on the calendar ``stamps``."""
    p = np.array(p_kw)
    totals = RunTotals(("a",), np.array([0.0]), dt_hours=1.0, n_steps=p.size)
    totals.step["imported"], totals.step["exported"] = np.maximum(p, 0), np.maximum(-p, 0)
    totals.step.update(calendar_codes(stamps))
    totals.agent["cash_cost"][:] = cost
    totals.agent["co2_kg"][:] = co2
    totals.steps_done = p.size
    return totals


def test_citylearn_style_kpis_by_hand():
    # two days in January, one in February; hours 23:00, 00:00, 01:00 … laid out so days and months differ
    stamps = pd.DatetimeIndex(
        [
            "2024-01-30 22:00",
            "2024-01-30 23:00",
            "2024-01-31 00:00",
            "2024-01-31 01:00",
            "2024-02-01 00:00",
            "2024-02-01 01:00",
        ]
    )
    p = [4.0, 2.0, -1.0, 3.0, 1.0, 1.0]
    base = _exchange_totals([4.0, 4.0, 4.0, 4.0, 2.0, 2.0], stamps, cost=10.0, co2=5.0)
    run = _exchange_totals(p, stamps, cost=4.0, co2=2.5)
    k = compute_kpis(run, base).community
    assert k["ramping_kw"] == pytest.approx(2 + 3 + 4 + 2 + 0)
    january = 1 - np.mean([4, 2, 0, 3]) / 4  # P⁺ = max(P, 0)
    assert k["one_minus_load_factor"] == pytest.approx(np.mean([january, 0.0]))
    assert k["average_daily_peak_kw"] == pytest.approx(np.mean([4.0, 3.0, 1.0]))
    assert k["peak_demand_kw"] == pytest.approx(4.0)
    assert k["cost_normalised"] == pytest.approx(0.4)
    assert k["co2_normalised"] == pytest.approx(0.5)
    assert k["ramping_normalised"] == pytest.approx(11 / 2)
    assert k["peak_demand_normalised"] == pytest.approx(1.0)
    assert k["average_daily_peak_normalised"] == pytest.approx(np.mean([4.0, 3.0, 1.0]) / np.mean([4.0, 4.0, 2.0]))
    assert isinstance(k["one_minus_load_factor_normalised"], NA)  # grid-only's load factor is flat: 1 − 1 = 0
    earning = _exchange_totals([-1.0] * 6, stamps, cost=-3.0)
    assert isinstance(compute_kpis(run, earning).community["cost_normalised"], NA)  # a negative baseline: n/a
