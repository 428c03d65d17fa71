"""AC power flow of a feeder with one load per agent, with power-grid-model.

The model is built once; each solve only updates the agents' loads and the controls that changed (own-load
scale, regulator taps, capacitor switches: ``update`` data). ``solve`` handles one step, ``solve_batch`` many
steps or environments in one call. Symmetric feeders use a balanced ``sym_load`` per agent; asymmetric ones an
``asym_load`` with the agent's power on its phase.

Non-convergence of Newton–Raphson (or of the iterative-current method, if chosen) is never a silent zero: the
solve is repeated with power-grid-model's linear method (loads as constant impedances at nominal voltage — an
approximation), the result is flagged ``converged=False`` and counted by the caller; if that fails too, a
NetworkError names the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from power_grid_model import CalculationMethod, ComponentType, LoadGenType, PowerGridModel, initialize_array
from power_grid_model.errors import PowerGridError

from powergrid.network.model import AGENT_ID_BASE, Feeder
from powergrid.network.reduce import BRANCHES, GENS, LAST, LOADS, PowerSums, branch_paths, tree_parents
from powergrid.network.sections import NetworkError, SectionControls

__all__ = ["FeederSolver", "FlowResult", "NetworkError", "branch_paths", "tree_parents"]


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
    section_v_min, section_v_max: (B, S) over the LV nodes of each section (pu; S = ``feeder.n_sections``, 0 for
        unsectioned feeders: (B, 0) arrays); section_violations: (B, S) count of the section's LV nodes outside
        the band.
    section_head_kw: (B, S) active power entering each section from the shared nodes (+ into the section),
        measured at the shared end of the branches that cross into it; Σ over sections = head_kw when the source
        node is the only shared node.
    section_losses_kw: (B, S) losses of the branches inside each section and of those crossing into it.
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
    section_v_min: np.ndarray
    section_v_max: np.ndarray
    section_violations: np.ndarray
    section_head_kw: np.ndarray
    section_losses_kw: np.ndarray


class FeederSolver:
    """Power flow for agents connected to a feeder.

    Args:
        feeder: the network.
        agent_nodes: node id per agent (N,).
        agent_phases: phase per agent (0, 1, 2) for asymmetric feeders, or −1 for a balanced three-phase agent
            (a third of its power on each phase; it needs a three-phase bus; its ``agent_u_pu`` is its bus's lowest
            phase); None = phase a for all; ignored for symmetric feeders.
        voltage_band: allowed (min, max) voltage in pu on LV nodes.
        tolerance_pu: convergence tolerance on voltage (pu).
        max_iterations: of the iterative method.
        method: ``"newton_raphson"`` (default) or ``"iterative_current"`` (power-grid-model's fixed-point method on
            a factorised admittance matrix: the same solution to the tolerance, faster on small asymmetric
            feeders such as ``ieee13-pair``). Either falls back to the linear method when it does not converge.

    Controls of a sectioned feeder (S = ``feeder.n_sections``), on ``solve`` and ``solve_batch``; None leaves a
    control as built (also after an earlier ``solve`` changed it):

    - ``background_scale``: (B,) multiplies every own load of the feeder (whatever its component type or load
      model), (B, S) each own load by its section's column (loads on shared nodes by 1);
    - ``tap_pos``: (B, S) whole tap steps; every regulator of section s (``feeder.regulators[s]``) gets column s.
      A step outside the section's regulator range raises NetworkError; columns of sections without regulators
      are ignored;
    - ``capacitor_on``: (B, S) booleans, the status of section s's capacitor components.
    """

    def __init__(
        self,
        feeder: Feeder,
        agent_nodes: np.ndarray,
        agent_phases: np.ndarray | None = None,
        voltage_band: tuple[float, float] = (0.95, 1.05),
        tolerance_pu: float = 1e-10,
        max_iterations: int = 30,
        method: str = "newton_raphson",
    ) -> None:
        if method not in _METHODS:
            raise NetworkError(f"unknown power-flow method {method!r}; choose one of {sorted(_METHODS)}")
        self.method = _METHODS[method]
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
        mask = feeder.phase_mask if feeder.phase_mask is not None else np.ones((node_ids.size, 3), dtype=bool)
        self._node_phases = mask
        # set below for asymmetric feeders only
        self._phase_mask: np.ndarray | None = None
        self._agent_sees: np.ndarray | None = None
        if not self.symmetric:
            phases = np.zeros(self.n_agents, dtype=int) if agent_phases is None else np.asarray(agent_phases)
            if phases.shape != (self.n_agents,) or not np.isin(phases, (-1, 0, 1, 2)).all():
                raise NetworkError(f"agent_phases must be {self.n_agents} values in -1, 0, 1, 2; got {phases}")
            balanced = phases < 0
            if not mask[self._agent_node_pos[balanced]].all():
                k = int(np.flatnonzero(balanced & ~mask[self._agent_node_pos].all(axis=1))[0])
                node = int(np.asarray(agent_nodes)[k])
                raise NetworkError(
                    f"agent {k}: a balanced three-phase agent (phase -1) needs a three-phase bus, {node}"
                )
            # (N, 3): the share of the agent's power on each phase; the phases whose voltage it reports
            self._phase_mask = np.where(balanced[:, None], 1.0 / 3.0, np.eye(3)[np.maximum(phases, 0)])
            self._agent_sees = self._phase_mask > 0
        self._ids = load["id"]
        self._branches = [c for c in BRANCHES if c in data]
        self._lines = [c for c in self._branches if c not in LAST]
        self._background = [c for c in (*LOADS, *GENS, ComponentType.shunt) if c in feeder.input_data]
        self._components = list(dict.fromkeys([ComponentType.node, self.load_type, *self._branches, *self._background]))
        # The head flow is measured on the branches at the source node (the source's own output is reported
        # behind its internal impedance and is off by ~1e-7 relative); PowerSums holds the weights.
        src = feeder.source_node
        appliances = list(dict.fromkeys([self.load_type, *self._background]))
        self._sums = PowerSums(feeder, data, self._branches, appliances, self.load_type, self.n_agents)
        self._paths = branch_paths(data, self._branches, src, agent_nodes)
        self._n_links = len(data[ComponentType.link]) if ComponentType.link in data else 0
        self.controls = SectionControls(feeder, self._lv_mask)
        # the controls the model holds now (None = as built; ``solve`` changes the model in place)
        self._applied: dict[str, np.ndarray | None] = {"scale": None, "tap": None, "cap": None}
        self._buffers: dict[tuple, np.ndarray] = {}

    def _controls(self, scale, taps, caps, batch: int) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Control values to send for B scenarios: those given, and the built ones where an earlier ``solve``
        changed the model; component → (ids, {field: (B, n, …)})."""
        sec, applied = self.controls, self._applied
        values = {}
        if scale is not None or applied["scale"] is not None:
            values.update(sec.load_values(scale, batch))
        if taps is not None or applied["tap"] is not None:
            values.update(sec.tap_values(taps, batch))
        if caps is not None or applied["cap"] is not None:
            values.update(sec.capacitor_values(caps, batch))
        return values

    def _agent_values(self, p_kw: np.ndarray, q_kvar: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The agents' p_specified, q_specified (W, var): (..., N) symmetric, (..., N, 3) asymmetric."""
        if self.symmetric:
            return p_kw * 1e3, q_kvar * 1e3
        assert self._phase_mask is not None  # set in __init__ for every asymmetric feeder
        return p_kw[..., None] * 1e3 * self._phase_mask, q_kvar[..., None] * 1e3 * self._phase_mask

    def _update(
        self,
        p_kw: np.ndarray,
        q_kvar: np.ndarray,
        background_scale: np.ndarray | None = None,
        tap_pos: np.ndarray | None = None,
        capacitor_on: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """Batch update data (B scenarios): every agent's load, plus the controls (``_controls``)."""
        batch = p_kw.shape[0]
        upd = initialize_array("update", self.load_type, (batch, self.n_agents))
        upd["id"] = self._ids
        upd["p_specified"], upd["q_specified"] = self._agent_values(p_kw, q_kvar)
        update = {}
        for c, (ids, fields) in self._controls(background_scale, tap_pos, capacitor_on, batch).items():
            arr = update[c] = initialize_array("update", c, (batch, ids.size))
            arr["id"] = ids
            for key, value in fields.items():
                arr[key] = value
        own = update.get(self.load_type)  # own loads first, then the agents
        update[self.load_type] = upd if own is None else np.concatenate([own, upd], axis=1)
        return update

    def _single_update(self, p_kw, q_kvar, scale, taps, caps) -> dict[str, np.ndarray]:
        """In-place update data for ``solve``: the agents, and only the controls that differ from the model's."""
        applied, sec = self._applied, self.controls
        values = {}
        for key, new, make in (
            ("scale", scale, sec.load_values),
            ("tap", taps, sec.tap_values),
            ("cap", caps, sec.capacitor_values),
        ):
            if not _same(new, applied[key]):  # None: back to the built values
                values.update(make(new, 1))
        update = {}
        for c, (ids, fields) in values.items():
            arr = update[c] = self._buffer(c, ids)
            for key, value in fields.items():
                arr[key] = value[0]
        agents = self._buffer(None, self._ids)
        agents["p_specified"], agents["q_specified"] = self._agent_values(p_kw, q_kvar)
        own = update.get(self.load_type)
        update[self.load_type] = agents if own is None else np.concatenate([own, agents])
        return update

    def _buffer(self, component: str | None, ids: np.ndarray) -> np.ndarray:
        """A reusable 1-D update array of ``component`` (None: the agents' loads) with its ids set."""
        key = (component, ids.size)
        if key not in self._buffers:
            arr = initialize_array("update", component or self.load_type, ids.size)
            arr["id"] = ids
            self._buffers[key] = arr
        return self._buffers[key]

    def _calculate(self, update: dict | None, method: CalculationMethod) -> dict:
        return self.model.calculate_power_flow(
            update_data=update,
            symmetric=self.symmetric,
            error_tolerance=self.tolerance,
            max_iterations=self.max_iterations,
            calculation_method=method,
            output_component_types=self._components,
        )

    def solve(
        self,
        p_kw: np.ndarray,
        q_kvar: np.ndarray,
        background_scale: float | np.ndarray | None = None,
        tap_pos: np.ndarray | None = None,
        capacitor_on: np.ndarray | None = None,
    ) -> FlowResult:
        """One power flow: agent consumption ``p_kw`` (+ load, − injection) and ``q_kvar``, arrays (N,).

        ``background_scale``: a number (every own load) or (S,) (per section); ``tap_pos`` (S,) whole steps;
        ``capacitor_on`` (S,) booleans (class docstring); None = as built. Updates the model in place (cheaper
        than a batch of one); every call sets every agent's load.
        """
        scale = None if background_scale is None else np.asarray(background_scale, dtype=float)[None]
        taps = None if tap_pos is None else np.asarray(tap_pos)[None]
        caps = None if capacitor_on is None else np.asarray(capacitor_on)[None]
        self.model.update(update_data=self._single_update(p_kw[None, :], q_kvar[None, :], scale, taps, caps))
        self._applied = {"scale": _copy(scale), "tap": _copy(taps), "cap": _copy(caps)}
        converged = np.ones(1, dtype=bool)
        try:
            out = self._calculate(None, self.method)
        except PowerGridError:
            converged[0] = False
            try:
                out = self._calculate(None, CalculationMethod.linear)
            except PowerGridError as err:
                raise NetworkError(f"power flow failed even with the linear method: {err}") from None
        return self._result({k: v[None] for k, v in out.items()}, converged)

    def solve_batch(
        self,
        p_kw: np.ndarray,
        q_kvar: np.ndarray,
        background_scale: np.ndarray | None = None,
        tap_pos: np.ndarray | None = None,
        capacitor_on: np.ndarray | None = None,
    ) -> FlowResult:
        """Many independent power flows at once: arrays (B, N); ``background_scale`` (B,) or (B, S), ``tap_pos``
        (B, S) and ``capacitor_on`` (B, S) per scenario (class docstring; None = as built)."""
        p_kw, q_kvar = np.asarray(p_kw, dtype=float), np.asarray(q_kvar, dtype=float)
        update = self._update(p_kw, q_kvar, background_scale, tap_pos, capacitor_on)
        converged = np.ones(p_kw.shape[0], dtype=bool)
        try:
            out = self._calculate(update, self.method)
        except PowerGridError:
            out = self._solve_each(update, converged)
        return self._result(out, converged)

    def _solve_each(self, update: dict, converged: np.ndarray) -> dict:
        """Solve scenario by scenario; where Newton–Raphson fails, use the linear method and flag it."""
        parts = []
        for b in range(converged.size):
            single = {k: v[b : b + 1] for k, v in update.items()}
            try:
                parts.append(self._calculate(single, self.method))
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
        batch = node_u.shape[0]
        if self.symmetric:
            u_lo = u_hi = node_u
            agent_u = node_u[:, self._agent_node_pos]
        else:  # per node: the lowest / highest of the phases that exist there
            assert self._agent_sees is not None  # set in __init__ for every asymmetric feeder
            u_lo = np.where(self._node_phases, node_u, np.inf).min(axis=-1)
            u_hi = np.where(self._node_phases, node_u, -np.inf).max(axis=-1)
            agent_u = np.where(self._agent_sees, node_u[:, self._agent_node_pos], np.inf).min(axis=-1)
        lv_lo, lv_hi = u_lo[:, self._lv_mask], u_hi[:, self._lv_mask]
        lines = [out[c]["loading"] for c in self._lines]
        line_loading = np.concatenate(lines, axis=-1) if lines else np.zeros((batch, 0))
        trafo_loading = (
            out[ComponentType.transformer]["loading"] if ComponentType.transformer in out else np.zeros((batch, 0))
        )
        head, losses, agents, background, s_head, s_loss = self._sums(out)
        lo, hi = self.band
        loading = np.concatenate([line_loading, trafo_loading, np.zeros((batch, self._n_links))], axis=-1)
        path_loading = np.where(self._paths[None], loading[:, None, :], 0.0).max(axis=-1, initial=0.0)
        s_min, s_max, s_viol = self.controls.voltages(u_lo, u_hi, self.band)
        return FlowResult(
            head_kw=head,
            agents_kw=agents,
            background_kw=background,
            losses_kw=losses,
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
            section_v_min=s_min,
            section_v_max=s_max,
            section_violations=s_viol,
            section_head_kw=s_head,
            section_losses_kw=s_loss,
        )


_METHODS = {
    "newton_raphson": CalculationMethod.newton_raphson,
    "iterative_current": CalculationMethod.iterative_current,
}


def _copy(value: np.ndarray | None) -> np.ndarray | None:
    return None if value is None else value.copy()


def _same(new: np.ndarray | None, old: np.ndarray | None) -> bool:
    """Whether a control ``new`` equals the one the model holds (None = as built)."""
    if new is None or old is None:
        return new is None and old is None
    return new.shape == old.shape and new.dtype == old.dtype and bool(np.array_equal(new, old))
