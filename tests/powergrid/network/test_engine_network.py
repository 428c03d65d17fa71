"""The engine with a feeder: balances, loss settlement, agent placement, fallback, results, determinism."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from power_grid_model import CalculationMethod

from powergrid.analytics import compute_kpis, totals_from_frames
from powergrid.analytics.results import RunWriter
from powergrid.engine import CommunityEngine
from powergrid.errors import ScenarioError
from powergrid.ledger.run_directory import NETWORK, TIMESERIES, TRADES
from powergrid.network.powerflow import FeederSolver
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


def feeder_scenario(losses="operator", n_steps=48, **network):
    raw = tiny_dict(network={"feeder": "cigre-lv", "losses": losses, **network})
    raw["time"]["n_steps"] = n_steps
    return load_scenario(raw)


@pytest.mark.parametrize("losses", ["operator", "allocated"])
def test_losses_are_settled_and_every_balance_closes(losses):
    community = build_community(feeder_scenario(losses))
    engine = CommunityEngine(community)
    from powergrid.controllers import make_controller

    ctrl = make_controller("truthful-bidder")
    ctrl.reset(community)
    total_losses = 0.0
    while not engine.done:
        obs = engine.observe()
        r = engine.step(ctrl.act(obs), obs)
        net = r.network
        consumption = r.load - r.unserved + r.charge - r.pv - r.discharge
        assert net.head_kwh == pytest.approx(consumption.sum() + net.losses_kwh, abs=1e-9)
        paid = r.loss_cost.sum() + net.operator_loss_cost
        assert paid == pytest.approx(net.losses_kwh * r.retail, abs=1e-12)
        if losses == "allocated":
            assert net.operator_loss_cost == 0
            np.testing.assert_allclose(
                r.loss_cost, net.losses_kwh * r.retail * np.abs(consumption) / np.abs(consumption).sum()
            )
        else:
            assert (r.loss_cost == 0).all()
        np.testing.assert_allclose(r.cash_cost, r.grid_cost + r.p2p_payment + r.fees + r.degradation_cost + r.loss_cost)
        assert np.isfinite(r.voltage_pu).all() and (r.voltage_pu > 0.9).all()
        total_losses += net.losses_kwh
    assert total_losses > 0


def test_agents_spread_evenly_over_load_buses_and_explicit_buses_win():
    community = build_community(feeder_scenario())
    setup = community.network
    counts = pd.Series(setup.agent_nodes).value_counts()
    assert counts.max() == 1 and set(setup.agent_nodes) <= set(setup.feeder.connection_nodes)  # 8 agents, 15 buses
    explicit = build_community(feeder_scenario(agent_buses={"h003": 2}))
    assert explicit.network.agent_nodes[3] == 2
    other_seed = build_community(load_scenario(feeder_scenario(), seed=9))
    assert not np.array_equal(other_seed.network.agent_nodes, setup.agent_nodes)


def test_bad_network_settings_are_clear_errors():
    with pytest.raises(ScenarioError, match="unknown agent ids \\['nobody'\\]"):
        build_community(feeder_scenario(agent_buses={"nobody": 2}))
    with pytest.raises(ScenarioError, match="node 999 is not in feeder 'cigre-lv'"):
        build_community(feeder_scenario(agent_buses={"h001": 999}))
    with pytest.raises(ScenarioError, match=r"agent_buses\['h001'\]: node 0 is the feeder's source bus"):
        build_community(feeder_scenario(agent_buses={"h001": 0}))
    with pytest.raises(ScenarioError, match="unknown feeder 'atlantis'"):
        build_community(
            feeder_scenario(feeder="atlantis") if False else load_scenario(tiny_dict(network={"feeder": "atlantis"}))
        )
    with pytest.raises(ScenarioError, match="voltage_band"):
        feeder_scenario(voltage_band=[1.05, 0.95])


def test_non_convergence_falls_back_to_the_linear_method_and_is_counted(monkeypatch):
    community = build_community(feeder_scenario(n_steps=6))
    real = FeederSolver._calculate
    calls = {"nr": 0}

    def flaky(self, update, method):
        if method == CalculationMethod.newton_raphson:
            calls["nr"] += 1
            if calls["nr"] % 2 == 0:  # every second Newton–Raphson solve "diverges"
                from power_grid_model.errors import IterationDiverge

                raise IterationDiverge("forced in a test")
        return real(self, update, method)

    monkeypatch.setattr(FeederSolver, "_calculate", flaky)
    totals = simulate(community, "self-consumption", network_batch=1)
    assert totals.network["converged"].tolist() == [1, 0, 1, 0, 1, 0]
    kpis = compute_kpis(totals).community
    assert kpis["power_flow_fallbacks"] == 3
    assert np.isfinite(totals.network["losses_kwh"]).all() and (totals.network["losses_kwh"] > 0).all()


def test_batched_solves_fall_back_scenario_by_scenario(monkeypatch):
    community = build_community(feeder_scenario(n_steps=6))
    real = FeederSolver._calculate

    def diverging(self, update, method):
        if method == CalculationMethod.newton_raphson:
            from power_grid_model.errors import IterationDiverge

            raise IterationDiverge("forced in a test")
        return real(self, update, method)

    monkeypatch.setattr(FeederSolver, "_calculate", diverging)
    totals = simulate(community, "self-consumption", network_batch=4)
    assert totals.network["converged"].tolist() == [0] * 6
    assert compute_kpis(totals).community["power_flow_fallbacks"] == 6


def test_network_results_round_trip_through_files(tmp_path):
    community = build_community(feeder_scenario())
    writer = RunWriter(tmp_path, community.agents.ids, community.grid.index)
    live = simulate(community, "truthful-bidder", writer)
    writer.close("name: x\n", {})
    network = pd.read_parquet(tmp_path / NETWORK)
    assert len(network) == community.n_steps
    ts = pd.read_parquet(tmp_path / TIMESERIES)
    assert ts["voltage_pu"].between(0.9, 1.1).all()
    rebuilt = totals_from_frames(
        ts, pd.read_parquet(tmp_path / TRADES), community.agents.battery.capacity_kwh, community.grid.dt_hours, network
    )
    a, b = compute_kpis(live).community, compute_kpis(rebuilt).community
    for key in ("losses_kwh", "loss_cost", "voltage_violations", "min_voltage_pu", "max_line_loading_pct"):
        assert b[key] == pytest.approx(a[key], rel=1e-12), key


def test_copper_plate_reports_network_kpis_as_not_applicable(tiny_community):
    kpis = compute_kpis(simulate(tiny_community, "grid-only")).community
    assert str(kpis["losses_kwh"]) == "n/a" and "no feeder" in kpis["losses_kwh"].reason


@pytest.mark.parametrize("name", ["cigre-lv", "kerber-dorfnetz"])
def test_feeders_are_identical_in_every_process(name):
    code = (
        f"import hashlib; from powergrid.network.feeders import load_feeder; f = load_feeder({name!r}); "
        "d = f.input_data; "
        "print(hashlib.sha256(b''.join(d[k][c].tobytes() for k in sorted(d) for c in d[k].dtype.names)).hexdigest())"
    )  # field by field: structured arrays have padding bytes
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        for _ in range(2)
    }
    assert len(digests) == 1


@pytest.mark.parametrize("losses", ["operator", "allocated"])
def test_batched_power_flows_give_the_same_run_as_step_by_step(losses):
    community = build_community(feeder_scenario(losses, n_steps=60))
    one = simulate(community, "truthful-bidder", network_batch=1)
    batched = simulate(community, "truthful-bidder", network_batch=25)  # 25 + 25 + 10 steps
    for name in one.agent:
        np.testing.assert_allclose(batched.agent[name], one.agent[name], rtol=1e-12, atol=1e-12)
    for name in one.network:
        np.testing.assert_allclose(batched.network[name], one.network[name], rtol=1e-12, atol=1e-12)
    assert one.network["losses_kwh"].min() > 0
