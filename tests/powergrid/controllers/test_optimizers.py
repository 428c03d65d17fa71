"""MPC, oracle and greedy: the LP against an independent scipy model, MPC = oracle, fallbacks, engine KPIs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linprog

from powergrid.analytics.kpis import NA, compute_kpis
from powergrid.controllers import make_controller
from powergrid.controllers.community_lp import TIE_BREAK, CommunityLP
from powergrid.controllers.optimizers import MPCController
from powergrid.engine.yardstick import terminal_prices
from powergrid.errors import ScenarioError
from powergrid.runner.compare import run_controllers
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


def small_community(n_steps=24, **changes):
    raw = tiny_dict(**changes)
    raw["time"]["n_steps"] = n_steps
    return build_community(load_scenario(raw))


def scipy_objective(c, start: int, stop: int) -> float:
    """The community LP written out by hand for scipy's HiGHS (variables stacked per kind, agent-major): the
    headline cost with unserved energy at VoLL, curtailment and the end-of-horizon storage rule (convex case)."""
    n, h, dt = c.n_agents, stop - start, c.grid.dt_hours
    fleet = c.agents.battery
    kinds = ["c", "d", "m", "x", "b", "s", "u", "q", "soc", "up", "down"]
    size = {k: n * h for k in kinds[:8]} | {"soc": n * (h + 1), "up": n, "down": n}
    offset, total = {}, 0
    for k in kinds:
        offset[k], total = total, total + size[k]

    def idx(kind, i, k=0):
        return offset[kind] + i * {"soc": h + 1, "up": 1, "down": 1}.get(kind, h) + k

    cost = np.zeros(total)
    retail, feed_in = c.tariff.retail[start:stop], c.tariff.feed_in[start:stop]
    r_min, f_max = retail[-24:].min(), feed_in[-24:].max()
    load, pv = c.profiles.load_kw[start:stop], c.profiles.pv_kw[start:stop]
    eq_rows, eq_rhs, bounds = [], [], [(0, None)] * total
    for i in range(n):
        for k in range(h):
            cost[idx("m", i, k)] = dt * retail[k]
            cost[idx("x", i, k)] = -dt * feed_in[k]
            cost[idx("d", i, k)] = dt * fleet.degradation_cost[i]
            cost[idx("b", i, k)] = cost[idx("s", i, k)] = dt * (c.market.fee_per_kwh + TIE_BREAK)
            cost[idx("u", i, k)] = dt * c.value_of_lost_load
            row = np.zeros(total)  # pv − q + d + b + m + u − c − s − x = load
            row[[idx("d", i, k), idx("b", i, k), idx("m", i, k), idx("u", i, k)]] = 1
            row[[idx("c", i, k), idx("s", i, k), idx("x", i, k), idx("q", i, k)]] = -1
            eq_rows.append(row)
            eq_rhs.append(load[k, i] - pv[k, i])
            row = np.zeros(total)  # soc[k+1] − soc[k] − (ηc c − d/ηd) dt = 0
            row[idx("soc", i, k + 1)], row[idx("soc", i, k)] = 1, -1
            row[idx("c", i, k)] = -fleet.charge_efficiency[i] * dt
            row[idx("d", i, k)] = dt / fleet.discharge_efficiency[i]
            eq_rows.append(row)
            eq_rhs.append(0.0)
            for kind in ("c", "d"):
                bounds[idx(kind, i, k)] = (0, fleet.power_kw[i])
            bounds[idx("u", i, k)] = (0, load[k, i])
            bounds[idx("q", i, k)] = (0, pv[k, i])
            bounds[idx("soc", i, k + 1)] = (fleet.soc_min_kwh[i], fleet.soc_max_kwh[i])
        bounds[idx("soc", i, 0)] = (fleet.initial_soc_kwh[i], fleet.initial_soc_kwh[i])
        row = np.zeros(total)  # soc[h] − soc0 − up + down = 0
        row[idx("soc", i, h)], row[idx("up", i)], row[idx("down", i)] = 1, -1, 1
        eq_rows.append(row)
        eq_rhs.append(fleet.initial_soc_kwh[i])
        cost[idx("down", i)] = r_min / fleet.charge_efficiency[i]
        cost[idx("up", i)] = -f_max * fleet.discharge_efficiency[i]
    for k in range(h):
        row = np.zeros(total)
        row[[idx("b", i, k) for i in range(n)]] = 1
        row[[idx("s", i, k) for i in range(n)]] = -1
        eq_rows.append(row)
        eq_rhs.append(0.0)
    result = linprog(cost, A_eq=np.array(eq_rows), b_eq=np.array(eq_rhs), bounds=bounds, method="highs")
    assert result.status == 0
    return float(result.fun)


def test_oracle_objective_equals_an_independent_scipy_lp():
    c = small_community(n_steps=6, agents=[{"kind": "prosumer", "count": 2}, {"kind": "consumer"}])
    oracle = make_controller("oracle")
    simulate(c, oracle)
    assert oracle.status == "optimal"
    assert oracle.objective == pytest.approx(scipy_objective(c, 0, 6), rel=1e-7, abs=1e-9)


def test_oracle_objective_is_the_headline_cost_the_engine_realises():
    c = small_community(n_steps=30)
    oracle = make_controller("oracle")
    totals = simulate(c, oracle)
    assert oracle.objective == pytest.approx(float(totals.headline_cost().sum()), rel=1e-6)


def test_mpc_with_perfect_forecasts_and_a_long_horizon_equals_the_oracle():
    c = small_community(n_steps=24)
    mpc = simulate(c, MPCController(horizon=24, forecaster="perfect"))
    oracle = simulate(c, "oracle")
    assert mpc.headline_cost().sum() == pytest.approx(oracle.headline_cost().sum(), rel=1e-3)


def test_optimisers_beat_the_heuristics_and_the_oracle_bounds_them():
    c = small_community(n_steps=48)
    outcomes = run_controllers(c, ["self-consumption", "truthful-bidder", "greedy", "mpc", "oracle"])
    cost = {k: v.kpis.community["cost"] for k, v in outcomes.items()}
    assert cost["oracle"] <= min(cost.values()) + 1e-6
    assert cost["mpc"] <= cost["truthful-bidder"]
    assert cost["mpc"] <= cost["self-consumption"]
    assert cost["greedy"] < cost["self-consumption"]


IMPORT_CAP = {  # the import-cap.yaml
    "name": "import-cap",
    "time": {"start": "2024-01-15T00:00:00", "step_minutes": 60, "n_steps": 24, "utc_offset_hours": 1},
    "agents": [{"kind": "prosumer", "count": 2}, {"kind": "consumer", "count": 3}],
    "grid": {"import_capacity_kw": 0.3},
}


def test_binding_import_limit_the_oracle_solves_every_step_and_beats_everyone():
    c = build_community(load_scenario(IMPORT_CAP))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", ".*fell back", RuntimeWarning)  # the summary of optimiser fallbacks
        outcomes = run_controllers(c, ["grid-only", "self-consumption", "truthful-bidder", "greedy", "mpc", "oracle"])
    kpis = {k: v.kpis.community for k, v in outcomes.items()}
    assert kpis["oracle"]["optimiser_fallbacks"] == kpis["mpc"]["optimiser_fallbacks"] == 0
    assert kpis["grid-only"]["unserved_kwh"] > 1.0  # the limit binds
    assert all(kpis["oracle"]["cost"] <= k["cost"] + 1e-9 for k in kpis.values())
    assert kpis["oracle"]["share_of_oracle_savings"] == 1.0


def test_unserved_energy_costs_value_of_lost_load():
    c = build_community(load_scenario(IMPORT_CAP))
    report = run_controllers(c, ["grid-only"])["grid-only"].kpis.community
    assert c.value_of_lost_load == pytest.approx(10 * c.tariff.retail.max())
    assert report["value_of_lost_load"] == c.value_of_lost_load
    assert report["unserved_cost"] == pytest.approx(report["unserved_kwh"] * c.value_of_lost_load)
    assert report["cost"] == pytest.approx(report["cash_cost"] + report["unserved_cost"] + report["storage_adjustment"])


def test_a_failed_solve_falls_back_to_self_consumption_is_counted_and_warned_once(monkeypatch):
    c = small_community(n_steps=4)
    monkeypatch.setattr("powergrid.controllers.community_lp.ACCEPTED", ())  # every solve counts as failed
    mpc = MPCController(horizon=4, forecaster="perfect")
    with pytest.warns(RuntimeWarning, match=r"mpc: 4 of 4 steps fell back .*solver status 'optimal' at step 0") as w:
        totals = simulate(c, mpc)
    assert len([x for x in w if "fell back" in str(x.message)]) == 1
    assert mpc.fallbacks == 4
    assert totals.optimiser_fallbacks == 4
    reference = simulate(c, "self-consumption")
    np.testing.assert_allclose(totals.agent["cash_cost"], reference.agent["cash_cost"])
    report = compute_kpis(totals)
    assert report.community["optimiser_fallbacks"] == 4


def test_share_of_oracle_savings_is_na_when_the_oracle_did_not_solve(monkeypatch):
    c = small_community(n_steps=6)
    monkeypatch.setattr("powergrid.controllers.community_lp.ACCEPTED", ())
    with pytest.warns(RuntimeWarning, match="oracle: 6 of 6 steps fell back"):
        outcomes = run_controllers(c, ["greedy", "oracle"])
    share = outcomes["greedy"].kpis.community["share_of_oracle_savings"]
    assert isinstance(share, NA)
    assert "did not solve" in share.reason


def test_mpc_results_do_not_depend_on_the_solver():
    c = build_community(load_scenario("community-5"))
    cost = {}
    for solver in ("CLARABEL", "HIGHS"):
        totals = simulate(c, MPCController(solver=solver))
        report = compute_kpis(totals).community
        assert report["safety_clipped"] == 0
        cost[solver] = report["cost"]
    assert cost["CLARABEL"] == pytest.approx(cost["HIGHS"], rel=5e-3)


def test_mpc_runs_a_one_day_scenario():
    c = small_community(n_steps=24)
    with pytest.warns(RuntimeWarning, match="no earlier day"):
        totals = simulate(c, MPCController())  # seasonal-naive: persistence on the first day
    assert totals.optimiser_fallbacks == 0


def test_mpc_with_a_learning_forecaster_on_one_day_names_the_setting():
    c = small_community(n_steps=24)
    with pytest.raises(ScenarioError, match=r"mpc\.forecaster: 'learned' needs training days"):
        simulate(c, MPCController(forecaster="learned"))


def test_the_lp_is_built_once_and_reused():
    c = small_community(n_steps=6)
    lp = CommunityLP(c, horizon=3)
    problem = lp.problem
    p, fleet = c.profiles, c.agents.battery
    tariff = c.tariff
    terminal = terminal_prices(tariff.retail, tariff.feed_in, 1.0, fleet.charge_efficiency, fleet.discharge_efficiency)
    free = (-fleet.power_kw, fleet.power_kw)
    first = lp.solve(
        p.load_kw[:3].T, p.pv_kw[:3].T, tariff.retail[:3], tariff.feed_in[:3], np.zeros(8), free, terminal, np.zeros(8)
    )
    again = lp.solve(
        p.load_kw[3:6].T,
        p.pv_kw[3:6].T,
        tariff.retail[3:6],
        tariff.feed_in[3:6],
        np.zeros(8),
        free,
        terminal,
        np.zeros(8),
    )
    assert lp.problem is problem
    assert first.status == again.status == "optimal"
    assert first.objective != again.objective


def test_oracle_refuses_a_horizon_too_large_for_one_lp(monkeypatch):
    import powergrid.controllers.optimizers as optimizers
    from powergrid.errors import HeronGridError

    monkeypatch.setattr(optimizers, "ORACLE_MAX_AGENT_STEPS", 100)
    with pytest.raises(HeronGridError, match="8 agents × 24 steps exceeds the whole-horizon LP limit of 100"):
        simulate(small_community(n_steps=24), "oracle")


def test_share_of_oracle_savings_in_a_comparison():
    c = small_community(n_steps=24)
    outcomes = run_controllers(c, ["grid-only", "truthful-bidder", "oracle"])
    share = {k: v.kpis.community["share_of_oracle_savings"] for k, v in outcomes.items()}
    assert share["grid-only"] == pytest.approx(0.0)
    assert share["oracle"] == pytest.approx(1.0)
    assert 0.0 < share["truthful-bidder"] < 1.0
    alone = run_controllers(c, ["truthful-bidder"])["truthful-bidder"].kpis.community["share_of_oracle_savings"]
    assert str(alone) == "n/a"


def test_mpc_uses_the_scenarios_forecaster_and_reports_its_errors(tmp_path):
    c = small_community(n_steps=48, mpc={"horizon": 12, "forecaster": "seasonal-naive"})
    outcome = run_controllers(c, ["mpc"], {"mpc": tmp_path})["mpc"]
    errors = outcome.kpis.forecast_errors["load_kw"]
    assert errors["mae"].shape == (12,)
    assert errors["rmse"].shape == (12,)
    # h = 0 is measured, later steps forecast
    assert errors["mae"][0] == 0.0
    assert errors["mae"][1:].min() > 0
    import json

    stored = json.loads((tmp_path / "kpis.json").read_text())["forecast_errors"]
    assert stored["pv_kw"]["rmse"][0] == 0.0
    assert len(stored["pv_kw"]["rmse"]) == 12


def test_no_solver_banner_on_stdout():
    import subprocess
    import sys

    code = (
        "from powergrid.runner.simulate import simulate\n"
        "from powergrid.scenarios import load_scenario\n"
        "from powergrid.scenarios.build import build_community\n"
        "from scenario_factory import tiny_dict\n"
        "raw = tiny_dict(); raw['time']['n_steps'] = 6\n"
        "c = build_community(load_scenario(raw))\n"
        "simulate(c, 'oracle')\n"
        "from powergrid.controllers.optimizers import MPCController\n"
        "simulate(c, MPCController(horizon=3, forecaster='perfect', solver='HIGHS'))\n"
    )
    tests = str(Path(__file__).parents[2])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tests, check=True)
    assert done.stdout == ""


def test_optimiser_plans_keep_the_ramp_limit_without_clips():
    battery = {"capacity_kwh": 8.0, "power_kw": 3.0, "ramp_kw_per_step": 0.5}
    c = small_community(n_steps=24, devices={"pv": {"peak_kw": 6.0}, "battery": battery})
    for controller in ("oracle", MPCController(horizon=12, forecaster="perfect")):
        steps: list = []
        totals = simulate(c, controller, on_step=steps.append)
        power = np.array([r.charge - r.discharge for r in steps])  # (steps, N) kW at 1 h steps
        assert totals.interventions["battery_clipped"].sum() == 0
        assert np.abs(np.diff(power, axis=0, prepend=0.0)).max() <= 0.5 + 1e-6
        assert np.abs(power).max() > 0.4  # the batteries are used
