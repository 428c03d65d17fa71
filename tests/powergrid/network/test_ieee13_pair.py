"""Controllable IEEE 13 (regulator taps, capacitors, sections) and the two-microgrid feeder ``ieee13-pair``."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from power_grid_model import BranchSide, PowerGridModel, initialize_array

from powergrid.errors import DataError
from powergrid.network.feeders import feeder_names, load_feeder
from powergrid.network.ieee13 import OPENDSS_TAPS, PUBLISHED_TAPS, REGULATOR_STEP, build_ieee13, regulator_step
from powergrid.network.ieee13_results import solve_asym
from powergrid.network.model import AGENT_ID_BASE
from powergrid.network.powerflow import FeederSolver, NetworkError
from powergrid.network.tie import COMMON_NODE_NAME, PAIR_ID_STRIDE

BUSES = ("671", "675", "680", "632")  # where a microgrid's devices may attach (all three-phase)


@pytest.fixture(scope="module")
def single():
    return load_feeder("ieee13")


@pytest.fixture(scope="module")
def pair():
    return load_feeder("ieee13-pair")


def _node(feeder, name: str) -> int:
    return feeder.node_ids[feeder.node_names.index(name)].item()


def _pair_solver(pair, **kw) -> FeederSolver:
    """One agent on every phase of bus 675 in each microgrid (6 agents: MG1 a, b, c, then MG2 a, b, c)."""
    nodes = np.repeat([_node(pair, "MG1.675"), _node(pair, "MG2.675")], 3)
    return FeederSolver(pair, nodes, np.tile([0, 1, 2], 2), **kw)


def _fixed_ratio(feeder):
    """The same feeder with each tap changer's position baked into u2 (the model before tap changers)."""
    data = dict(feeder.input_data)
    t = data["transformer"] = data["transformer"].copy()
    t["u2"] = t["u2"] + (t["tap_pos"] - t["tap_nom"]) * t["tap_size"]
    for key in ("tap_pos", "tap_min", "tap_max", "tap_nom", "tap_size"):
        t[key] = 0
    return dataclasses.replace(feeder, input_data=data, regulators=(np.zeros(0, np.int32),))


# ------------------------------------------------------------------------------------- regulator taps (IEEE 13)


def test_regulators_are_32_step_tap_changers_at_the_published_taps(single):
    t = single.input_data["transformer"]
    rows = np.flatnonzero(np.isin(t["id"], single.regulators[0]))
    assert rows.size == 3 and single.n_sections == 1
    reg = t[rows]
    assert (reg["tap_side"] == BranchSide.to_side).all()
    assert (reg["tap_min"] == -16).all() and (reg["tap_max"] == 16).all() and (reg["tap_nom"] == 0).all()
    np.testing.assert_allclose(reg["tap_size"], REGULATOR_STEP * reg["u2"])
    assert reg["tap_pos"].tolist() == [10, 8, 11]  # PUBLISHED_TAPS, phases a, b, c
    assert [regulator_step(r) for r in PUBLISHED_TAPS] == [10, 8, 11]
    assert [regulator_step(r) for r in OPENDSS_TAPS] == [9, 6, 9]
    others = np.delete(np.arange(len(t)), rows)
    assert (t["tap_min"][others] == 0).all() and (t["tap_max"][others] == 0).all()
    # sections: everything but the source node; the capacitors: Cap1 (shunt) and Cap2 (asym_gen)
    assert single.sections[single.node_ids == single.source_node].tolist() == [-1]
    assert (np.delete(single.sections, np.flatnonzero(single.node_ids == single.source_node)) == 0).all()
    caps = set(single.capacitors[0].tolist())
    assert caps == set(single.input_data["shunt"]["id"].tolist()) | set(single.input_data["asym_gen"]["id"].tolist())


