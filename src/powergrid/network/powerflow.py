"""AC power flow of a feeder with one load per agent, with power-grid-model.

The model is built once; each solve only updates the agents' loads (``update`` data). ``solve`` handles one
step, ``solve_batch`` many steps or environments in one call. Symmetric feeders use a balanced ``sym_load`` per
agent; asymmetric ones an ``asym_load`` with the agent's power on its phase.

Non-convergence of Newton–Raphson is never a silent zero: the solve is repeated with power-grid-model's linear
method (loads as constant impedances at nominal voltage — an approximation), the result is flagged
``converged=False`` and counted by the caller; if that fails too, a NetworkError names the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from power_grid_model import CalculationMethod, ComponentType, LoadGenType, PowerGridModel, initialize_array
from power_grid_model.errors import PowerGridError

from powergrid.errors import HeronGridError
from powergrid.network.model import AGENT_ID_BASE, Feeder


class NetworkError(HeronGridError):
    """A power flow could not be solved at all."""


@dataclass(frozen=True)
class FlowResult:
    """Power-flow outcome; arrays have a leading batch axis B (1 for ``solve``).

    head_kw: active power into the feeder at the source node (+ import from the upstream grid).
    losses_kw: Σ of line and transformer losses.
    agents_kw: Σ of the agents' load power as solved (equals the request when converged; differs under the
        linear fallback, which treats loads as constant impedances).
    background_kw: Σ of the feeder's own loads and shunts minus its own generation, as solved (0 for LV feeders
        whose households are all agents). Kirchhoff: head = agents + background + losses.
    node_u_pu: voltage magnitude per node (B, n_nodes) (asymmetric feeders: the lowest phase present there).
    agent_u_pu: voltage at each agent's connection, on its own phase for asymmetric feeders (B, N).
    v_min, v_max: over the low-voltage nodes (B,); violations: count of LV nodes outside the band (B,).
    line_loading, trafo_loading: (B, n) fraction of rating; overloads: count of branches above 100 % (B,).
    agent_path_loading: (B, N) the highest loading among the branches between the source and each agent's bus
        (the breadth-first tree from the source: LV feeders are radial).
    converged: False where the linear fallback was used (B,).
    """

    head_kw: np.ndarray
    losses_kw: np.ndarray
    agents_kw: np.ndarray
    background_kw: np.ndarray
    node_u_pu: np.ndarray
    agent_u_pu: np.ndarray
    v_min: np.ndarray
    v_max: np.ndarray
    violations: np.ndarray
    line_loading: np.ndarray
    trafo_loading: np.ndarray
    overloads: np.ndarray
    converged: np.ndarray
    agent_path_loading: np.ndarray


def tree_parents(
    data: dict[str, np.ndarray], branches: list, source: int
) -> tuple[list[tuple[ComponentType, int]], tuple[dict[int, tuple[int, int]], list[int]]]:
    """The breadth-first tree of a feeder from ``source`` over its closed branches.

    Returns ``ends``: (component, row) per branch, lines before transformers (the order of ``line_loading`` then
    ``trafo_loading``); and (``parent``, ``order``): node id → (parent node id, branch index into ``ends``; −1, −1
    for the source) and the node ids in breadth-first order."""
    ordered = [c for c in branches if c != ComponentType.transformer] + [
        c for c in branches if c == ComponentType.transformer
    ]
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
    order of ``branches`` with transformers last (the order of ``line_loading`` then ``trafo_loading``)."""
    ends, (parent, _) = tree_parents(data, branches, source)
    paths = np.zeros((len(nodes), len(ends)), dtype=bool)
    for i, node in enumerate(np.asarray(nodes).tolist()):
        while node in parent and parent[node][1] >= 0:
            node, k = parent[node]
            paths[i, k] = True
    return paths


