"""Connect a community's agents to a feeder, and the per-step network stage of the engine.

Physics: an agent's consumption at its connection is ``p = (load − unserved) + charge − pv − discharge −
generation`` (kW, P2P trades are financial — their energy flows through the feeder like any other), with the
household load at the scenario's power factor (PV, batteries and generators at unity).

Microgrids (``network.agent_sections``): each agent is one section of a sectioned feeder (``ieee13-pair``). Its
served load is the section's spot loads scaled by ``served / rated`` (their own power factors and places), its
devices inject three-phase balanced at its bus, and its tap set-point moves the section's regulators together.

Losses (kWh) are bought from the upstream grid at the step's retail price, paid by the community operator or by
the agents pro rata to ``|p|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.errors import ConservationError, ScenarioError
from powergrid.network.feeders import load_feeder
from powergrid.network.model import Feeder
from powergrid.network.powerflow import FeederSolver, FlowResult
from powergrid.network.settings import NetworkSettings

_PHASES = {"a": 0, "b": 1, "c": 2}

#: Tolerance of the feeder energy balance (head = Σ agents + losses), relative to the power flowing (kW).
FLOW_BALANCE_TOL = 1e-6


@dataclass(frozen=True)
class NetworkSetup:
    """Where each agent connects, and how the network is accounted."""

    feeder: Feeder
    agent_nodes: np.ndarray
    agent_phases: np.ndarray  # 0/1/2 on asymmetric feeders, -1 on symmetric ones (or balanced three-phase)
    config: NetworkSettings

    @property
    def sectioned(self) -> bool:
        """Whether agents are the feeder's sections (microgrids, ``config.agent_sections``)."""
        return self.config.agent_sections

    @property
    def tan_phi(self) -> float:
        pf = self.config.power_factor
        return float(np.sqrt(1.0 - pf * pf) / pf)

    def solver(self) -> FeederSolver:
        """A fresh power-flow model (power-grid-model models are stateful: one per engine)."""
        phases = None if self.feeder.symmetric else self.agent_phases
        return FeederSolver(
            self.feeder, self.agent_nodes, phases, self.config.voltage_band, method=self.config.power_flow
        )


def _node_id(feeder: Feeder, agent: str, bus: int | str) -> int:
    """A node id from an id or a node name (``agent_buses``)."""
    if isinstance(bus, int):
        return bus
    names = dict(zip(feeder.node_names, feeder.node_ids.tolist(), strict=True))
    if bus not in names:
        close = [n for n in feeder.node_names if n.split(".")[-1] == bus.split(".")[-1]][:4]
        raise ScenarioError(
            f"network.agent_buses[{agent!r}]: no bus named {bus!r} in feeder {feeder.name!r}"
            + (f" (did you mean {', '.join(close)}?)" if close else "")
        )
    return names[bus]


def connect_agents(config: NetworkSettings, agent_ids: tuple[str, ...], seed: int) -> NetworkSetup:
    """Explicit buses/phases first; the other agents spread evenly (seeded order) over the feeder's load buses.
    With ``agent_sections``: every agent needs an explicit bus in its own section (agent i ↔ section i) and
    connects three-phase."""
    feeder = load_feeder(config.feeder)
    index = {a: i for i, a in enumerate(agent_ids)}
    if config.agent_sections:
        return _connect_sections(config, feeder, agent_ids)
    for what, mapping in (("agent_buses", config.agent_buses), ("agent_phases", config.agent_phases)):
        unknown = sorted(set(mapping or {}) - set(index))
        if unknown:
            raise ScenarioError(f"network.{what}: unknown agent ids {unknown[:5]}")
    rng = np.random.default_rng([seed, 0x6E6574])  # a stream of its own, independent of the data draws
    order = rng.permutation(feeder.connection_nodes)
    nodes = np.array([order[k % order.size] for k in range(len(agent_ids))], dtype=np.int64)
    known_nodes = set(feeder.node_ids.tolist())
    sources = set(feeder.input_data["source"]["node"].tolist())
    lv_nodes = set(feeder.lv_nodes.tolist())
    for agent, bus in (config.agent_buses or {}).items():
        node = _node_id(feeder, agent, bus)
        where = f"network.agent_buses[{agent!r}]: node {node}"
        hint = f"(load buses: {feeder.connection_nodes[:8].tolist()}…)"
        if node not in known_nodes:
            raise ScenarioError(f"{where} is not in feeder {feeder.name!r} {hint}")
        if node in sources:
            raise ScenarioError(
                f"{where} is the feeder's source bus (where the upstream grid connects), not a place for a "
                f"household {hint}"
            )
        if node not in lv_nodes:
            raise ScenarioError(f"{where} is not a low-voltage bus of feeder {feeder.name!r} {hint}")
        nodes[index[agent]] = node
    phases = np.full(len(agent_ids), -1, dtype=np.int64)
    if not feeder.symmetric:
        available = dict(zip(feeder.connection_nodes.tolist(), feeder.connection_phases, strict=True))
        offset = int(rng.integers(3))
        counts: dict[int, int] = {}
        for i, node in enumerate(nodes.tolist()):
            options = available.get(node, (0, 1, 2))
            k = counts.get(node, 0)
            counts[node] = k + 1
            phases[i] = options[(k + offset) % len(options)]
        for agent, phase in (config.agent_phases or {}).items():
            options = available.get(int(nodes[index[agent]]), (0, 1, 2))
            if _PHASES[phase] not in options:
                raise ScenarioError(f"network.agent_phases[{agent!r}]: phase {phase} does not exist at its bus")
            phases[index[agent]] = _PHASES[phase]
    return NetworkSetup(feeder, nodes, phases, config)