def test_an_off_step_ratio_stays_a_fixed_ratio():
    f = build_ieee13((1.0625, 1.003, 1.06875))
    t = f.input_data["transformer"]
    assert f.regulators[0].size == 2
    off = t[~np.isin(t["id"], f.regulators[0]) & (t["u1"] == t["u1"][np.isin(t["id"], f.regulators[0])][0])]
    assert off.size == 1 and off["tap_max"][0] == 0 and off["tap_size"][0] == 0
    assert off["u2"][0] == pytest.approx(2400 * np.sqrt(3) * 1.003)
    with pytest.raises(DataError, match="regulator_taps"):
        build_ieee13((1.0, 1.6, 1.0))


@pytest.mark.parametrize("taps", [None, OPENDSS_TAPS])
def test_tap_changers_reproduce_the_fixed_ratio_model_exactly(taps):
    f = build_ieee13(taps)
    ours = solve_asym(f)
    before = solve_asym(_fixed_ratio(f))
    np.testing.assert_allclose(ours["node"]["u_pu"], before["node"]["u_pu"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours["asym_load"]["p"], before["asym_load"]["p"], rtol=1e-12, atol=1e-6)


def test_power_grid_model_sign_convention_raising_tap_pos_raises_the_regulated_voltage(single):
    """Checked on power-grid-model directly: +1 step of a to-side tap changer → +0.625 % at RG60 (no load)."""
    f = build_ieee13(include_loads=False)
    model = PowerGridModel(f.input_data)
    upd = initialize_array("update", "transformer", (3, 3))
    upd["id"] = f.regulators[0]
    upd["tap_pos"] = np.array([[0], [1], [2]])
    u = model.calculate_power_flow(symmetric=False, update_data={"transformer": upd})["node"]["u_pu"]
    rg60 = f.node_names.index("RG60")
    step = np.diff(u[:, rg60, :], axis=0)
    assert (step > 0).all()
    np.testing.assert_allclose(step, REGULATOR_STEP, rtol=0.02)


def test_taps_raise_and_lower_voltages_monotonically(single):
    solver = FeederSolver(single, np.array([_node(single, "675")]), np.array([0]))
    steps = np.arange(-16, 17)[:, None]
    zero = np.zeros((steps.size, 1))
    flow = solver.solve_batch(zero, zero, tap_pos=steps)
    lv = np.isin(single.node_ids, single.lv_nodes) & (single.node_ids != _node(single, "650"))  # 650: upstream
    assert (np.diff(flow.node_u_pu[:, lv], axis=0) > 0).all()
    assert (np.diff(flow.section_v_max[:, 0]) > 0).all() and (np.diff(flow.section_v_min[:, 0]) >= 0).all()
    assert flow.converged.all()


def test_default_taps_give_todays_single_feeder_result(single):
    """The solver with tap_pos=None (published taps), with explicit taps reset, and the fixed-ratio model agree."""
    nodes, phases = np.array([_node(single, "675"), _node(single, "611")]), np.array([0, 2])
    p, q = np.array([[120.0, -40.0]]), np.array([[30.0, 0.0]])
    ours = FeederSolver(single, nodes, phases)
    before = FeederSolver(_fixed_ratio(single), nodes, phases).solve_batch(p, q)
    a = ours.solve(p[0], q[0])
    ours.solve(p[0], q[0], tap_pos=np.array([3]))  # changes the model in place …
    b = ours.solve(p[0], q[0])  # … and None puts the published taps back
    for flow in (a, b, ours.solve_batch(p, q)):
        np.testing.assert_allclose(flow.node_u_pu, before.node_u_pu, rtol=0, atol=1e-12)
        np.testing.assert_allclose(flow.head_kw, before.head_kw, rtol=1e-12)


def test_tap_pos_out_of_range_or_malformed_raises(pair):
    solver = _pair_solver(pair)
    zero = np.zeros((1, 6))
    with pytest.raises(NetworkError, match=r"section 1 .*\[-16, 16\]"):
        solver.solve_batch(zero, zero, tap_pos=np.array([[0, 17]]))
    with pytest.raises(NetworkError, match=r"section 0 .*\[-16, 16\]"):
        solver.solve(zero[0], zero[0], tap_pos=np.array([-17, 0]))
    with pytest.raises(NetworkError, match="whole tap steps"):
        solver.solve_batch(zero, zero, tap_pos=np.array([[0.5, 0.0]]))
    with pytest.raises(NetworkError, match=r"shape \(B, S\) = \(1, 2\)"):
        solver.solve_batch(zero, zero, tap_pos=np.array([[1, 2, 3]]))
    with pytest.raises(NetworkError, match="background_scale"):
        solver.solve_batch(zero, zero, background_scale=np.ones((1, 3)))
    with pytest.raises(NetworkError, match="not finite"):
        solver.solve_batch(zero, zero, background_scale=np.array([[np.nan, 1.0]]))
    with pytest.raises(NetworkError, match="capacitor_on"):
        solver.solve_batch(zero, zero, capacitor_on=np.array([[2, 0]]))
    flow = solver.solve(zero[0], zero[0])  # nothing was applied by the failed calls
    assert flow.converged.all()


def test_capacitors_off_lower_voltages(single, pair):
    solver = FeederSolver(single, np.array([_node(single, "675")]), np.array([0]))
    zero = np.zeros((2, 1))
    flow = solver.solve_batch(zero, zero, capacitor_on=np.array([[True], [False]]))
    lv = np.isin(single.node_ids, single.lv_nodes)
    drop = flow.node_u_pu[0, lv] - flow.node_u_pu[1, lv]
    assert (drop > -1e-9).all() and drop.max() > 0.01  # 700 kvar less: up to ~2 % at 675
    assert flow.section_v_min[1, 0] < flow.section_v_min[0, 0]
    # in the pair, switching MG2's capacitors off lowers MG2 and barely touches MG1 (shared source only)
    ps = _pair_solver(pair)
    z = np.zeros((2, 6))
    f2 = ps.solve_batch(z, z, capacitor_on=np.array([[True, True], [True, False]]))
    assert f2.section_v_min[1, 1] < f2.section_v_min[0, 1] - 0.01
    assert abs(f2.section_v_min[1, 0] - f2.section_v_min[0, 0]) < 1e-4


def test_light_load_tap_rule(single, pair):
    """At 30 % load the published (peak) taps push LV buses above 1.05 pu; a lower gang tap step brings every
    LV bus into [0.95, 1.05] (searched over all 33 steps in one batch)."""
    solver = FeederSolver(single, np.array([_node(single, "675")]), np.array([0]))
    one = np.zeros((1, 1))
    published = solver.solve_batch(one, one, np.array([0.3]))
    assert published.v_max[0] > 1.05 and published.violations[0] > 0
    steps = np.arange(-16, 17)
    zero = np.zeros((steps.size, 1))
    flow = solver.solve_batch(zero, zero, np.full(steps.size, 0.3), steps[:, None])
    good = steps[flow.violations == 0]
    assert good.size and good.max() < min(regulator_step(t) for t in PUBLISHED_TAPS)
    assert (flow.v_min[flow.violations == 0] >= 0.95).all() and (flow.v_max[flow.violations == 0] <= 1.05).all()
    # the pair: each section at its own load, one tap step per section (MG1 at 30 %, MG2 at peak)
    ps = _pair_solver(pair)
    z = np.zeros((steps.size, 6))
    scale = np.tile([0.3, 1.0], (steps.size, 1))
    sweep = ps.solve_batch(z, z, scale, np.stack([steps, np.full(steps.size, 8)], axis=1))
    assert (sweep.section_violations[:, 0] == 0).any()
    assert sweep.section_violations[steps == 10, 0][0] > 0


# --------------------------------------------------------------------------------------------- the pair feeder


def test_pair_structure(single, pair):
    assert "ieee13-pair" in feeder_names() and pair.name == "ieee13-pair" and not pair.symmetric
    data = pair.input_data
    ids = np.concatenate([a["id"] for a in data.values()])
    assert len(np.unique(ids)) == len(ids) and ids.max() < AGENT_ID_BASE
    assert len(data["source"]) == 1
    common = _node(pair, COMMON_NODE_NAME)
    assert pair.source_node == common and data["node"]["u_rated"][pair.node_ids == common][0] == 115e3
    link = data["link"]
    assert link["from_node"].tolist() == [common, common]
    assert link["to_node"].tolist() == [_node(pair, "MG1.SourceBus"), _node(pair, "MG2.SourceBus")]
    n = single.node_ids.size
    assert pair.node_names[:n] == tuple(f"MG1.{x}" for x in single.node_names)
    assert pair.node_names[n : 2 * n] == tuple(f"MG2.{x}" for x in single.node_names)
    np.testing.assert_array_equal(pair.node_ids[:n], single.node_ids)
    np.testing.assert_array_equal(pair.node_ids[n : 2 * n], single.node_ids + PAIR_ID_STRIDE)
    assert pair.sections.tolist() == [0] * n + [1] * n + [-1] and pair.n_sections == 2
    for k in range(2):
        np.testing.assert_array_equal(pair.regulators[k], single.regulators[0] + k * PAIR_ID_STRIDE)
        np.testing.assert_array_equal(pair.capacitors[k], single.capacitors[0] + k * PAIR_ID_STRIDE)
    conn = np.concatenate([single.connection_nodes, single.connection_nodes + PAIR_ID_STRIDE])
    np.testing.assert_array_equal(pair.connection_nodes, conn)
    assert pair.connection_phases == single.connection_phases * 2
    assert pair.lv_nodes.size == 2 * single.lv_nodes.size and common not in pair.lv_nodes
    assert pair.phase_mask.shape == (2 * n + 1, 3)
    for bus in BUSES:  # the agent buses of the multi-microgrid environment, three-phase in both sections
        assert _node(pair, f"MG2.{bus}") == _node(pair, f"MG1.{bus}") + PAIR_ID_STRIDE
        assert pair.phase_mask[pair.node_names.index(f"MG1.{bus}")].all()
    loads = data["asym_load"]
    sec = pair.sections[np.searchsorted(pair.node_ids, loads["node"])]
    for k in range(2):
        assert loads["p_specified"][sec == k].sum() / 1e3 == pytest.approx(3466.3, abs=0.1)
        assert loads["q_specified"][sec == k].sum() / 1e3 == pytest.approx(2102.2, abs=0.1)


def test_pair_with_an_empty_second_microgrid_matches_the_single_feeder(single, pair):
    """Section 0 of the pair with section 1 unloaded = the single feeder. With MG2's capacitors off the only
    coupling is MG2's line charging (and no-load) current through the shared 20 GVA source: < 1e-7 pu. With them
    on, MG2 injects ~700 kvar through the source impedance and lifts the common bus by ~700 kvar / 20 GVA ≈ 4e-5
    pu, seen everywhere in MG1 (× the regulator ratio): < 1e-4 pu."""
    ref = FeederSolver(single, np.array([_node(single, "675")])).solve_batch(np.zeros((1, 1)), np.zeros((1, 1)))
    solver = _pair_solver(pair)
    z = np.zeros((2, 6))
    flow = solver.solve_batch(z, z, np.array([[1.0, 0.0], [1.0, 0.0]]), capacitor_on=np.array([[1, 0], [1, 1]]))
    mg1 = pair.sections == 0
    diff = np.abs(flow.node_u_pu[:, mg1] - ref.node_u_pu[:, : mg1.sum()])
    assert diff[0].max() < 1e-7
    assert 1e-6 < diff[1].max() < 1e-4
    assert flow.section_head_kw[0, 0] == pytest.approx(ref.head_kw[0], rel=1e-6)
    assert flow.section_v_min[0, 0] == pytest.approx(ref.v_min[0], abs=1e-7)
    assert abs(flow.section_head_kw[0, 1]) < 1e-3 and flow.section_losses_kw[0, 1] < 1e-3


def test_pair_kirchhoff_and_section_flows(pair):
    rng = np.random.default_rng(7)
    b = 12
    p, q = rng.normal(0, 150, (b, 6)), rng.normal(0, 30, (b, 6))
    scale = rng.uniform(0.2, 1.2, (b, 2))
    taps = rng.integers(-4, 12, (b, 2))
    caps = rng.integers(0, 2, (b, 2)).astype(bool)
    flow = _pair_solver(pair).solve_batch(p, q, scale, taps, caps)
    assert flow.converged.all()
    np.testing.assert_allclose(flow.agents_kw, p.sum(axis=1), rtol=1e-9)
    gap = flow.head_kw - flow.agents_kw - flow.background_kw - flow.losses_kw
    assert np.abs(gap).max() < 1e-6 * np.abs(flow.head_kw).max()  # W-level on MW flows
    np.testing.assert_allclose(flow.section_head_kw.sum(axis=1), flow.head_kw, rtol=1e-12)
    links = flow.losses_kw - flow.section_losses_kw.sum(axis=1)  # only the two links are outside the sections
    assert np.abs(links).max() < 1e-3
    assert (flow.section_losses_kw > 0).all()
    assert flow.section_violations.sum(axis=1).tolist() == flow.violations.tolist()
    np.testing.assert_array_equal(flow.section_v_min.min(axis=1), flow.v_min)
    np.testing.assert_array_equal(flow.section_v_max.max(axis=1), flow.v_max)


def test_background_scale_reaches_every_own_load(single, pair):
    """All IEEE 13 loads (constant P, Z and I) follow the scale; at 0 only the capacitors' (reactive) shunts and
    no active background are left; (B,) = (B, S) with equal columns."""
    solver = FeederSolver(single, np.array([_node(single, "675")]))
    one = np.zeros((3, 1))
    flow = solver.solve_batch(one, one, np.array([0.0, 0.5, 1.0]))
    assert abs(flow.background_kw[0]) < 1e-6
    assert flow.background_kw[1] == pytest.approx(0.5 * flow.background_kw[2], rel=0.05)
    gap = flow.head_kw - flow.agents_kw - flow.background_kw - flow.losses_kw
    assert np.abs(gap).max() < 1e-6 * flow.head_kw.max()
    ps = _pair_solver(pair)
    z = np.zeros((2, 6))
    a = ps.solve_batch(z, z, np.array([0.6, 0.6]))
    b = ps.solve_batch(z, z, np.full((2, 2), 0.6))
    np.testing.assert_array_equal(a.node_u_pu, b.node_u_pu)
    c = ps.solve_batch(z, z, np.array([[0.6, 0.0], [0.0, 0.6]]))
    assert c.section_head_kw[0, 0] == pytest.approx(c.section_head_kw[1, 1], rel=1e-4)


def test_solve_equals_solve_batch_row_by_row(pair):
    rng = np.random.default_rng(3)
    b = 8
    p, q = rng.normal(0, 200, (b, 6)), rng.normal(0, 40, (b, 6))
    scale = rng.uniform(0.2, 1.0, (b, 2))
    taps = rng.integers(-16, 17, (b, 2))
    caps = rng.integers(0, 2, (b, 2)).astype(bool)
    solver = _pair_solver(pair)
    batch = solver.solve_batch(p, q, scale, taps, caps)
    for k in range(b):
        row = solver.solve(p[k], q[k], scale[k], taps[k], caps[k])
        for field in dataclasses.fields(batch):
            got, want = getattr(row, field.name)[0], getattr(batch, field.name)[k]
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=f"{field.name}, row {k}")
    # None = as built, even after solve() changed the model
    built = solver.solve_batch(p[:1], q[:1])
    again = solver.solve(p[0], q[0])
    np.testing.assert_allclose(again.node_u_pu, built.node_u_pu, rtol=0, atol=1e-12)