class FeederSolver:
    """Power flow for agents connected to a feeder.

    Args:
        feeder: the network.
        agent_nodes: node id per agent (N,).
        agent_phases: phase per agent (0, 1, 2) for asymmetric feeders; ignored for symmetric ones.
        voltage_band: allowed (min, max) voltage in pu on LV nodes.
        tolerance_pu: Newton–Raphson convergence tolerance on voltage (pu).
    """

    def __init__(
        self,
        feeder: Feeder,
        agent_nodes: np.ndarray,
        agent_phases: np.ndarray | None = None,
        voltage_band: tuple[float, float] = (0.95, 1.05),
        tolerance_pu: float = 1e-10,
        max_iterations: int = 30,
    ) -> None:
        self.feeder = feeder
        self.n_agents = len(agent_nodes)
        self.symmetric = feeder.symmetric
        self.band = voltage_band
        self.tolerance = tolerance_pu
        self.max_iterations = max_iterations
        self.load_type = ComponentType.sym_load if self.symmetric else ComponentType.asym_load
        load = initialize_array("input", self.load_type, self.n_agents)
        load["id"] = AGENT_ID_BASE + np.arange(self.n_agents)
        load["node"] = agent_nodes
        load["status"] = 1
        load["type"] = LoadGenType.const_power
        load["p_specified"] = 0.0
        load["q_specified"] = 0.0
        data = dict(feeder.input_data)
        if self.load_type in data:
            data[self.load_type] = np.concatenate([data[self.load_type], load])
        else:
            data[self.load_type] = load
        self.model = PowerGridModel(data)
        node_ids = feeder.node_ids
        order = np.argsort(node_ids)
        self._agent_node_pos = order[np.searchsorted(node_ids, agent_nodes, sorter=order)]
        self._lv_mask = np.isin(node_ids, feeder.lv_nodes)
        self._phase_mask = None
        if not self.symmetric:
            phases = np.zeros(self.n_agents, dtype=int) if agent_phases is None else np.asarray(agent_phases)
            self._phase_mask = np.eye(3)[phases]  # (N, 3): the agent's power goes on its phase
        self._ids = load["id"]
        self._agent_phase = None if self.symmetric else np.asarray(agent_phases if agent_phases is not None else
                                                                   np.zeros(self.n_agents, dtype=int))  # fmt: skip
        mask = feeder.phase_mask if feeder.phase_mask is not None else np.ones((node_ids.size, 3), dtype=bool)
        self._node_phases = mask
        self._branches = [c for c in _BRANCHES if c in data]
        self._background = [c for c in (*_LOADS, *_GENS, ComponentType.shunt) if c in feeder.input_data]
        self._components = list(dict.fromkeys([ComponentType.node, self.load_type, *self._branches, *self._background]))
        # The head flow is measured on the branches at the source node (the source's own output is reported
        # behind its internal impedance and is off by ~1e-7 relative).
        src = feeder.source_node
        self._head_sides = {c: (data[c]["from_node"] == src, data[c]["to_node"] == src) for c in self._branches}
        self._paths = branch_paths(data, self._branches, src, agent_nodes)

    def _update(
        self, p_kw: np.ndarray, q_kvar: np.ndarray, background_scale: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        batch = p_kw.shape[0]
        upd = initialize_array("update", self.load_type, (batch, self.n_agents))
        upd["id"] = self._ids
        if self.symmetric:
            upd["p_specified"] = p_kw * 1e3
            upd["q_specified"] = q_kvar * 1e3
        else:
            upd["p_specified"] = p_kw[..., None] * 1e3 * self._phase_mask
            upd["q_specified"] = q_kvar[..., None] * 1e3 * self._phase_mask
        own = self.feeder.input_data.get(self.load_type)
        if background_scale is not None and own is not None and len(own):
            scale = np.asarray(background_scale, dtype=float).reshape(batch, 1, *([1] * (own["p_specified"].ndim - 1)))
            upd_own = initialize_array("update", self.load_type, (batch, len(own)))
            upd_own["id"] = own["id"]
            upd_own["p_specified"] = own["p_specified"][None] * scale
            upd_own["q_specified"] = own["q_specified"][None] * scale
            upd = np.concatenate([upd_own, upd], axis=1)
        return {self.load_type: upd}

    def _calculate(self, update: dict | None, method: CalculationMethod) -> dict:
        return self.model.calculate_power_flow(
            update_data=update,
            symmetric=self.symmetric,
            error_tolerance=self.tolerance,
            max_iterations=self.max_iterations,
            calculation_method=method,
            output_component_types=self._components,
        )

    def solve(self, p_kw: np.ndarray, q_kvar: np.ndarray, background_scale: float | None = None) -> FlowResult:
        """One power flow: agent consumption ``p_kw`` (+ load, − injection) and ``q_kvar``, arrays (N,).
        ``background_scale`` multiplies the feeder's own loads (e.g. a daily profile); None leaves them as they are.

        Updates the model in place (cheaper than a batch of one); every call sets every agent's load.
        """
        scale = None if background_scale is None else np.array([background_scale])
        update = {k: v[0] for k, v in self._update(p_kw[None, :], q_kvar[None, :], scale).items()}
        self.model.update(update_data=update)
        converged = np.ones(1, dtype=bool)
        try:
            out = self._calculate(None, CalculationMethod.newton_raphson)
        except PowerGridError:
            converged[0] = False
            try:
                out = self._calculate(None, CalculationMethod.linear)
            except PowerGridError as err:
                raise NetworkError(f"power flow failed even with the linear method: {err}") from None
        return self._result({k: v[None] for k, v in out.items()}, converged)

    def solve_batch(
        self, p_kw: np.ndarray, q_kvar: np.ndarray, background_scale: np.ndarray | None = None
    ) -> FlowResult:
        """Many independent power flows at once: arrays (B, N); ``background_scale`` (B,) scales the feeder's own
        loads per scenario (None leaves them as built)."""
        update = self._update(np.asarray(p_kw, dtype=float), np.asarray(q_kvar, dtype=float), background_scale)
        converged = np.ones(p_kw.shape[0], dtype=bool)
        try:
            out = self._calculate(update, CalculationMethod.newton_raphson)
        except PowerGridError:
            out = self._solve_each(update, converged)
        return self._result(out, converged)

    def _solve_each(self, update: dict, converged: np.ndarray) -> dict:
        """Solve scenario by scenario; where Newton–Raphson fails, use the linear method and flag it."""
        parts = []
        for b in range(converged.size):
            single = {k: v[b : b + 1] for k, v in update.items()}
            try:
                parts.append(self._calculate(single, CalculationMethod.newton_raphson))
            except PowerGridError:
                converged[b] = False
                try:
                    parts.append(self._calculate(single, CalculationMethod.linear))
                except PowerGridError as err:
                    raise NetworkError(
                        f"power flow failed in scenario {b} even with the linear method: {err}"
                    ) from None
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def _result(self, out: dict, converged: np.ndarray) -> FlowResult:
        node_u = out[ComponentType.node]["u_pu"]
        if self.symmetric:
            u_lo = u_hi = node_u
            agent_u = node_u[:, self._agent_node_pos]
        else:  # per node: the lowest / highest of the phases that exist there
            u_lo = np.where(self._node_phases, node_u, np.inf).min(axis=-1)
            u_hi = np.where(self._node_phases, node_u, -np.inf).max(axis=-1)
            agent_u = node_u[:, self._agent_node_pos, self._agent_phase]
        lv_lo, lv_hi = u_lo[:, self._lv_mask], u_hi[:, self._lv_mask]
        lines = [out[c]["loading"] for c in self._branches if c != ComponentType.transformer]
        line_loading = np.concatenate(lines, axis=-1) if lines else np.zeros((node_u.shape[0], 0))
        trafo_loading = (
            out[ComponentType.transformer]["loading"]
            if ComponentType.transformer in out
            else np.zeros((node_u.shape[0], 0))
        )
        losses = sum(_per_scenario(out[c]["p_from"] + out[c]["p_to"]) for c in self._branches)
        head = sum(
            _per_scenario(out[c]["p_from"] * _expand(f, out[c]["p_from"]) + out[c]["p_to"] * _expand(t, out[c]["p_to"]))
            for c, (f, t) in self._head_sides.items()
        )
        agents = _per_scenario(out[self.load_type]["p"][:, -self.n_agents :])
        background = np.zeros_like(agents)
        for c in self._background:
            own = out[c]["p"][:, : len(self.feeder.input_data[c])]  # the feeder's own entries come first
            background = background + (-1.0 if c in _GENS else 1.0) * _per_scenario(own)
        lo, hi = self.band
        loading = np.concatenate([line_loading, trafo_loading], axis=-1)
        path_loading = np.where(self._paths[None], loading[:, None, :], 0.0).max(axis=-1, initial=0.0)
        return FlowResult(
            head_kw=head / 1e3,
            agents_kw=agents / 1e3,
            background_kw=background / 1e3,
            losses_kw=losses / 1e3,
            node_u_pu=u_lo,
            agent_u_pu=agent_u,
            v_min=lv_lo.min(axis=-1),
            v_max=lv_hi.max(axis=-1),
            violations=((lv_lo < lo) | (lv_hi > hi)).sum(axis=-1),
            line_loading=line_loading,
            trafo_loading=trafo_loading,
            overloads=(line_loading > 1.0).sum(axis=-1) + (trafo_loading > 1.0).sum(axis=-1),
            converged=converged,
            agent_path_loading=path_loading,
        )


_BRANCHES = (ComponentType.line, ComponentType.asym_line, ComponentType.transformer)
_LOADS = (ComponentType.sym_load, ComponentType.asym_load)
_GENS = (ComponentType.sym_gen, ComponentType.asym_gen)


def _per_scenario(values: np.ndarray) -> np.ndarray:
    """Sum over every axis but the first (branches, and phases for asymmetric output)."""
    return values.reshape(values.shape[0], -1).sum(axis=-1)


def _expand(side: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A per-branch boolean broadcast against (B, n) or (B, n, 3) output."""
    return side[:, None] if like.ndim == 3 else side
