from __future__ import annotations

import numpy as np

from powergrid.app.topology import _tree_layout, community_topology, feeder_topology


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
    # leaves in order
    assert xy[2, 1] == 0.0
    assert xy[4, 1] == -1.0
    assert xy[1, 1] == xy[0, 1] == np.mean([xy[2, 1], xy[3, 1]])
    assert xy[5, 0] == -1.0


def test_feeder_households_sit_beside_their_bus_deterministically():
    nodes = np.array([2, 12, 16, 17, 18, 12, 19, 3])  # as a run's agents.parquet records them (two share bus 12)
    a, b = feeder_topology("cigre-lv", nodes, "t"), feeder_topology("cigre-lv", nodes, "t")
    np.testing.assert_array_equal(a.agent_xy, b.agent_xy)
    assert a.bus_xy.shape[0] == 41
    assert a.grid_xy == tuple(a.bus_xy[np.argmin(a.bus_xy[:, 0])])
    # each household is linked to a bus 0.45 to its left
    links = a.branches[-8:]
    np.testing.assert_allclose(links[:, 2] - links[:, 0], 0.45)
    np.testing.assert_allclose(links[:, 2:], a.agent_xy)


def test_the_run_directory_records_where_each_household_is(tmp_path):
    import pandas as pd

    from powergrid.runner.compare import write_comparison
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community
    from scenario_factory import tiny_dict

    raw = tiny_dict(network={"feeder": "cigre-lv"})
    raw["time"]["n_steps"] = 2
    spec = load_scenario(raw)
    write_comparison(spec, ["grid-only"], tmp_path / "run", single=True)
    facts = pd.read_parquet(tmp_path / "run" / "agents.parquet")
    placed = build_community(spec).network.agent_nodes
    np.testing.assert_array_equal(facts["bus"].to_numpy(), placed)
    assert list(facts.columns) == ["id", "kind", "bus", "phase", "pv_peak_kw", "battery_kwh", "battery_kw"]
    assert facts["kind"].tolist()[:4] == ["prosumer"] * 4
    assert facts["battery_kwh"].iloc[0] > 0
    import json

    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["feeder"] == "cigre-lv"
    assert run["controller"] == "grid-only"
    assert run["format_version"] >= 2
    assert run["seed"] == spec.seed
    assert run["mechanism"] == spec.market.mechanism
    assert run["package_version"]
