"""MultiAgentMicrogrids: microgrids on IEEE 13 node feeders trading with each other (PettingZoo ParallelEnv).

The seed example's API, as written there: ``MultiAgentMicrogrids(env_config)`` with ``env_config`` keys
``centralized``, ``max_episode_steps`` and ``horizontal_protocol``, plus optional keys (``CONFIG_DEFAULTS``).

Each microgrid is an IEEE 13 node feeder (our OpenDSS reader, asymmetric power flow) whose spot loads follow a
daily household profile (peak = the feeder's rated load), with devices at fixed buses: MG1 a generator (bus 671)
and a battery (675); MG2 a battery (675) and PV (680); further microgrids alternate. Each step:
1. each microgrid's action (Box(-1, 1, n_devices)) is split into device set-points by its vertical protocol
   (``SetpointProtocol``): generator output in [0, rating], battery in [-rating, rating] (+ discharge, clipped to
   its state of charge), PV in [0, available] (curtailment);
2. a power flow per microgrid gives its head flow, losses and voltages; its net position is the negative head flow
   (+ surplus);
3. the horizontal protocol (``P2PTradingProtocol``) clears surplus offers (at the generator's marginal cost, or
   feed-in) against deficit bids (at retail); in distributed mode offers travel through a message broker;
4. what is not traded settles with the upstream grid at retail / feed-in;
5. reward = −(operating cost + grid bill + P2P payments + fees) − penalties (voltage band, overload, SoC band).
Energy: grid import − export = head flow − P2P bought + P2P sold for every microgrid; money: P2P payments sum to 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from gymnasium import spaces
from pettingzoo import ParallelEnv

from powergrid.data.profiles import TimeGrid
from powergrid.data.synthetic import Location, synthetic_profiles
from powergrid.devices.battery import BatteryFleet
from powergrid.devices.price_response import PriceResponse
from powergrid.envs.action_map import require_actions
from powergrid.errors import ActionError, ConservationError, ScenarioError
from powergrid.network.ieee13 import build_ieee13
from powergrid.network.powerflow import FeederSolver

CONFIG_DEFAULTS: dict[str, Any] = {
    "centralized": True,
    "max_episode_steps": 24,
    "horizontal_protocol": None,
    "n_microgrids": 2,
    "vertical_protocol": None,  # default SetpointProtocol()
    "seed": 0,
    "start": "2024-06-03T00:00:00",
    "step_minutes": 60,
    "retail": 0.25,
    "feed_in": 0.05,
    "latency": 0,
    "drop_probability": 0.0,
    "voltage_penalty": 1.0,
    "overload_penalty": 10.0,
    "soc_penalty": 1.0,
}
DEVICE_BUS = {"generator": "671", "storage": "675", "solar": "680"}
DESIGNS = (("generator", "storage"), ("storage", "solar"))


@dataclass(frozen=True)
class Ratings:
    """Device sizes (kW, kWh) and generator cost (currency/kWh at zero output, + per kW of output)."""

    generator_kw: float = 2500.0
    generator_cost: float = 0.06
    generator_cost_slope: float = 0.00002
    storage_kwh: float = 2000.0
    storage_kw: float = 500.0
    solar_kw: float = 2500.0


class MultiAgentMicrogrids(ParallelEnv):
    metadata: ClassVar[dict] = {"name": "multi_agent_microgrids_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(self, env_config: dict | None = None) -> None:
        config = dict(env_config or {})
        unknown = sorted(set(config) - set(CONFIG_DEFAULTS))
        if unknown:
            raise ScenarioError(
                f"MultiAgentMicrogrids: unknown env_config keys {unknown}; known: {sorted(CONFIG_DEFAULTS)}"
            )
        self.config = {**CONFIG_DEFAULTS, **config}
        c = self.config
        if not isinstance(c["max_episode_steps"], int) or c["max_episode_steps"] < 1:
            raise ScenarioError(
                f"env_config['max_episode_steps'] must be a positive int, got {c['max_episode_steps']!r}"
            )
        if not isinstance(c["n_microgrids"], int) or c["n_microgrids"] < 2:
            raise ScenarioError(f"env_config['n_microgrids'] must be an int >= 2, got {c['n_microgrids']!r}")
        from heron.protocols.vertical import PriceSignalProtocol, SetpointProtocol

        self.vertical = c["vertical_protocol"] or SetpointProtocol()
        if not isinstance(self.vertical, SetpointProtocol | PriceSignalProtocol):
            raise ScenarioError(
                f"env_config['vertical_protocol'] must be a SetpointProtocol or PriceSignalProtocol, "
                f"got {type(self.vertical).__name__}"
            )
        self.price_coordination = isinstance(self.vertical, PriceSignalProtocol)
        self.horizontal = c["horizontal_protocol"]
        self.ratings = Ratings()
        self.possible_agents = [f"MG{i + 1}" for i in range(c["n_microgrids"])]
        self.devices = [DESIGNS[i % len(DESIGNS)] for i in range(c["n_microgrids"])]
        self.steps = c["max_episode_steps"]
        self._build_profiles()
        self._build_grids()
        n_obs = 11
        self.observation_spaces = {a: spaces.Box(-10.0, 10.0, (n_obs,), np.float32) for a in self.possible_agents}
        self.action_spaces = {
            a: spaces.Box(-1.0, 1.0, (1 if self.price_coordination else len(d),), np.float32)
            for a, d in zip(self.possible_agents, self.devices, strict=True)
        }
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Box:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Box:
        return self.action_spaces[agent]

    def _build_profiles(self) -> None:
        c = self.config
        grid = TimeGrid(pd.Timestamp(c["start"]), c["step_minutes"], self.steps, 10.0)
        n = len(self.possible_agents)
        profiles = synthetic_profiles(grid, Location(-33.87, 151.21, 20.0, 10.0), self.possible_agents,
                                      np.ones(n), np.full(n, 1000.0), seed=c["seed"])  # fmt: skip
        self.dt = grid.dt_hours
        self.load_factor = profiles.load_kw / profiles.load_kw.max(axis=0)
        self.pv_per_kw = profiles.pv_kw  # kW per kW of PV rating
        hour = grid.index.hour.to_numpy() + grid.index.minute.to_numpy() / 60
        self.hour = np.stack([np.sin(2 * np.pi * hour / 24), np.cos(2 * np.pi * hour / 24)], axis=1)

    def _build_grids(self) -> None:
        # One model for all microgrids (same feeder): every device position, 3 phases each; a microgrid without a
        # device leaves it at zero; all microgrids are solved in one batch call per step.
        feeder = build_ieee13()
        node_of = dict(zip(feeder.node_names, feeder.node_ids.tolist(), strict=True))
        self.kinds = list(DEVICE_BUS)
        nodes = np.repeat([node_of[DEVICE_BUS[d]] for d in self.kinds], 3)
        self.solver = FeederSolver(feeder, nodes, np.tile([0, 1, 2], len(self.kinds)))
        r = self.ratings
        n = len(self.possible_agents)
        cap = np.full(n, r.storage_kwh)
        self.fleet = BatteryFleet(
            capacity_kwh=cap, power_kw=np.full(n, r.storage_kw), soc_min_kwh=0.1 * cap, soc_max_kwh=0.9 * cap,
            initial_soc_kwh=0.5 * cap, charge_efficiency=np.full(n, 0.95), discharge_efficiency=np.full(n, 0.95),
            ramp_kw=np.full(n, np.inf), degradation_cost=np.zeros(n),
        )  # fmt: skip

    def reset(self, seed: int | None = None, options: dict | None = None):
        from heron.messaging import InMemoryBroker

        self.t = 0
        self.soc = self.fleet.initial_soc_kwh.copy()
        self.last_price = 0.0
        self.last_traded = np.zeros(len(self.possible_agents))
        self.last_v = np.ones((len(self.possible_agents), 2))
        self.broker = InMemoryBroker(latency=self.config["latency"], drop_probability=self.config["drop_probability"],
                                     seed=self.config["seed"] if seed is None else seed)  # fmt: skip
        totals = ("p2p_kwh", "cost", "import_kwh", "export_kwh", "nonfinite")
        self.totals = {k: np.zeros(len(self.possible_agents)) for k in totals}
        self.agents = self.possible_agents[:]
        return self._observations(), {a: {} for a in self.agents}

    def _observations(self) -> dict[str, np.ndarray]:
        t = min(self.t, self.steps - 1)
        c = self.config
        out = {}
        for i, agent in enumerate(self.possible_agents):
            obs = [self.load_factor[t, i], self.pv_per_kw[t, i], self.soc[i] / self.fleet.capacity_kwh[i],
                   *self.hour[t], c["retail"] / c["retail"], c["feed_in"] / c["retail"], self.last_price / c["retail"],
                   self.last_traded[i] / self.ratings.storage_kw, *self.last_v[i]]  # fmt: skip
            out[agent] = np.clip(np.array(obs, dtype=np.float32), -10, 10)
        return out

    def _setpoints(self, i: int, action: np.ndarray) -> dict[str, float]:
        """Device set-points (kW) of microgrid ``i``; a non-finite action gets the safe set-points (generator and
        battery idle, PV as available: the grid-only microgrid), like the community's FeasibilityFilter does."""
        r, devices = self.ratings, self.devices[i]
        max_c, max_d = self.fleet.power_bounds(self.soc, self.dt)
        available_pv = r.solar_kw * self.pv_per_kw[self.t, i]
        expected = (1,) if self.price_coordination else (len(devices),)
        if action.shape != expected:
            what = "one price signal (price coordination)" if self.price_coordination else "one value per device"
            raise ActionError(f"{self.possible_agents[i]}: the action is {what}, shape {expected}; got {action.shape}")
        if not np.isfinite(action).all():
            safe = {"generator": 0.0, "storage": 0.0, "solar": available_pv}
            return {d: safe[d] for d in devices}
        if self.price_coordination:
            points = self._price_response(action, devices, available_pv)
        else:
            low = {"generator": 0.0, "storage": -r.storage_kw, "solar": 0.0}
            high = {"generator": r.generator_kw, "storage": r.storage_kw, "solar": available_pv}
            values = self.vertical.split(action, np.array([low[d] for d in devices]),
                                         np.array([high[d] for d in devices]))  # fmt: skip
            points = dict(zip(devices, values.tolist(), strict=True))
        if "storage" in points:  # + discharge; the state of charge limits both directions
            points["storage"] = float(np.clip(points["storage"], -max_c[i], max_d[i]))
        return points

    def _price_response(self, action: np.ndarray, devices: tuple[str, ...], available_pv: float) -> dict[str, float]:
        """Price coordination: the action (one value in [-1, 1]) is the microgrid's internal price, placed in
        [feed-in, retail], broadcast by the PriceSignalProtocol; the generator and the battery answer by their
        rules in ``powergrid.devices.price_response`` (battery:
        charges at or below the lower quarter of the band, discharges above the upper quarter); PV runs at what is
        available."""
        c, r = self.config, self.ratings
        lo, hi = c["feed_in"], c["retail"]
        price = lo + 0.5 * (float(np.clip(action[0], -1.0, 1.0)) + 1.0) * (hi - lo)
        kinds = np.array([d for d in devices if d != "solar"])
        n = kinds.size
        rules = PriceResponse(
            kinds, capacity=np.full(n, r.generator_kw), marginal_cost=np.full(n, r.generator_cost),
            power=np.full(n, r.storage_kw), charge_threshold=np.full(n, lo + 0.25 * (hi - lo)),
            discharge_threshold=np.full(n, hi - 0.25 * (hi - lo)),
        )  # fmt: skip
        response = self.vertical.split(price, rules, n)
        points = dict(zip(kinds.tolist(), np.asarray(response, dtype=float).tolist(), strict=True))
        if "solar" in devices:
            points["solar"] = available_pv
        return points

    def step(self, actions: dict[str, np.ndarray]):
        require_actions(self.agents, actions, "microgrids", show=None)
        c, r, dt, t = self.config, self.ratings, self.dt, self.t
        n = len(self.possible_agents)
        operating = np.zeros(n)
        supply = np.zeros((n, 3 * len(self.kinds)))
        nonfinite = np.array([not np.isfinite(np.asarray(actions[a], dtype=float)).all() for a in self.possible_agents])
        for i, agent in enumerate(self.possible_agents):
            points = self._setpoints(i, np.asarray(actions[agent], dtype=float))
            for d, value in points.items():
                k = self.kinds.index(d)
                supply[i, 3 * k : 3 * k + 3] = value / 3.0
            gen = points.get("generator", 0.0)
            operating[i] = (r.generator_cost + r.generator_cost_slope * gen) * gen * dt
            if "storage" in points:
                out = points["storage"]
                self.soc[i] = self.fleet.next_soc(self.soc[i : i + 1], np.array([max(-out, 0.0) * dt]),
                                                  np.array([max(out, 0.0) * dt]))[0]  # fmt: skip
        flow = self.solver.solve_batch(-supply, np.zeros_like(supply), self.load_factor[t])
        need = flow.head_kw * dt
        traded, payment, fees, price = self._trade(need, operating, t)
        net_grid = need - traded
        imported, exported = np.maximum(net_grid, 0.0), np.maximum(-net_grid, 0.0)
        grid_bill = imported * c["retail"] - exported * c["feed_in"]
        violations = flow.violations.astype(float)
        overloads = flow.overloads.astype(float)
        cap = self.fleet.capacity_kwh
        soc_out = (np.maximum(0.15 * cap - self.soc, 0) + np.maximum(self.soc - 0.85 * cap, 0)) / cap
        cost = operating + grid_bill + payment + fees
        rewards = -(cost + c["voltage_penalty"] * violations + c["overload_penalty"] * overloads
                    + c["soc_penalty"] * soc_out)  # fmt: skip
        if abs(traded.sum()) > 1e-9 or abs(payment.sum()) > 1e-9:
            raise ConservationError(f"P2P trades do not balance at step {t}: {traded.sum()} kWh, {payment.sum()}")
        self.last_price = price if np.isfinite(price) else 0.0
        self.last_traded = traded / dt
        self.last_v = np.stack([flow.v_min, flow.v_max], axis=1)
        for key, value in (
            ("p2p_kwh", np.abs(traded)),
            ("cost", cost),
            ("import_kwh", imported),
            ("export_kwh", exported),
            ("nonfinite", nonfinite.astype(float)),
        ):
            self.totals[key] += value
        self.t += 1
        done = self.t >= self.steps
        infos = {
            a: {"net_position_kwh": -need[i], "p2p_kwh": traded[i], "p2p_payment": payment[i], "fees": fees[i],
                "operating_cost": operating[i], "grid_import_kwh": imported[i], "grid_export_kwh": exported[i],
                "losses_kwh": float(flow.losses_kw[i]) * dt, "voltage_violations": violations[i],
                "overloads": overloads[i], "soc_kwh": self.soc[i], "cost": cost[i], "nonfinite": bool(nonfinite[i])}
            for i, a in enumerate(self.possible_agents)
        }  # fmt: skip
        observations = self._observations()
        rewards_d = {a: float(rewards[i]) for i, a in enumerate(self.possible_agents)}
        terminations = dict.fromkeys(self.possible_agents, False)
        truncations = dict.fromkeys(self.possible_agents, done)
        if done:
            self.agents = []
        return observations, rewards_d, terminations, truncations, infos

    def _trade(self, need: np.ndarray, operating: np.ndarray, t: int):
        """(traded kWh + bought, payments, fees, clearing price) through the horizontal protocol."""
        n = need.size
        zeros = np.zeros(n)
        if self.horizontal is None:
            return zeros, zeros.copy(), zeros.copy(), float("nan")
        c = self.config
        position = -need  # + surplus
        r = self.ratings
        marginal = np.where(position > 0, c["feed_in"], c["retail"])
        with_gen = np.array(["generator" in d for d in self.devices])
        marginal = np.where((position > 0) & with_gen, np.clip(r.generator_cost, c["feed_in"], c["retail"]), marginal)
        if not self.config["centralized"]:
            from heron.messaging import Message

            for i, agent in enumerate(self.possible_agents):
                self.broker.send(Message(agent, "market", "offer", {"index": i, "quantity": float(position[i]),
                                                                   "price": float(marginal[i])}, t))  # fmt: skip
            delivered = self.broker.deliver(t).get("market", [])
            position, marginal = np.zeros(n), np.full(n, c["feed_in"])
            for msg in delivered:
                position[msg.payload["index"]] = msg.payload["quantity"]
                marginal[msg.payload["index"]] = msg.payload["price"]
        result = self.horizontal.clear(position, marginal, c["feed_in"], c["retail"])
        return result.traded, result.payment, result.fees, float(result.price)