def _connect_sections(config: NetworkSettings, feeder: Feeder, agent_ids: tuple[str, ...]) -> NetworkSetup:
    """Agents as the feeder's sections (microgrids): agent i is section i, three-phase at its explicit bus."""
    n = len(agent_ids)
    if feeder.n_sections != n:
        raise ScenarioError(
            f"network.agent_sections: feeder {feeder.name!r} has {feeder.n_sections} sections (microgrids) but the "
            f"scenario has {n} agents; one agent per section"
        )
    buses = config.agent_buses or {}
    missing = [a for a in agent_ids if a not in buses]
    if missing:
        raise ScenarioError(f"network.agent_buses: with agent_sections every agent needs its bus; missing {missing}")
    unknown = sorted(set(buses) - set(agent_ids))
    if unknown:
        raise ScenarioError(f"network.agent_buses: unknown agent ids {unknown[:5]}")
    if config.agent_phases:
        raise ScenarioError("network.agent_phases: microgrids (agent_sections) connect three-phase; remove it")
    sections = np.asarray(feeder.sections)
    row = {node: k for k, node in enumerate(feeder.node_ids.tolist())}
    nodes = np.empty(n, dtype=np.int64)
    for i, agent in enumerate(agent_ids):
        node = _node_id(feeder, agent, buses[agent])
        if node not in row or sections[row[node]] != i:
            raise ScenarioError(
                f"network.agent_buses[{agent!r}]: bus {buses[agent]!r} is not in section {i} of feeder "
                f"{feeder.name!r} (agent {i} is section {i})"
            )
        if feeder.phase_mask is not None and not feeder.phase_mask[row[node]].all():
            raise ScenarioError(f"network.agent_buses[{agent!r}]: bus {buses[agent]!r} is not a three-phase bus")
        nodes[i] = node
    return NetworkSetup(feeder, nodes, np.full(n, -1, dtype=np.int64), config)


@dataclass(frozen=True)
class NetworkStep:
    """Network outcome of one step: energies kWh, voltages pu, loadings as fractions of rating.

    For K copies of a community stepped together (a batched engine) every scalar field is an array (K,) and the
    per-agent fields are (K, N).
    """

    head_kwh: float | np.ndarray  # + import into the feeder from the upstream grid
    losses_kwh: float | np.ndarray
    operator_loss_cost: float | np.ndarray  # currency, paid by the community operator
    v_min: float | np.ndarray
    v_max: float | np.ndarray
    violations: int | np.ndarray  # LV buses outside the voltage band
    max_line_loading: float | np.ndarray
    max_trafo_loading: float | np.ndarray
    overloads: int | np.ndarray  # lines and transformers above 100 %
    converged: bool | np.ndarray
    agent_u_pu: np.ndarray  # (N,) voltage at each agent's connection
    agent_path_loading: np.ndarray  # (N,) highest loading (fraction) on the path from the source to each agent
    #: (S,) per feeder section (microgrid; S = 0 without sections): lowest and highest LV voltage (pu) and the
    #: count of its LV buses outside the band
    section_v_min: np.ndarray
    section_v_max: np.ndarray
    section_violations: np.ndarray

    def row(self, k: int) -> NetworkStep:
        """Scenario ``k`` of a batched outcome, with plain Python scalars."""
        return NetworkStep(
            head_kwh=float(np.asarray(self.head_kwh)[k]),
            losses_kwh=float(np.asarray(self.losses_kwh)[k]),
            operator_loss_cost=float(np.asarray(self.operator_loss_cost)[k]),
            v_min=float(np.asarray(self.v_min)[k]),
            v_max=float(np.asarray(self.v_max)[k]),
            violations=int(np.asarray(self.violations)[k]),
            max_line_loading=float(np.asarray(self.max_line_loading)[k]),
            max_trafo_loading=float(np.asarray(self.max_trafo_loading)[k]),
            overloads=int(np.asarray(self.overloads)[k]),
            converged=bool(np.asarray(self.converged)[k]),
            agent_u_pu=self.agent_u_pu[k],
            agent_path_loading=self.agent_path_loading[k],
            section_v_min=self.section_v_min[k],
            section_v_max=self.section_v_max[k],
            section_violations=self.section_violations[k],
        )


