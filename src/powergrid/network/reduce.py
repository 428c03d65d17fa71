"""From power-grid-model output to the feeder's totals: the source tree of a feeder, and precomputed weights that
turn per-branch and per-appliance active powers (W) into head flow, losses, agents' and background power, in
total and per section, with one matrix product per component (no Python loop over branches in a solve).
"""

from __future__ import annotations

import numpy as np
from power_grid_model import ComponentType

from powergrid.errors import DataError
from powergrid.network.model import Feeder

#: Branch components the solver reads, and those without a ``loading`` of the line kind, in the order they come
#: after the lines (transformers, then links: a link has no rating).
BRANCHES = (ComponentType.line, ComponentType.asym_line, ComponentType.transformer, ComponentType.link)
LAST = (ComponentType.transformer, ComponentType.link)
LOADS = (ComponentType.sym_load, ComponentType.asym_load)
GENS = (ComponentType.sym_gen, ComponentType.asym_gen)


def tree_parents(
    data: dict[str, np.ndarray], branches: list, source: int
) -> tuple[list[tuple[ComponentType, int]], tuple[dict[int, tuple[int, int]], list[int]]]:
    """The breadth-first tree of a feeder from ``source`` over its closed branches.

    Returns ``ends``: (component, row) per branch, lines, then transformers, then links (the order of
    ``line_loading``, ``trafo_loading``, links); and (``parent``, ``order``): node id → (parent node id, branch
    index into ``ends``; −1, −1 for the source) and the node ids in breadth-first order."""
    ordered = [c for c in branches if c not in LAST] + [c for c in LAST if c in branches]
    ends = [(c, row) for c in ordered for row in range(len(data[c]))]
    pairs = np.concatenate([np.stack([data[c]["from_node"], data[c]["to_node"]], axis=1) for c in ordered])
    status = np.concatenate([(data[c]["from_status"] != 0) & (data[c]["to_status"] != 0) for c in ordered])
    neighbours: dict[int, list[tuple[int, int]]] = {}
    for k, (a, b) in enumerate(pairs.tolist()):
        if status[k]:
            neighbours.setdefault(a, []).append((b, k))
            neighbours.setdefault(b, []).append((a, k))
    parent: dict[int, tuple[int, int]] = {source: (-1, -1)}
    order = [source]
    head = 0
    while head < len(order):
        node = order[head]
        head += 1
        for other, k in neighbours.get(node, []):
            if other not in parent:
                parent[other] = (node, k)
                order.append(other)
    return ends, (parent, order)


def branch_paths(data: dict[str, np.ndarray], branches: list, source: int, nodes: np.ndarray) -> np.ndarray:
    """(len(nodes), n_branches) booleans: the branches on the path from ``source`` to each node, branches in the
    order of ``branches`` with transformers, then links last (the order of ``line_loading``, ``trafo_loading``)."""
    ends, (parent, _) = tree_parents(data, branches, source)
    paths = np.zeros((len(nodes), len(ends)), dtype=bool)
    for i, node in enumerate(np.asarray(nodes).tolist()):
        while node in parent and parent[node][1] >= 0:
            node, k = parent[node]
            paths[i, k] = True
    return paths


def node_sections(feeder: Feeder, nodes: np.ndarray) -> np.ndarray:
    """Section of each node id in ``nodes`` (−1 = shared, and everywhere on an unsectioned feeder)."""
    ids = feeder.node_ids
    sec = np.full(ids.size, -1) if feeder.sections is None else np.asarray(feeder.sections)
    order = np.argsort(ids)
    return sec[order[np.searchsorted(ids, nodes, sorter=order)]]


def one_hot(columns: np.ndarray, n: int) -> np.ndarray:
    """(len(columns), n) floats: 1 at (i, columns[i]) where columns[i] ≥ 0."""
    out = np.zeros((columns.size, n))
    rows = np.flatnonzero(columns >= 0)
    out[rows, columns[rows]] = 1.0
    return out


class PowerSums:
    """Weights for the active-power sums of a solve (output in W, results in kW).

    Columns of the branch weights: head flow (branches at the source node, measured there: power leaving the
    source node), losses (p_from + p_to of every branch), per-section head flow (at the shared end of each
    branch from a shared node into section s) and per-section losses (branches inside s or crossing into it).
    Appliance weights: background (the feeder's own loads and shunts, minus its own generators; they come first
    in each component) and agents (the last ``n_agents`` entries of ``load_type``).

    Args:
        feeder: the network; ``data``: the model's input (feeder plus the agents' loads).
        branches, appliances: the branch and appliance component types present.
    """

    def __init__(
        self, feeder: Feeder, data: dict, branches: list, appliances: list, load_type: str, n_agents: int
    ) -> None:
        s = self.n_sections = feeder.n_sections
        phases = 1 if feeder.symmetric else 3
        src = feeder.source_node
        self.branch: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for c in branches:
            f, t = node_sections(feeder, data[c]["from_node"]), node_sections(feeder, data[c]["to_node"])
            joins = (f >= 0) & (t >= 0) & (f != t)
            if joins.any():
                k = int(np.argmax(joins))
                raise DataError(f"feeder {feeder.name!r}: {c} id {data[c]['id'][k]} joins sections {f[k]} and {t[k]}")
            inside = one_hot(np.maximum(f, t), s)
            w_from = np.column_stack([data[c]["from_node"] == src, np.ones(f.size)])
            w_to = np.column_stack([data[c]["to_node"] == src, np.ones(f.size)])
            w_from = np.hstack([w_from, one_hot(np.where((f == -1) & (t >= 0), t, -1), s), inside])
            w_to = np.hstack([w_to, one_hot(np.where((t == -1) & (f >= 0), f, -1), s), inside])
            self.branch[c] = (np.repeat(w_from, phases, axis=0), np.repeat(w_to, phases, axis=0))
        self.appliance: dict[str, np.ndarray] = {}
        for c in appliances:
            w = np.zeros((len(data[c]), 2))
            w[: len(feeder.input_data.get(c, ())), 0] = -1.0 if c in GENS else 1.0
            if c == load_type and n_agents:
                w[-n_agents:, 1] = 1.0
            self.appliance[c] = np.repeat(w, phases, axis=0)

    def __call__(self, out: dict) -> tuple[np.ndarray, ...]:
        """(head, losses, agents, background) (B,) and per-section (head, losses) (B, S), all in kW."""
        batch = out[ComponentType.node].shape[0]
        flows = np.zeros((batch, 2 + 2 * self.n_sections))
        for c, (w_from, w_to) in self.branch.items():
            flows += out[c]["p_from"].reshape(batch, -1) @ w_from + out[c]["p_to"].reshape(batch, -1) @ w_to
        power = np.zeros((batch, 2))
        for c, w in self.appliance.items():
            power += out[c]["p"].reshape(batch, -1) @ w
        flows, power = flows / 1e3, power / 1e3
        s = self.n_sections
        return flows[:, 0], flows[:, 1], power[:, 1], power[:, 0], flows[:, 2 : 2 + s], flows[:, 2 + s :]
