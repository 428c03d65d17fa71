from __future__ import annotations

import numpy as np

from powergrid.app.topology import _tree_layout, community_topology, feeder_topology
from powergrid.scenarios import load_scenario
from scenario_factory import tiny_dict


def test_community_households_on_a_circle_around_the_grid():
    topo = community_topology(5, "c")
    assert topo.grid_xy == (0.0, 0.0)
    np.testing.assert_allclose(np.hypot(*topo.agent_xy.T), 1.0)
    assert len({tuple(p) for p in np.round(topo.agent_xy, 9)}) == 5
    assert topo.branches.shape == (5, 4)


def test_tree_layout_depths_and_leaf_order():
    #   0 - 1 - 2
    #        \- 3 - 4      5 unreachable
    xy = _tree_layout(6, [(0, 1), (1, 2), (1, 3), (3, 4)], root=0)
    np.testing.assert_array_equal(xy[:5, 0], [0, 1, 2, 2, 3])
    assert xy[2, 1] == 0.0 and xy[4, 1] == -1.0  # leaves in order
    assert xy[1, 1] == xy[0, 1] == np.mean([xy[2, 1], xy[3, 1]])
    assert xy[5, 0] == -1.0


def test_feeder_households_sit_beside_their_bus_deterministically():
    spec = load_scenario(tiny_dict(network={"feeder": "cigre-lv"}))
    ids = tuple(f"h{i:03d}" for i in range(8))
    a, b = feeder_topology(spec, ids), feeder_topology(spec, ids)
    np.testing.assert_array_equal(a.agent_xy, b.agent_xy)
    assert a.bus_xy.shape[0] == 41 and a.grid_xy == tuple(a.bus_xy[np.argmin(a.bus_xy[:, 0])])
    # each household is linked to a bus 0.45 to its left
    links = a.branches[-8:]
    np.testing.assert_allclose(links[:, 2] - links[:, 0], 0.45)
    np.testing.assert_allclose(links[:, 2:], a.agent_xy)