def test_unsectioned_feeders_report_empty_section_arrays():
    feeder = load_feeder("cigre-lv")
    assert feeder.n_sections == 0 and feeder.sections is None
    solver = FeederSolver(feeder, feeder.connection_nodes[:3])
    flow = solver.solve_batch(np.ones((2, 3)), np.zeros((2, 3)), np.ones(2))
    for name in ("section_v_min", "section_v_max", "section_violations", "section_head_kw", "section_losses_kw"):
        assert getattr(flow, name).shape == (2, 0), name
    with pytest.raises(NetworkError, match="tap_pos"):
        solver.solve_batch(np.ones((2, 3)), np.zeros((2, 3)), tap_pos=np.zeros((2, 1), int))


def test_feeder_validates_its_sections(single):
    with pytest.raises(DataError, match="sections"):
        dataclasses.replace(single, sections=np.zeros(3, np.int32))
    with pytest.raises(DataError, match="regulators has 2 entries for 1 sections"):
        dataclasses.replace(single, regulators=(single.regulators[0], single.regulators[0]))


def test_solve_speed_on_the_pair(pair):
    """One solve per step with two agents (the multi-microgrid environment), and a batch of 64 (printed)."""
    nodes = np.array([_node(pair, "MG1.675"), _node(pair, "MG2.675")])
    rng = np.random.default_rng(0)
    lines = []
    for method in ("newton_raphson", "iterative_current"):
        solver = FeederSolver(pair, nodes, np.array([0, 0]), method=method)
        p, scale = rng.normal(0, 200, (2000, 2)), rng.uniform(0.3, 1.0, (2000, 2))
        taps, caps, q = np.array([8, 6]), np.array([True, True]), np.zeros(2)
        times = []
        for k in range(2000):
            t0 = time.perf_counter()
            solver.solve(p[k], q, scale[k], taps, caps)
            times.append(time.perf_counter() - t0)
        b = 64
        t0 = time.perf_counter()
        flow = solver.solve_batch(p[:b], np.zeros((b, 2)), scale[:b], np.tile(taps, (b, 1)), np.ones((b, 2), bool))
        batch = time.perf_counter() - t0
        assert flow.converged.all()
        lines.append(f"{method}: solve median {np.median(times) * 1e3:.3f} ms, solve_batch(B=64) {batch * 1e3:.1f} ms")
        assert np.median(times) < 0.02  # a gross-regression guard only; the numbers are printed
    print("\nieee13-pair, 2 agents: " + "; ".join(lines))


