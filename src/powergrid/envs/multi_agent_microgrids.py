"""MultiAgentMicrogrids: microgrids on IEEE 13 node feeders trading with each other (PettingZoo ParallelEnv),
stepped by the community engine.

The seed example's API, as written there: ``MultiAgentMicrogrids(env_config)`` with ``env_config`` keys
``centralized``, ``max_episode_steps`` and ``horizontal_protocol``, plus optional keys (``CONFIG_DEFAULTS``).

The physics, market, settlement, balance checks and costs are the engine's (``powergrid.engine``) on the built-in
scenario ``multi-microgrid`` (or ``env_config["scenario"]``): two IEEE 13 node feeders off one upstream bus
(``ieee13-pair``), MG1 with a generator and a battery, MG2 with a battery and PV, regulator taps per microgrid,
a time-of-use grid price. The heron agent tree carries the decisions: a ``SystemAgent`` over one
``CoordinatorAgent`` per microgrid over ``FieldAgent``s (its generator, battery, regulator and capacitor banks).
Each step:

1. each coordinator's action goes through its vertical protocol to its field agents: ``SetpointProtocol`` maps
   Box(-1, 1, n_slots) onto the devices' ranges (generator output [0, rating] kW, battery [-power, power] kW
   (+ discharge), regulator step [lowest, highest], capacitor banks [0, 1]: in from 0.5, i.e. for an action > 0);
   every microgrid has the same action slots (``slots``: the
   device kinds any microgrid has, so one shared policy can act for all) and ignores the slots of devices it lacks;
   ``PriceSignalProtocol`` takes one internal price in [-1, 1]
   → [feed-in, retail] that the generator and battery answer by their rules (``powergrid.devices.price_response``)
   while the regulator and the capacitors follow their voltage rules (``powergrid.controllers.taps.regulate``);
2. the horizontal protocol (``P2PTradingProtocol``: its pricing, k and fee become the scenario's market section)
   turns each microgrid's expected net position into an order — deficits bid at the price cap, surpluses asked
   at the generator's marginal cost (or the floor); in distributed mode (``centralized: False``) orders travel
   through a message broker (latency, drops) and only those delivered this step are placed; without a horizontal
   protocol the market is off. A ``ConsensusProtocol(graph)`` instead makes the coordinators agree, exchanging
   values only with their neighbours on ``graph``, on the incremental cost λ at which their gensets together cover
   the combined net demand, the grid being the marginal source (``powergrid.controllers.consensus_dispatch``):
   the gensets follow that dispatch (their action slot is dropped), orders are formed as above and clear in the
   scenario's own market; λ is in each info's ``incremental_cost``;
3. the engine applies its FeasibilityFilter (a NaN action → safe set-points, counted), clears the market, runs
   the power flow of both feeders in one model, settles with the grid and checks every balance;
4. reward per microgrid (``powergrid.reward.RewardTracker``): minus its headline cost of the step (cash cost incl.
   fuel, P2P payments, fees and network charges + unserved cost; the episode's last step pays the end-of-horizon
   storage rule) minus ``network.violation_penalty`` × its LV buses outside the voltage band (+ a share of the
   overloaded branches).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from heron.agents import CoordinatorAgent, FieldAgent, SystemAgent
from heron.protocols.horizontal import ConsensusProtocol, P2PTradingProtocol
from heron.protocols.vertical import PriceSignalProtocol, SetpointProtocol
from powergrid.actions import Actions, Observation
from powergrid.controllers.taps import regulate
from powergrid.devices.price_response import PriceResponse
from powergrid.engine import CommunityEngine, StepResult
from powergrid.envs.microgrid_arrays import (
    DEVICE_ENTRIES,
    OBSERVATION,
    MicrogridFeatures,
    SetpointMap,
    p2p_orders,
)
from powergrid.errors import ActionError, ScenarioError
from powergrid.policy.action_map import require_actions
from powergrid.reward import RewardTracker
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import Community, build_community

CONFIG_DEFAULTS: dict[str, Any] = {
    "centralized": True,
    "max_episode_steps": 24,
    "horizontal_protocol": None,
    "vertical_protocol": None,  # default SetpointProtocol()
    "n_microgrids": 2,
    "scenario": "multi-microgrid",  # a built-in name, a YAML path or a Scenario whose agents are the microgrids
    "start": 0,  # the scenario step the episode starts at
    "seed": 0,
    "latency": 0,
    "drop_probability": 0.0,
}


class MultiAgentMicrogrids(ParallelEnv):
    metadata: ClassVar[dict] = {"name": "multi_agent_microgrids_v1", "render_modes": [], "is_parallelizable": True}

    def __init__(self, env_config: dict | None = None) -> None:
        config = dict(env_config or {})
        unknown = sorted(set(config) - set(CONFIG_DEFAULTS))
        if unknown:
            raise ScenarioError(
                f"MultiAgentMicrogrids: unknown env_config keys {unknown}; known: {sorted(CONFIG_DEFAULTS)}"
            )
        self.config = c = {**CONFIG_DEFAULTS, **config}
        for key, low in (("max_episode_steps", 1), ("start", 0)):
            if not isinstance(c[key], int) or isinstance(c[key], bool) or c[key] < low:
                raise ScenarioError(f"env_config[{key!r}] must be an int >= {low}, got {c[key]!r}")
        if not isinstance(c["n_microgrids"], int) or c["n_microgrids"] < 2:
            raise ScenarioError(f"env_config['n_microgrids'] must be an int >= 2, got {c['n_microgrids']!r}")
        self.vertical: SetpointProtocol | PriceSignalProtocol = c["vertical_protocol"] or SetpointProtocol()
        if not isinstance(self.vertical, SetpointProtocol | PriceSignalProtocol):
            raise ScenarioError(
                f"env_config['vertical_protocol'] must be a SetpointProtocol or PriceSignalProtocol, "
                f"got {type(self.vertical).__name__}"
            )
        self.horizontal = c["horizontal_protocol"]
        if self.horizontal is not None and not isinstance(self.horizontal, P2PTradingProtocol | ConsensusProtocol):
            raise ScenarioError(
                f"env_config['horizontal_protocol'] must be a P2PTradingProtocol, a ConsensusProtocol or None, "
                f"got {type(self.horizontal).__name__}"
            )
        self.consensus = self.horizontal if isinstance(self.horizontal, ConsensusProtocol) else None
        if self.consensus is not None and self.consensus.n != c["n_microgrids"]:
            raise ScenarioError(
                f"env_config['horizontal_protocol']: the ConsensusProtocol's graph has {self.consensus.n} agents, "
                f"but there are {c['n_microgrids']} microgrids (one row per microgrid)"
            )
        self.price_coordination = isinstance(self.vertical, PriceSignalProtocol)
        self.episode_steps = c["max_episode_steps"]
        self.community = self._community()
        self.engine = CommunityEngine(self.community)
        self.rewards = RewardTracker(self.community)
        if self.consensus is not None:
            from powergrid.controllers.consensus_dispatch import check_convex

            check_convex(self.community)
        self.possible_agents = list(self.community.agents.ids)
        self.system = self._agent_tree()
        self.features = MicrogridFeatures.of(self.community, self._tap_range)
        self.n = len(self.possible_agents)
        kinds = {child.id.rsplit(".", 1)[1] for c in self.system.coordinators for child in c.children}
        consensus = ("generator",) if self.consensus is not None else ()  # the consensus dispatches the gensets
        kinds_all = ("generator", "storage", "regulator", "capacitor")
        self.slots = tuple(k for k in kinds_all if k in kinds and k not in consensus)
        self.setpoint_map = None if self.price_coordination else SetpointMap.from_tree(self.system, self.slots)
        size = 1 if self.price_coordination else len(self.slots)
        self.action_spaces = {a: spaces.Box(-1.0, 1.0, (size,), np.float32) for a in self.possible_agents}
        n_obs = len(OBSERVATION) + len(DEVICE_ENTRIES)
        self.observation_spaces = {a: spaces.Box(-10.0, 10.0, (n_obs,), np.float32) for a in self.possible_agents}
        self.agents: list[str] = []

    def _community(self) -> Community:
        c = self.config
        scenario = c["scenario"] if not isinstance(c["scenario"], str) else load_scenario(c["scenario"])
        if scenario.n_agents != c["n_microgrids"]:
            raise ScenarioError(
                f"env_config['n_microgrids'] = {c['n_microgrids']}, but scenario {scenario.name!r} has "
                f"{scenario.n_agents} microgrids (one per feeder section)"
            )
        end = c["start"] + c["max_episode_steps"]
        if end > scenario.time.n_steps:
            raise ScenarioError(
                f"env_config: start {c['start']} + max_episode_steps {c['max_episode_steps']} exceeds the "
                f"{scenario.time.n_steps} steps of scenario {scenario.name!r}"
            )
        h = self.horizontal
        if self.consensus is None:  # off, or P2P trading with the protocol's pricing, k and fee
            market = (
                {"mechanism": "none"}
                if h is None
                else {"mechanism": h.pricing, "k": h.k, "fee_per_kwh": h.fee_per_unit}
            )
            scenario = scenario.model_copy(update={"market": scenario.market.model_copy(update=market)})
        return build_community(scenario)

    def _agent_tree(self) -> SystemAgent:
        """One coordinator per microgrid over its devices (field agents with their set-point ranges)."""
        agents, network = self.community.agents, self.engine.network
        taps = self._tap_range = None if network is None else network.tap_range()
        banks = None if network is None else network.capacitor_sections()
        coordinators = []
        for i, mg in enumerate(agents.ids):
            devices = []
            if agents.generators.capacity_kw[i] > 0:
                devices.append(FieldAgent(f"{mg}.generator", 0.0, float(agents.generators.capacity_kw[i])))
            if agents.battery.capacity_kwh[i] > 0:
                power = float(agents.battery.power_kw[i])
                devices.append(FieldAgent(f"{mg}.storage", -power, power))
            if taps is not None:
                devices.append(FieldAgent(f"{mg}.regulator", float(taps[0][i]), float(taps[1][i])))
            if banks is not None and banks[i]:
                devices.append(FieldAgent(f"{mg}.capacitor", 0.0, 1.0))  # the banks: out (< 0.5) or in
            coordinators.append(CoordinatorAgent(mg, children=tuple(devices), vertical_protocol=self.vertical))
        return SystemAgent("system", coordinators=tuple(coordinators), horizontal_protocol=self.horizontal)

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self.action_spaces[agent]

    def reset(self, seed: int | None = None, options: dict | None = None):
        from heron.messaging import InMemoryBroker

        c, options = self.config, options or {}
        # other option keys are ignored, as PettingZoo's conformance test (parallel_api_test) requires
        start = int(options.get("start", c["start"]))
        last = self.community.n_steps - c["max_episode_steps"]
        if not 0 <= start <= last:
            raise ScenarioError(
                f"reset options['start'] must be a step in [0, {last}] (the scenario has {self.community.n_steps} "
                f"steps, episodes {c['max_episode_steps']}), got {start}"
            )
        self.stop = start + c["max_episode_steps"]
        self.obs = self.engine.reset(start, self.stop)
        self.rewards.reset(start, self.stop)
        self.broker = InMemoryBroker(
            latency=c["latency"], drop_probability=c["drop_probability"], seed=c["seed"] if seed is None else seed
        )
        totals = ("p2p_kwh", "cost", "import_kwh", "export_kwh", "nonfinite")
        self.totals = {k: np.zeros(self.n) for k in totals}
        self.agents = self.possible_agents[:]
        self.incremental_cost = float("nan")
        return self._observations(), {a: {} for a in self.agents}

    def _observations(self) -> dict[str, np.ndarray]:
        features = self.features.build(self.obs)
        return {agent: features[i] for i, agent in enumerate(self.possible_agents)}

    def setpoints(self, i: int, action: np.ndarray) -> dict[str, float]:
        """Device set-points of microgrid ``i`` through its coordinator's vertical protocol: kW for generator and
        storage (+ discharge), a step for the regulator, a state in [0, 1] for the capacitors (in from 0.5). A
        non-finite action passes through as NaN (the engine's FeasibilityFilter replaces it by the safe action and
        counts it); a wrong shape is an ActionError."""
        coordinator = self.system.coordinators[i]
        expected = (1,) if self.price_coordination else (len(self.slots),)
        if action.shape != expected:
            what = "one price signal (price coordination)" if self.price_coordination else f"one value per {self.slots}"
            raise ActionError(f"{coordinator.id}: the action is {what}, shape {expected}; got {action.shape}")
        kinds = [child.id.rsplit(".", 1)[1] for child in coordinator.children]
        if not np.isfinite(action).all():
            return dict.fromkeys(kinds, float("nan"))
        if self.price_coordination:
            return self._price_response(i, float(action[0]), kinds)
        low, high = coordinator.bounds
        mine = np.array([k in self.slots for k in kinds], dtype=bool)  # the devices this action sets
        kinds = [k for k in kinds if k in self.slots]
        own = action[[self.slots.index(k) for k in kinds]]
        return dict(zip(kinds, coordinator.vertical_protocol.split(own, low[mine], high[mine]).tolist(), strict=True))

    def _price_response(self, i: int, signal: float, kinds: list[str]) -> dict[str, float]:
        """The price signal in [-1, 1] placed in [feed-in, retail] of the step and broadcast to the generator and
        the battery (charges at or below the lower quarter of the band, discharges above the upper quarter); the
        regulator and the capacitors follow their voltage rules."""
        obs, agents = self.obs, self.community.agents
        lo, hi = float(obs.feed_in), float(obs.retail)
        price = lo + 0.5 * (float(np.clip(signal, -1.0, 1.0)) + 1.0) * (hi - lo)
        devices = np.array([k for k in kinds if k not in ("regulator", "capacitor")])
        n = devices.size
        rules = PriceResponse(
            devices,
            capacity=np.full(n, agents.generators.capacity_kw[i]),
            marginal_cost=np.full(n, agents.generators.marginal_cost[i]),
            power=np.full(n, agents.battery.power_kw[i]),
            charge_threshold=np.full(n, lo + 0.25 * (hi - lo)),
            discharge_threshold=np.full(n, hi - 0.25 * (hi - lo)),
        )
        signal_protocol, network = self.vertical, self.community.network
        assert isinstance(signal_protocol, PriceSignalProtocol) and network is not None  # price coordination
        points = dict(zip(devices.tolist(), signal_protocol.split(price, rules, n).tolist(), strict=True))
        band = network.config.voltage_band
        by_rule = regulate(Actions.idle(self.n), obs, band, capacitors=True, tap_range=self._tap_range)
        for kind, value in (("regulator", by_rule.tap), ("capacitor", by_rule.capacitor)):
            if kind in kinds and value is not None:
                points[kind] = float(value[i])
        return points

    def _actions(self, actions: dict[str, np.ndarray]) -> tuple[Actions, np.ndarray]:
        """The engine's Actions from the coordinators' decisions, and which microgrids sent a non-finite one."""
        obs, n = self.obs, self.n
        if self.setpoint_map is not None:  # every microgrid at once, as arrays (SetpointMap)
            wrong = [i for i, a in enumerate(self.possible_agents) if np.shape(actions[a]) != (len(self.slots),)]
            if wrong:  # the ActionError of the per-microgrid path, naming the coordinator
                self.setpoints(wrong[0], np.asarray(actions[self.possible_agents[wrong[0]]], dtype=float))
            stacked = np.array([actions[a] for a in self.possible_agents], dtype=float)
            battery, generator, tap, capacitor, nonfinite = self.setpoint_map.setpoints(stacked, obs.tap, obs.capacitor)
            return self._with_orders(obs, battery, generator, tap, capacitor, nonfinite)
        battery, generator, tap, capacitor = np.zeros(n), np.zeros(n), obs.tap.copy(), obs.capacitor.copy()
        nonfinite = np.zeros(n, dtype=bool)
        for i, agent in enumerate(self.possible_agents):
            action = np.asarray(actions[agent], dtype=float)
            nonfinite[i] = not np.isfinite(action).all()
            points = self.setpoints(i, action)
            battery[i] = -points.get("storage", 0.0)
            generator[i] = points.get("generator", 0.0)
            tap[i] = points.get("regulator", tap[i])
            capacitor[i] = points.get("capacitor", capacitor[i])
        return self._with_orders(obs, battery, generator, tap, capacitor, nonfinite)

    def _with_orders(self, obs, battery, generator, tap, capacitor, nonfinite) -> tuple[Actions, np.ndarray]:
        """The set-points (N,) with the gensets of a consensus dispatch and the P2P orders, as the engine's Actions."""
        if self.consensus is not None:  # the gensets by λ-consensus (powergrid.controllers.consensus_dispatch)
            from powergrid.controllers.consensus_dispatch import dispatch_setpoints

            dispatched, result = dispatch_setpoints(self.community.agents.generators, obs, battery, self.consensus)
            generator, self.incremental_cost = np.where(nonfinite, np.nan, dispatched), result.price
        trade, price = self._orders(obs, battery, generator)
        return Actions(battery, trade, price, generator_kw=generator, tap=tap, capacitor=capacitor), nonfinite

    def _orders(self, obs: Observation, battery: np.ndarray, generator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Orders (kW, + buy) and limit prices: each microgrid's expected deficit bid at the cap, its surplus asked
        at the generator's marginal cost (the floor without one), through the broker in distributed mode."""
        n = self.n
        if self.horizontal is None:
            return np.zeros(n), np.full(n, obs.price_floor)
        need, price = p2p_orders(obs, self.community, battery, generator)
        if self.config["centralized"]:
            return need, price
        from heron.messaging import Message

        t = int(obs.t)
        for i, agent in enumerate(self.possible_agents):
            payload = {"index": i, "quantity": float(need[i]), "price": float(price[i])}
            self.broker.send(Message(agent, "market", "order", payload, t))
        delivered = np.zeros(n)
        limit = np.full(n, obs.price_floor)
        for message in self.broker.deliver(t).get("market", []):
            if message.sent_at == t:  # an order for an earlier step has expired
                delivered[message.payload["index"]] = message.payload["quantity"]
                limit[message.payload["index"]] = message.payload["price"]
        return delivered, limit

    def step(self, actions: dict[str, np.ndarray]):
        require_actions(self.agents, actions, "microgrids", show=None)
        engine_actions, nonfinite = self._actions(actions)
        result = self.engine.step(engine_actions, self.obs)
        rewards, _ = self.rewards.step(result)
        self.obs = self.engine.observe()
        self._count(result, nonfinite)
        done = bool(self.engine.done)
        infos = self._infos(result, nonfinite)
        observations = self._observations()
        rewards_d = {a: float(rewards[i]) for i, a in enumerate(self.possible_agents)}
        terminations = dict.fromkeys(self.possible_agents, False)
        truncations = dict.fromkeys(self.possible_agents, done)
        if done:
            self.agents = []
        return observations, rewards_d, terminations, truncations, infos

    def _count(self, r: StepResult, nonfinite: np.ndarray) -> None:
        for key, value in (
            ("p2p_kwh", r.bought + r.sold),
            ("cost", r.cash_cost + r.unserved_cost),
            ("import_kwh", r.imported),
            ("export_kwh", r.exported),
            ("nonfinite", nonfinite.astype(float)),
        ):
            self.totals[key] += value

    def _infos(self, r: StepResult, nonfinite: np.ndarray) -> dict[str, dict]:
        violations = r.network.section_violations if r.network is not None else np.zeros(self.n)
        return {
            a: {
                "net_position_kwh": float(r.exported[i] - r.imported[i] + r.sold[i] - r.bought[i]),
                "p2p_kwh": float(r.bought[i] - r.sold[i]),
                "p2p_payment": float(r.p2p_payment[i]),
                "fees": float(r.fees[i] + r.network_charges[i]),
                "operating_cost": float(r.fuel_cost[i]),
                "grid_import_kwh": float(r.imported[i]),
                "grid_export_kwh": float(r.exported[i]),
                "voltage_violations": float(violations[i]),
                "tap": float(r.tap[i]),
                "soc_kwh": float(r.soc[i]),
                "generation_kwh": float(r.generation[i]),
                "cost": float(r.cash_cost[i] + r.unserved_cost[i]),
                "nonfinite": bool(nonfinite[i]),
                "incremental_cost": self.incremental_cost,
                "result": r,
            }
            for i, a in enumerate(self.possible_agents)
        }