class NetworkStage:
    """Runs the power flow of each engine step and settles the losses.

    ``tap``: the regulator step of each agent's section (microgrids), (N,) or (K, N) integers; None = as built.
    ``capacitor``: the state of each agent's section's capacitor banks (microgrids), (N,) or (K, N), 1.0 in /
    0.0 out (NaN for a section without banks); None = as built.
    """

    def __init__(self, setup: NetworkSetup) -> None:
        self.setup = setup
        self.solver = setup.solver()
        controls = self.solver.controls
        self.rated_kw = np.zeros(controls.n_sections)  # each section's spot loads as built (kW)
        for _, p, _, col in controls.loads.values():
            watts = p.reshape(p.shape[0], -1).sum(axis=1)
            inside = col < controls.n_sections
            np.add.at(self.rated_kw, col[inside], watts[inside] / 1e3)
        if setup.sectioned and not (self.rated_kw > 0).all():
            raise ScenarioError(f"feeder {setup.feeder.name!r}: every section needs spot loads for agent_sections")

    def tap_range(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(lowest, highest) regulator step per agent (its section) for microgrids; None otherwise."""
        regulators = self.solver.controls.regulators
        if not self.setup.sectioned or regulators is None:
            return None
        return regulators[3].astype(float), regulators[4].astype(float)

    def default_taps(self) -> np.ndarray | None:
        """(N,) the gang step each microgrid's regulators start at: the rounded mean of the built steps."""
        regulators = self.solver.controls.regulators
        if not self.setup.sectioned or regulators is None:
            return None
        _, col, built, _, _ = regulators
        n = self.solver.controls.n_sections
        mean = np.bincount(col, weights=built, minlength=n) / np.maximum(np.bincount(col, minlength=n), 1)
        return np.round(mean)

    def capacitor_sections(self) -> np.ndarray | None:
        """(N,) bool, the microgrids whose section has switched capacitor banks; None when no agent can switch any
        (not a sectioned feeder, or a feeder without capacitors)."""
        banks = self.solver.controls.capacitors
        if not self.setup.sectioned or not banks:
            return None
        has = np.zeros(self.solver.controls.n_sections, dtype=bool)
        for _, col, _ in banks.values():
            has[col] = True
        return has

    def default_capacitors(self) -> np.ndarray | None:
        """(N,) the state each microgrid's banks start in: 1.0 if any bank of its section is in as built, else 0.0
        (NaN for a section without banks); None as ``capacitor_sections``."""
        has = self.capacitor_sections()
        if has is None:
            return None
        on = np.zeros(has.size)
        for _, col, built in self.solver.controls.capacitors.values():
            np.maximum.at(on, col, (np.asarray(built) > 0).astype(float))
        return np.where(has, on, np.nan)

    @staticmethod
    def _switches(capacitor: np.ndarray | None) -> np.ndarray | None:
        """The solver's ``capacitor_on`` booleans from states (NaN, a section without banks, counts as out)."""
        return None if capacitor is None else np.nan_to_num(np.asarray(capacitor, dtype=float)) >= 0.5

    def _inputs(self, served_load: np.ndarray, net_kwh: np.ndarray, dt: float):
        """(agent p kW, agent q kvar, own-load scale) for arrays (B, N)."""
        if not self.setup.sectioned:
            return net_kwh / dt, served_load / dt * self.setup.tan_phi, None
        return (net_kwh - served_load) / dt, np.zeros_like(net_kwh), served_load / dt / self.rated_kw

    def run(
        self,
        t: int,
        served_load: np.ndarray,
        net_kwh: np.ndarray,
        dt: float,
        retail: float,
        tap: np.ndarray | None = None,
        capacitor: np.ndarray | None = None,
    ) -> tuple[NetworkStep, np.ndarray]:
        """Power flow for consumption ``net_kwh`` (N,) over the step; returns (NetworkStep, loss_cost (N,))."""
        p, q, scale = self._inputs(served_load[None, :], net_kwh[None, :], dt)
        flow = self.solver.solve(p[0], q[0], None if scale is None else scale[0], tap, self._switches(capacitor))
        step, loss_cost = self._account(flow, np.array([t]), net_kwh[None, :], dt, np.array([retail], dtype=float))
        return step.row(0), loss_cost[0]

    def run_copies(
        self,
        t: np.ndarray,
        served_load: np.ndarray,
        net_kwh: np.ndarray,
        dt: float,
        retail: np.ndarray,
        tap: np.ndarray | None = None,
        capacitor: np.ndarray | None = None,
    ) -> tuple[NetworkStep, np.ndarray]:
        """K flows in one power-flow call (K copies of the community, or K steps): arrays (K, N) and (K,); returns
        (NetworkStep with (K,) fields, loss_cost (K, N))."""
        p, q, scale = self._inputs(served_load, net_kwh, dt)
        flow = self.solver.solve_batch(p, q, scale, tap, self._switches(capacitor))
        return self._account(flow, np.asarray(t), net_kwh, dt, np.asarray(retail, dtype=float).reshape(-1))

    def run_batch(
        self,
        t: list[int],
        served_load: np.ndarray,
        net_kwh: np.ndarray,
        dt: float,
        retail: np.ndarray,
        tap: np.ndarray | None = None,
        capacitor: np.ndarray | None = None,
    ) -> list[tuple[NetworkStep, np.ndarray]]:
        """Many steps in one power-flow call: arrays (B, N) and (B,); returns a list of (NetworkStep, loss_cost)."""
        steps, loss_cost = self.run_copies(np.asarray(t), served_load, net_kwh, dt, retail, tap, capacitor)
        return [(steps.row(k), loss_cost[k]) for k in range(len(t))]

    def _account(
        self, flow: FlowResult, t: np.ndarray, net_kwh: np.ndarray, dt: float, retail: np.ndarray
    ) -> tuple[NetworkStep, np.ndarray]:
        """Check Kirchhoff on every solved flow (B rows) and price the losses: (NetworkStep of (B,), loss (B, N))."""
        losses_kwh = flow.losses_kw * dt
        head_kwh = flow.head_kw * dt
        # Kirchhoff on the solved flow (the agents' power as solved: under the linear fallback it differs from
        # the request, which is why that step is flagged).
        agents_kwh = flow.agents_kw * dt
        background_kwh = flow.background_kw * dt
        gap = head_kwh - losses_kwh - agents_kwh - background_kwh
        flowing = np.abs(head_kwh) + np.abs(net_kwh).sum(axis=-1) + np.abs(agents_kwh) + np.abs(background_kwh)
        bad = np.abs(gap) > FLOW_BALANCE_TOL * np.maximum(1.0, flowing)
        if bad.any():
            k = int(np.argmax(bad))
            raise ConservationError(
                f"feeder energy balance at step {int(t[k])}: head {head_kwh[k]:.9g} != agents {agents_kwh[k]:.9g}"
                f" + feeder loads {background_kwh[k]:.9g} + losses {losses_kwh[k]:.9g} kWh"
            )
        loss_value = losses_kwh * retail
        if self.setup.config.losses == "allocated":
            weight = np.abs(net_kwh)
            total = weight.sum(axis=-1, keepdims=True)
            share = np.divide(weight, total, out=np.full(weight.shape, 1.0 / weight.shape[-1]), where=total > 0)
            loss_cost, operator_cost = loss_value[:, None] * share, np.zeros_like(loss_value)
        else:
            loss_cost, operator_cost = np.zeros_like(net_kwh), loss_value
        step = NetworkStep(
            head_kwh=head_kwh,
            losses_kwh=losses_kwh,
            operator_loss_cost=operator_cost,
            v_min=flow.v_min,
            v_max=flow.v_max,
            violations=flow.violations,
            max_line_loading=_rated_max(flow.line_loading),
            max_trafo_loading=_rated_max(flow.trafo_loading),
            overloads=flow.overloads,
            converged=flow.converged,
            agent_u_pu=flow.agent_u_pu,
            agent_path_loading=flow.agent_path_loading,
            section_v_min=flow.section_v_min,
            section_v_max=flow.section_v_max,
            section_violations=flow.section_violations,
        )
        return step, loss_cost


def _rated_max(loading: np.ndarray) -> np.ndarray:
    """(B,) the highest loading of the branches that have a rating (an unrated branch reports NaN; 0 if none)."""
    return np.where(np.isnan(loading), 0.0, loading).max(axis=-1, initial=0.0)
