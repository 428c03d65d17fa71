"""Our power flow (power-grid-model on converted feeders) against pandapower on the same network and injections.

Like with like: pandapower runs with ``trafo_model="pi"`` (power-grid-model's transformer is a π model; with
pandapower's default T model the magnetizing branch sits elsewhere and losses differ by ~1e-5 on Kerber).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandapower as pp
import pytest
import simbench

from powergrid.network.feeders import _PANDAPOWER_FEEDERS, load_feeder
from powergrid.network.powerflow import FeederSolver

SETS_PER_FEEDER = 50  # two feeders: 100 random injection sets in all


def pandapower_net_with_agents(name: str, nodes: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = _PANDAPOWER_FEEDERS[name][0]()
    net.load = net.load.iloc[0:0]
    for node in nodes:
        pp.create_load(net, int(node), p_mw=0.0, q_mvar=0.0)
    return net


@pytest.mark.parametrize("name", ["cigre-lv", "kerber-dorfnetz"])
def test_voltages_and_losses_match_pandapower(name):
    feeder = load_feeder(name)
    nodes = feeder.connection_nodes
    rng = np.random.default_rng(2024)
    p_kw = rng.uniform(-6.0, 8.0, (SETS_PER_FEEDER, nodes.size))  # households: PV export up to 6 kW, load up to 8
    q_kvar = p_kw.clip(min=0) * rng.uniform(0.0, 0.3, p_kw.shape)
    ours = FeederSolver(feeder, nodes).solve_batch(p_kw, q_kvar)
    assert ours.converged.all()
    net = pandapower_net_with_agents(name, nodes)
    worst_dv = worst_loss = 0.0
    for k in range(SETS_PER_FEEDER):
        net.load["p_mw"] = p_kw[k] / 1e3
        net.load["q_mvar"] = q_kvar[k] / 1e3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, trafo_model="pi", tolerance_mva=1e-10, max_iteration=30, calculate_voltage_angles=True)
        vm = net.res_bus["vm_pu"].reindex(feeder.node_ids).to_numpy()
        losses = (net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum()) * 1e3
        worst_dv = max(worst_dv, np.abs(vm - ours.node_u_pu[k]).max())
        worst_loss = max(worst_loss, abs(ours.losses_kw[k] - losses) / losses)
        # pandapower converges to 1e-10 MVA (0.1 mW): compare the head flow within 1 mW.
        assert ours.head_kw[k] == pytest.approx(net.res_ext_grid["p_mw"].sum() * 1e3, abs=1e-6)
    assert worst_dv <= 1e-6, f"{name}: max |ΔV| {worst_dv:.3e} pu"
    assert worst_loss <= 1e-6, f"{name}: max relative loss error {worst_loss:.3e}"


def test_single_solve_equals_batch_and_closes_the_feeder_balance():
    feeder = load_feeder("cigre-lv")
    nodes = feeder.connection_nodes
    rng = np.random.default_rng(5)
    p = rng.uniform(-5, 8, (3, nodes.size))
    q = 0.2 * p.clip(min=0)
    solver = FeederSolver(feeder, nodes)
    batch = solver.solve_batch(p, q)
    for k in range(3):
        single = solver.solve(p[k], q[k])
        np.testing.assert_allclose(single.node_u_pu[0], batch.node_u_pu[k], atol=1e-12)
        assert single.losses_kw[0] == pytest.approx(batch.losses_kw[k], rel=1e-12)
        # Kirchhoff: what enters at the head is consumed by the agents or lost in lines and transformers.
        assert single.head_kw[0] == pytest.approx(p[k].sum() + single.losses_kw[0], rel=1e-9)


def test_voltage_band_and_overload_counting():
    feeder = load_feeder("kerber-dorfnetz")
    nodes = feeder.connection_nodes
    solver = FeederSolver(feeder, nodes, voltage_band=(0.95, 1.05))
    quiet = solver.solve(np.zeros(nodes.size), np.zeros(nodes.size))
    assert quiet.violations[0] == 0 and quiet.overloads[0] == 0
    assert quiet.losses_kw[0] == pytest.approx(0.95, rel=1e-3)  # the transformer's iron losses (pfe 0.95 kW)
    heavy = solver.solve(np.full(nodes.size, 12.0), np.full(nodes.size, 3.0))  # 684 kW on a 400 kVA transformer
    assert heavy.violations[0] > 0 and heavy.v_min[0] < 0.95
    assert heavy.overloads[0] >= 1 and heavy.trafo_loading.max() > 1.0
    lv = np.isin(feeder.node_ids, feeder.lv_nodes)
    assert heavy.violations[0] == int((heavy.node_u_pu[0][lv] < 0.95).sum() + (heavy.node_u_pu[0][lv] > 1.05).sum())


def test_simbench_lv_grid_matches_pandapower():
    feeder = load_feeder("simbench:1-LV-rural1--0-sw")
    nodes = feeder.connection_nodes
    rng = np.random.default_rng(11)
    p_kw = rng.uniform(-5.0, 7.0, (5, nodes.size))
    ours = FeederSolver(feeder, nodes).solve_batch(p_kw, np.zeros_like(p_kw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = simbench.get_simbench_net("1-LV-rural1--0-sw")
    for table in ("load", "sgen", "storage"):
        getattr(net, table).drop(getattr(net, table).index, inplace=True)
    for node in nodes:
        pp.create_load(net, int(node), p_mw=0.0, q_mvar=0.0)
    for k in range(5):
        net.load["p_mw"] = p_kw[k] / 1e3
        pp.runpp(net, trafo_model="pi", tolerance_mva=1e-10, max_iteration=30)
        vm = net.res_bus["vm_pu"].reindex(feeder.node_ids).to_numpy()
        assert np.abs(vm - ours.node_u_pu[k]).max() <= 1e-6
        losses = (net.res_line["pl_mw"].sum() + net.res_trafo["pl_mw"].sum()) * 1e3
        assert ours.losses_kw[k] == pytest.approx(losses, rel=1e-6)