def test_a_balanced_three_phase_agent_is_three_single_phase_thirds(pair):
    """agent_phases −1: one agent per microgrid (the environment's N = 2) with its power split over a, b, c."""
    nodes = np.array([_node(pair, "MG1.671"), _node(pair, "MG2.680")])
    two = FeederSolver(pair, nodes, np.array([-1, -1]))
    six = FeederSolver(pair, np.repeat(nodes, 3), np.tile([0, 1, 2], 2))
    p, q = np.array([[-300.0, 450.0]]), np.array([[60.0, -30.0]])
    a = two.solve_batch(p, q, np.array([[0.5, 0.9]]))
    b = six.solve_batch(np.repeat(p / 3, 3, axis=1), np.repeat(q / 3, 3, axis=1), np.array([[0.5, 0.9]]))
    np.testing.assert_allclose(a.node_u_pu, b.node_u_pu, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.agent_u_pu, b.agent_u_pu.reshape(1, 2, 3).min(axis=-1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.agents_kw, p.sum(axis=1), rtol=1e-9)
    with pytest.raises(NetworkError, match="three-phase bus"):
        FeederSolver(pair, np.array([_node(pair, "MG1.611")]), np.array([-1]))


def test_iterative_current_gives_the_newton_raphson_solution(pair):
    rng = np.random.default_rng(11)
    b = 6
    p, q = rng.normal(0, 300, (b, 6)), rng.normal(0, 50, (b, 6))
    args = (rng.uniform(0.2, 1.2, (b, 2)), rng.integers(-16, 17, (b, 2)), rng.integers(0, 2, (b, 2)).astype(bool))
    nr = _pair_solver(pair).solve_batch(p, q, *args)
    ic = _pair_solver(pair, method="iterative_current").solve_batch(p, q, *args)
    np.testing.assert_allclose(ic.node_u_pu, nr.node_u_pu, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ic.section_head_kw, nr.section_head_kw, rtol=1e-7)
    with pytest.raises(NetworkError, match="unknown power-flow method"):
        _pair_solver(pair, method="gauss")
