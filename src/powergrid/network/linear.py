"""The linearised feeder (LinDistFlow) for optimisers: voltages and branch flows linear in the agents' power.

Baran & Wu (1989), "Network reconfiguration in distribution systems for loss reduction and load balancing",
IEEE Trans. Power Delivery 4(2), in its linear form (losses neglected, voltages near 1 pu): on a radial feeder
the active power through branch k is the sum of the consumption below it, ``P_k = Σ_{i below k} p_i``, and the
voltage falls along each branch by ``(r_k P_k + x_k Q_k) / U_k²`` (per unit, three-phase power in W, ``U_k`` the
rated line-to-line voltage at the branch's far end, transformer impedance referred to its low-voltage side). The
operating point is the feeder with no agent power (``u0``: one power-grid-model flow, so the source's set-point,
the tap and the feeder's own loads are in it). Balanced (symmetric) feeders only.

Shapes: N agents, B branches of the tree from the source, M nodes. Powers in kW/kvar, voltages in pu.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from power_grid_model import ComponentType

from powergrid.errors import ScenarioError
from powergrid.network.powerflow import tree_parents
from powergrid.network.setup import NetworkSetup


@dataclass(frozen=True)
class LinearFeeder:
    """LinDistFlow data of a feeder with its agents connected (module docstring).

    Attributes:
        u0: (M,) voltage at every node with no agent power (pu).
        parent: (B,) index of each branch's upstream node; child: (B,) its downstream node.
        r_per_kw, x_per_kvar: (B,) voltage drop (pu) per kW / kvar through the branch.
        rating_kw: (B,) the branch's rating as active power at rated voltage (kW; √3·U·I_n for lines, S_n for
            transformers).
        below: (B, N) 1 where agent i is downstream of branch k (P = below @ p).
        path: (M, B) 1 where branch k lies between the source and node j (u = u0 − path @ drop).
        agent_node: (N,) index of each agent's node.
        lv: (M,) the nodes whose voltage counts for the band; band: (min, max) pu.
        source: index of the source node.
    """

    u0: np.ndarray
    parent: np.ndarray
    child: np.ndarray
    r_per_kw: np.ndarray
    x_per_kvar: np.ndarray
    rating_kw: np.ndarray
    below: np.ndarray
    path: np.ndarray
    agent_node: np.ndarray
    lv: np.ndarray
    band: tuple[float, float]
    source: int

    @property
    def n_branches(self) -> int:
        return int(self.parent.size)

    @property
    def n_nodes(self) -> int:
        return int(self.u0.size)

    def flows(self, p_kw: np.ndarray) -> np.ndarray:
        """Active power through each branch (kW, + towards the agents): (..., N) → (..., B)."""
        return np.asarray(p_kw) @ self.below.T

    def voltages(self, p_kw: np.ndarray, q_kvar: np.ndarray) -> np.ndarray:
        """Node voltages (pu) for agent consumption ``p_kw`` and ``q_kvar`` (..., N) → (..., M)."""
        drop = self.flows(p_kw) * self.r_per_kw + self.flows(q_kvar) * self.x_per_kvar  # (..., B)
        return self.u0 - drop @ self.path.T


def linear_feeder(setup: NetworkSetup) -> LinearFeeder:
    """The LinearFeeder of a community's network (raises ScenarioError for an asymmetric feeder)."""
    feeder = setup.feeder
    if not feeder.symmetric:
        raise ScenarioError(
            f"network: the linearised limits of the optimisers need a balanced feeder; {feeder.name!r} is "
            "asymmetric (use network_constraints: ignore, or the operator's check alone)"
        )
    data = feeder.input_data
    node_ids = feeder.node_ids
    index = {int(n): i for i, n in enumerate(node_ids.tolist())}
    u_rated = data["node"]["u_rated"]
    branches = [c for c in (ComponentType.line, ComponentType.transformer) if c in data]
    ends, (parents, order) = tree_parents(data, branches, feeder.source_node)
    r, x, rating = [], [], []
    parent_idx, child_idx = [], []
    for node in order:  # breadth-first from the source
        up, k = parents[node]
        if k < 0:
            continue
        comp, row = ends[k]
        pos = index[node]
        u = float(u_rated[pos])
        if comp == ComponentType.transformer:
            t = data[comp][row]
            z = t["uk"] * u * u / t["sn"]
            rr = t["pk"] * u * u / t["sn"] ** 2
            r_ohm, x_ohm, s_kw = rr, float(np.sqrt(max(z * z - rr * rr, 0.0))), t["sn"] / 1e3
        else:
            line = data[comp][row]
            r_ohm, x_ohm, s_kw = line["r1"], line["x1"], np.sqrt(3.0) * u * line["i_n"] / 1e3
        r.append(r_ohm * 1e3 / (u * u))
        x.append(x_ohm * 1e3 / (u * u))
        rating.append(s_kw)
        parent_idx.append(index[up])
        child_idx.append(pos)
    parent, child = np.array(parent_idx), np.array(child_idx)
    agent_nodes = np.array([index[int(n)] for n in setup.agent_nodes])
    # path[j, k]: branch k lies between the source and node j (walk up from each node); below follows.
    branch_of_child = {int(c): k for k, c in enumerate(child)}
    path = np.zeros((node_ids.size, child.size))
    for j in range(node_ids.size):
        node = j
        while node in branch_of_child:
            k = branch_of_child[node]
            path[j, k] = 1.0
            node = int(parent[k])
    below = path[agent_nodes].T
    solver = setup.solver()
    zero = np.zeros(agent_nodes.size)
    u0 = solver.solve(zero, zero).node_u_pu[0]
    lv = np.isin(node_ids, feeder.lv_nodes)
    return LinearFeeder(
        u0=u0,
        parent=parent,
        child=child,
        r_per_kw=np.array(r),
        x_per_kvar=np.array(x),
        rating_kw=np.array(rating),
        below=below,
        path=path,
        agent_node=agent_nodes,
        lv=lv,
        band=setup.config.voltage_band,
        source=index[feeder.source_node],
    )
