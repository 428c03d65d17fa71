"""Connect a community's agents to a feeder, and the per-step network stage of the engine.

Physics: an agent's consumption at its connection is ``p = (load − unserved) + charge − pv − discharge`` (kW,
P2P trades are financial — their energy flows through the feeder like any other), with the household load at
the scenario's power factor (PV and batteries at unity). Losses (kWh) are bought from the upstream grid at the
step's retail price, paid by the community operator or by the agents pro rata to ``|p|``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.errors import ConservationError, ScenarioError
from powergrid.network.feeders import load_feeder
from powergrid.network.model import Feeder
from powergrid.network.powerflow import FeederSolver, FlowResult
from powergrid.scenarios.schema.network import NetworkConfig

_PHASES = {"a": 0, "b": 1, "c": 2}

#: Tolerance of the feeder energy balance (head = Σ agents + losses), relative to the power flowing (kW).
FLOW_BALANCE_TOL = 1e-6


@dataclass(frozen=True)
class NetworkSetup:
    """Where each agent connects, and how the network is accounted."""

    feeder: Feeder
    agent_nodes: np.ndarray
    agent_phases: np.ndarray  # 0/1/2 on asymmetric feeders, -1 on symmetric ones
    config: NetworkConfig

    @property
    def tan_phi(self) -> float:
        pf = self.config.power_factor
        return float(np.sqrt(1.0 - pf * pf) / pf)

    def solver(self) -> FeederSolver:
        """A fresh power-flow model (power-grid-model models are stateful: one per engine)."""
        phases = None if self.feeder.symmetric else self.agent_phases
        return FeederSolver(self.feeder, self.agent_nodes, phases, self.config.voltage_band)


def connect_agents(config: NetworkConfig, agent_ids: tuple[str, ...], seed: int) -> NetworkSetup:
    """Explicit buses/phases first; the other agents spread evenly (seeded order) over the feeder's load buses."""
    feeder = load_feeder(config.feeder)
    index = {a: i for i, a in enumerate(agent_ids)}
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
    for agent, node in (config.agent_buses or {}).items():
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


@dataclass(frozen=True)
class NetworkStep:
    """Network outcome of one step: energies kWh, voltages pu, loadings as fractions of rating.

    For K copies of a community stepped together (a batched engine) every scalar field is an array (K,) and the
    per-agent fields are (K, N).
    """

    head_kwh: float  # + import into the feeder from the upstream grid
    losses_kwh: float
    operator_loss_cost: float  # currency, paid by the community operator
    v_min: float
    v_max: float
    violations: int  # LV buses outside the voltage band
    max_line_loading: float
    max_trafo_loading: float
    overloads: int  # lines and transformers above 100 %
    converged: bool
    agent_u_pu: np.ndarray  # (N,) voltage at each agent's connection
    agent_path_loading: np.ndarray  # (N,) highest loading (fraction) on the path from the source to each agent

    def row(self, k: int) -> NetworkStep:
        """Scenario ``k`` of a batched outcome, with plain Python scalars."""
        return NetworkStep(
            head_kwh=float(self.head_kwh[k]),
            losses_kwh=float(self.losses_kwh[k]),
            operator_loss_cost=float(self.operator_loss_cost[k]),
            v_min=float(self.v_min[k]),
            v_max=float(self.v_max[k]),
            violations=int(self.violations[k]),
            max_line_loading=float(self.max_line_loading[k]),
            max_trafo_loading=float(self.max_trafo_loading[k]),
            overloads=int(self.overloads[k]),
            converged=bool(self.converged[k]),
            agent_u_pu=self.agent_u_pu[k],
            agent_path_loading=self.agent_path_loading[k],
        )


class NetworkStage:
    """Runs the power flow of each engine step and settles the losses."""

    def __init__(self, setup: NetworkSetup) -> None:
        self.setup = setup
        self.solver = setup.solver()

    def run(self, t: int, served_load: np.ndarray, net_kwh: np.ndarray, dt: float, retail: float):
        """Power flow for consumption ``net_kwh`` (N,) over the step; returns (NetworkStep, loss_cost (N,))."""
        flow = self.solver.solve(net_kwh / dt, served_load / dt * self.setup.tan_phi)
        step, loss_cost = self._account(flow, np.array([t]), net_kwh[None, :], dt, np.array([retail], dtype=float))
        return step.row(0), loss_cost[0]

    def run_copies(self, t: np.ndarray, served_load: np.ndarray, net_kwh: np.ndarray, dt: float, retail: np.ndarray):
        """K flows in one power-flow call (K copies of the community, or K steps): arrays (K, N) and (K,); returns
        (NetworkStep with (K,) fields, loss_cost (K, N))."""
        flow = self.solver.solve_batch(net_kwh / dt, served_load / dt * self.setup.tan_phi)
        return self._account(flow, np.asarray(t), net_kwh, dt, np.asarray(retail, dtype=float).reshape(-1))

    def run_batch(self, t: list[int], served_load: np.ndarray, net_kwh: np.ndarray, dt: float, retail: np.ndarray):
        """Many steps in one power-flow call: arrays (B, N) and (B,); returns a list of (NetworkStep, loss_cost)."""
        steps, loss_cost = self.run_copies(np.asarray(t), served_load, net_kwh, dt, retail)
        return [(steps.row(k), loss_cost[k]) for k in range(len(t))]

    def _account(self, flow: FlowResult, t: np.ndarray, net_kwh: np.ndarray, dt: float, retail: np.ndarray):
        """Check Kirchhoff on every solved flow (B rows) and price the losses: (NetworkStep of (B,), loss (B, N))."""
        losses_kwh = flow.losses_kw * dt
        head_kwh = flow.head_kw * dt
        # Kirchhoff on the solved flow (the agents' power as solved: under the linear fallback it differs from
        # the request, which is why that step is flagged).
        agents_kwh = flow.agents_kw * dt
        background_kwh = flow.background_kw * dt
        gap = head_kwh - losses_kwh - agents_kwh - background_kwh
        bad = np.abs(gap) > FLOW_BALANCE_TOL * np.maximum(1.0, np.abs(head_kwh) + np.abs(net_kwh).sum(axis=-1))
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
            max_line_loading=flow.line_loading.max(axis=-1, initial=0.0),
            max_trafo_loading=flow.trafo_loading.max(axis=-1, initial=0.0),
            overloads=flow.overloads,
            converged=flow.converged,
            agent_u_pu=flow.agent_u_pu,
            agent_path_loading=flow.agent_path_loading,
        )
        return step, loss_cost
