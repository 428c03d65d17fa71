"""The linearised feeder (LinDistFlow) against power-grid-model's AC power flow, and who gets one."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.controllers.community_lp import network_limits
from powergrid.errors import ScenarioError
from powergrid.network.linear import linear_feeder
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from scenario_factory import tiny_dict


@pytest.fixture(scope="module")
def pv_rich():
    return build_community(load_scenario("pv-rich-feeder"))


@pytest.mark.parametrize(("scale", "bound"), [(1.0, 2e-4), (3.0, 1.5e-3), (6.0, 3.5e-3)])
def test_voltages_follow_the_ac_power_flow(pv_rich, scale, bound):
    """Random consumption and injection up to ``scale`` kW per home on the 75-home Dickert feeder: LinDistFlow
    (losses neglected) stays within ``bound`` pu of Newton–Raphson on every LV node."""
    lf = linear_feeder(pv_rich.network)
    rng = np.random.default_rng(0)
    p = rng.uniform(-scale, scale, (20, pv_rich.n_agents))
    q = 0.2 * np.abs(p)
    exact = pv_rich.network.solver().solve_batch(p, q)
    linear = lf.voltages(p, q)
    assert np.abs(linear[:, lf.lv] - exact.node_u_pu[:, lf.lv]).max() < bound
    assert exact.v_min.min() < 1.0 - 0.005 * scale  # the cases reach well into the band


def test_branch_flows_add_up_to_what_the_agents_below_draw(pv_rich):
    lf = linear_feeder(pv_rich.network)
    p = np.arange(pv_rich.n_agents, dtype=float)
    flows = lf.flows(p)
    head = np.flatnonzero(lf.parent == lf.source)
    assert flows[head].sum() == pytest.approx(p.sum())  # everything passes the transformer
    assert (lf.below.sum(axis=0) >= 1).all()  # every agent hangs below at least one branch


def test_only_enforced_balanced_feeders_get_limits():
    ignore = build_community(load_scenario(tiny_dict(network={"feeder": "cigre-lv"})))
    enforce = build_community(
        load_scenario(tiny_dict(network={"feeder": "cigre-lv"}, market={"network_constraints": "enforce"}))
    )
    assert network_limits(ignore) is None
    assert network_limits(enforce) is not None
    unbalanced = build_community(
        load_scenario(tiny_dict(network={"feeder": "ieee13"}, market={"network_constraints": "enforce"}))
    )
    assert network_limits(unbalanced) is None
    with pytest.raises(ScenarioError, match="asymmetric"):
        linear_feeder(unbalanced.network)
