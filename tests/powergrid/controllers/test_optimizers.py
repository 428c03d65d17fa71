"""MPC, oracle and greedy: the LP against an independent scipy model, MPC = oracle, fallbacks, engine KPIs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from powergrid.controllers import make_controller
from powergrid.controllers.community_lp import TIE_BREAK, CommunityLP
from powergrid.controllers.optimizers import MPCController
from powergrid.reward import community_storage_value
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from powergrid.simulate import run_controllers, simulate
from scenario_factory import tiny_dict


def small_community(n_steps=24, **changes):
    raw = tiny_dict(**changes)
    raw["time"]["n_steps"] = n_steps
    return build_community(load_scenario(raw))


def scipy_objective(c, start: int, stop: int) -> float:
    """The community LP written out by hand for scipy's HiGHS (variables stacked per kind, agent-major)."""
    n, h, dt = c.n_agents, stop - start, c.grid.dt_hours
    fleet = c.agents.battery
    kinds = ["c", "d", "m", "x", "b", "s", "soc"]
    size = {k: n * h for k in kinds[:-1]} | {"soc": n * (h + 1)}
    offset, total = {}, 0
    for k in kinds:
        offset[k], total = total, total + size[k]

    def idx(kind, i, k):
        return offset[kind] + i * (h + 1 if kind == "soc" else h) + k

    cost = np.zeros(total)
    retail, feed_in = c.tariff.retail[start:stop], c.tariff.feed_in[start:stop]
    value = community_storage_value(c)
    eq_rows, eq_rhs, bounds = [], [], [(0, None)] * total
    for i in range(n):
        for k in range(h):
            cost[idx("m", i, k)] = dt * retail[k]
            cost[idx("x", i, k)] = -dt * feed_in[k]
            cost[idx("d", i, k)] = dt * fleet.degradation_cost[i]
            cost[idx("b", i, k)] = cost[idx("s", i, k)] = dt * (c.market.fee_per_kwh + TIE_BREAK)
            row = np.zeros(total)  # pv + d + b + m − c − s − x = load
            row[[idx("d", i, k), idx("b", i, k), idx("m", i, k)]] = 1
            row[[idx("c", i, k), idx("s", i, k), idx("x", i, k)]] = -1
            eq_rows.append(row)
            eq_rhs.append(c.profiles.load_kw[start + k, i] - c.profiles.pv_kw[start + k, i])
            row = np.zeros(total)  # soc[k+1] − soc[k] − (ηc c − d/ηd) dt = 0
            row[idx("soc", i, k + 1)], row[idx("soc", i, k)] = 1, -1
            row[idx("c", i, k)] = -fleet.charge_efficiency[i] * dt
            row[idx("d", i, k)] = dt / fleet.discharge_efficiency[i]
            eq_rows.append(row)
            eq_rhs.append(0.0)
            for kind in ("c", "d"):
                bounds[idx(kind, i, k)] = (0, fleet.power_kw[i])
            bounds[idx("soc", i, k + 1)] = (fleet.soc_min_kwh[i], fleet.soc_max_kwh[i])
        bounds[idx("soc", i, 0)] = (fleet.initial_soc_kwh[i], fleet.initial_soc_kwh[i])
        cost[idx("soc", i, h)] = -value
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


def test_mpc_with_perfect_forecasts_and_a_long_horizon_equals_the_oracle():
    c = small_community(n_steps=24)
    mpc = simulate(c, MPCController(horizon=24, forecaster="perfect"))
    oracle = simulate(c, "oracle")
    a = mpc.agent["cost"].sum() - community_storage_value(c) * mpc.agent["stored_change"].sum()
    b = oracle.agent["cost"].sum() - community_storage_value(c) * oracle.agent["stored_change"].sum()
    assert a == pytest.approx(b, rel=1e-3)


def test_optimisers_beat_the_heuristics_and_the_oracle_bounds_them():
    c = small_community(n_steps=48)
    outcomes = run_controllers(c, ["self-consumption", "truthful-bidder", "greedy", "mpc", "oracle"])
    net = {k: v.kpis.community["cost_net_of_storage"] for k, v in outcomes.items()}
    assert net["oracle"] <= min(net.values()) + 1e-6
    assert net["mpc"] <= net["truthful-bidder"] and net["mpc"] <= net["self-consumption"]
    assert net["greedy"] < net["self-consumption"]


def test_infeasible_plans_fall_back_to_self_consumption_and_are_counted():
    # Consumers behind a 0.01 kW import limit: the LP (which has no unserved energy) is infeasible.
    c = small_community(n_steps=4, grid={"import_capacity_kw": 0.01}, agents=[{"kind": "consumer", "count": 3}])
    mpc = MPCController(horizon=4, forecaster="perfect")
    with pytest.warns(RuntimeWarning, match="solver status 'infeasible' at step 0"):
        totals = simulate(c, mpc)
    assert mpc.fallbacks == 4 and len(mpc.events) == 4
    reference = simulate(c, "self-consumption")
    np.testing.assert_allclose(totals.agent["cost"], reference.agent["cost"])


def test_the_lp_is_built_once_and_reused():
    c = small_community(n_steps=6)
    lp = CommunityLP(c, horizon=3)
    problem = lp.problem
    p = c.profiles
    first = lp.solve(p.load_kw[:3].T, p.pv_kw[:3].T, c.tariff.retail[:3], c.tariff.feed_in[:3], np.zeros(8))
    again = lp.solve(p.load_kw[3:6].T, p.pv_kw[3:6].T, c.tariff.retail[3:6], c.tariff.feed_in[3:6], np.zeros(8))
    assert lp.problem is problem and first.status == again.status == "optimal"
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
    assert share["grid-only"] == pytest.approx(0.0) and share["oracle"] == pytest.approx(1.0)
    assert 0.0 < share["truthful-bidder"] < 1.0
    alone = run_controllers(c, ["truthful-bidder"])["truthful-bidder"].kpis.community["share_of_oracle_savings"]
    assert str(alone) == "n/a"


def test_mpc_uses_the_scenarios_forecaster_and_reports_its_errors(tmp_path):
    c = small_community(n_steps=48, mpc={"horizon": 12, "forecaster": "seasonal-naive"})
    outcome = run_controllers(c, ["mpc"], {"mpc": tmp_path})["mpc"]
    errors = outcome.kpis.forecast_errors["load_kw"]
    assert errors["mae"].shape == (12,) and errors["rmse"].shape == (12,)
    assert errors["mae"][0] == 0.0 and errors["mae"][1:].min() > 0  # h = 0 is measured, later steps forecast
    import json

    stored = json.loads((tmp_path / "kpis.json").read_text())["forecast_errors"]
    assert stored["pv_kw"]["rmse"][0] == 0.0 and len(stored["pv_kw"]["rmse"]) == 12
