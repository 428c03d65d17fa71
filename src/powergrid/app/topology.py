"""Where the network view draws things: households around the grid connection (copper-plate communities), or the
feeder's buses as a tree from the source with each household beside its bus.

Coordinates are abstract (no geodata needed): deterministic for a scenario, so the picture never jumps.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from powergrid.network.feeders import load_feeder


@dataclass(frozen=True)
class Topology:
    """Positions: the grid connection, each household (N, 2), and the feeder's buses and branches (if any)."""

    grid_xy: tuple[float, float]
    agent_xy: np.ndarray  # (N, 2)
    bus_xy: np.ndarray  # (n_buses, 2); empty for a community without a feeder
    branches: np.ndarray  # (n_branches, 4): x0, y0, x1, y1
    title: str
    agent_group: np.ndarray | None = None  # (N,) the bus index of each household (feeders); None on a copper plate

    def groups(self, max_markers: int) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """How to aggregate a crowded picture: None when every household can have its own marker (N ≤
        ``max_markers``); else (group of each agent (N,), group positions (G, 2), group labels) — households at one
        bus on a feeder, or consecutive households in ``max_markers`` sectors of the circle on a copper plate."""
        n = len(self.agent_xy)
        if n <= max_markers:
            return None
        if self.agent_group is not None:
            buses, group = np.unique(self.agent_group, return_inverse=True)
            xy = self.bus_xy[buses] + np.array([0.45, 0.0])
            labels = [f"bus {int(b)}" for b in buses]
        else:
            group = np.arange(n) * max_markers // n
            xy = np.stack([self.agent_xy[group == g].mean(axis=0) for g in range(max_markers)])
            labels = [f"sector {g + 1}" for g in range(max_markers)]
        return group, xy, labels


def community_topology(n_agents: int, name: str) -> Topology:
    """Households on a circle around the grid connection; a straight line from each to it."""
    angle = 2 * np.pi * np.arange(n_agents) / max(n_agents, 1) + np.pi / 2
    xy = np.column_stack([np.cos(angle), np.sin(angle)])
    branches = np.column_stack([np.zeros(n_agents), np.zeros(n_agents), xy[:, 0], xy[:, 1]])
    return Topology((0.0, 0.0), xy, np.zeros((0, 2)), branches, f"{name}: community (copper plate)")


def feeder_topology(feeder: str, agent_nodes: np.ndarray, title: str) -> Topology:
    """A feeder (library name) as a tree (x = hops from the source, y = leaf order); households beside their bus
    (``agent_nodes``: each agent's node id, as recorded in the run's ``agents.parquet``)."""
    data = load_feeder(feeder).input_data
    node_ids = data["node"]["id"]
    index = {int(n): i for i, n in enumerate(node_ids)}
    edges = []
    for component in data.values():
        names = component.dtype.names or ()
        if "from_node" in names and "to_node" in names:
            edges += [
                (index[int(a)], index[int(b)])
                for a, b in zip(component["from_node"], component["to_node"], strict=False)
            ]
    root = index[int(data["source"]["node"][0])]
    xy = _tree_layout(len(node_ids), edges, root)
    agent_bus = np.array([index[int(n)] for n in agent_nodes])
    agent_xy = xy[agent_bus].copy()
    # households at one bus fan out to its right, one below the other
    for bus in np.unique(agent_bus):
        members = np.flatnonzero(agent_bus == bus)
        agent_xy[members, 0] += 0.45
        agent_xy[members, 1] += (np.arange(members.size) - (members.size - 1) / 2) * 0.35
    branches = np.array([(*xy[a], *xy[b]) for a, b in edges]).reshape(-1, 4)
    households = np.column_stack([xy[agent_bus], agent_xy])
    return Topology(tuple(xy[root]), agent_xy, xy, np.vstack([branches, households]), title, agent_bus)


def _tree_layout(n: int, edges: list[tuple[int, int]], root: int) -> np.ndarray:
    """Breadth-first tree from ``root``: x = depth; leaves get consecutive y, a parent the mean of its children."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    parent = np.full(n, -1)
    depth = np.zeros(n)
    order, seen, queue = [], {root}, deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for nxt in sorted(neighbours[node]):
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt], depth[nxt] = node, depth[node] + 1
                queue.append(nxt)
    children: list[list[int]] = [[] for _ in range(n)]
    for node in order[1:]:
        children[parent[node]].append(node)
    y = np.zeros(n)
    next_leaf = 0.0

    stack = [(root, False)]
    while stack:  # iterative post-order (feeders can be deeper than Python's recursion limit)
        node, done = stack.pop()
        if done or not children[node]:
            if children[node]:
                y[node] = np.mean(y[children[node]])
            else:
                y[node], next_leaf = next_leaf, next_leaf + 1.0
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(children[node]))
    unreached = [i for i in range(n) if i not in seen]  # isolated buses (open switches): a column of their own
    depth[unreached] = -1.0
    y[unreached] = np.arange(len(unreached), dtype=float)
    return np.column_stack([depth, -y])
