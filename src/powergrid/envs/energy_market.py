"""EnergyMarketEnv: the prosumer community as a PettingZoo ParallelEnv (agents = households).

Each agent observes the features of ``powergrid.policy.features`` (float32, in [-10, 10]) and acts in
Box(-1, 1, (3,)): battery power (share of its rating), P2P order (share of its largest possible order) and limit
price (placed in the step's price band) — see ``powergrid.policy.action_map``. The engine does the rest: the
FeasibilityFilter, the market, settlement, the power flow (every step, when the scenario has a feeder) and the
accounting; the reward comes from the RewardTracker on the engine's step result.

Episodes are ``split.episode_days`` consecutive days of the chosen split (``"train"``, ``"test"`` or ``"all"``),
drawn with the environment's seeded generator (or chosen with ``reset(options={"day": d})``). An episode ends by
truncation at its last step. Forecasts never reach beyond the episode, and normalisation uses training days only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from powergrid.engine import CommunityEngine, StepResult
from powergrid.engine.result import INTERVENTION_FIELDS
from powergrid.envs.episodes import episode_setup
from powergrid.errors import ActionError, ScenarioError
from powergrid.policy.action_map import require_actions, scale_actions
from powergrid.policy.features import CLIP
from powergrid.reward import RewardTracker
from powergrid.safety import SafetySupervisor
from powergrid.scenarios.build import Community
from powergrid.scenarios.loader import ScenarioLike


class EnergyMarketEnv(ParallelEnv):
    """A PettingZoo ParallelEnv over the community engine.

    Args:
        scenario: a built-in scenario name, a YAML path or a Scenario.
        seed: the scenario's seed (data) and the episode sampler's seed.
        split: which days episodes are drawn from: ``"train"``, ``"test"`` or ``"all"``.
        horizon: forecast steps in the observation (from the scenario's ``mpc.forecaster``).
        supervisor: a SafetySupervisor (trained policies); agents with out-of-distribution observations are
            switched to grid-only for the step.
        community: an already built Community (skips building; must match ``scenario``).
    """

    metadata: ClassVar[dict] = {"name": "energy_market_v0", "render_modes": [], "is_parallelizable": True}

    def __init__(
        self,
        scenario: ScenarioLike = "prosumer-20",
        seed: int = 0,
        split: str = "train",
        horizon: int = 4,
        supervisor: SafetySupervisor | None = None,
        community: Community | None = None,
    ) -> None:
        self.episodes = episode_setup(scenario, seed, split, horizon, community)
        c = self.community = self.episodes.community
        self.split, self.starts, self.builder = split, self.episodes.starts, self.episodes.builder
        self.episode_steps = self.episodes.episode_steps
        self.engine = CommunityEngine(c)
        self.rewarder = RewardTracker(c)
        self.supervisor = supervisor
        self.render_mode: str | None = None  # no rendering (PettingZoo and SB3 read this attribute)
        self.possible_agents = list(c.agents.ids)
        self.agents: list[str] = []
        self._obs_space = spaces.Box(-CLIP, CLIP, (self.builder.n_features,), np.float32)
        self._act_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        n, f = len(self.possible_agents), self.builder.n_features
        self.state_space = spaces.Box(-CLIP, CLIP, (n * f,), np.float32)  # every agent's features (centralised critic)
        self.observation_spaces = {a: self._obs_space for a in self.possible_agents}
        self.action_spaces = {a: self._act_space for a in self.possible_agents}
        self._rng = np.random.default_rng(seed)
        self.last_result: StepResult | None = None

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Box:
        return self._act_space

    @property
    def n_agents(self) -> int:
        return len(self.possible_agents)

    # --- array-first core (used by the Gymnasium/SB3 faces) -------------------------------------------------
    def reset_array(self, seed: int | None = None, day: int | None = None) -> np.ndarray:
        """Start an episode; returns the features (N, F)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        if day is None:
            day = int(self._rng.choice(self.starts))
        elif day not in set(self.starts.tolist()):
            raise ScenarioError(f"day {day} does not start a {self.split} episode; choose from {self.starts.tolist()}")
        start, stop = self.episodes.window(day)
        self._obs = self.engine.reset(start, stop)
        self.rewarder.reset(start, self.engine.stop)
        self._features = self.builder.build(self._obs, self.engine.stop)
        self.day = day
        return self._features

    def step_array(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, dict[str, Any]]:
        """One step with normalised actions (N, 3); returns (features, rewards (N,), episode over, info)."""
        a = np.asarray(actions, dtype=float)
        if a.shape != (self.n_agents, 3):
            raise ActionError(f"actions must have shape ({self.n_agents}, 3), got {a.shape}")
        fallback = self.supervisor.out_of_distribution(self._features) if self.supervisor is not None else None
        result = self.engine.step(
            scale_actions(a, self._obs, self.community.agents.battery.power_kw), self._obs, fallback
        )
        rewards, components = self.rewarder.step(result)
        done = bool(self.engine.done)  # a single engine's flag (already a bool; (K,) only for a batched engine)
        self._obs = self.engine.observe()  # after the last step: the terminal observation (state after it)
        self._features = self.builder.build(self._obs, self.engine.stop)
        self.last_result = result
        return self._features, rewards, done, {"result": result, "components": components}

    # --- PettingZoo ParallelEnv ------------------------------------------------------------------------------
    def state(self) -> np.ndarray:
        """The global state for a centralised critic (MAPPO): every agent's current features, (N·F,) float32."""
        return self._features.reshape(-1)

    def reset(self, seed: int | None = None, options: dict | None = None):
        features = self.reset_array(seed, (options or {}).get("day"))
        self.agents = self.possible_agents[:]
        return {a: features[i] for i, a in enumerate(self.agents)}, {a: {"day": self.day} for a in self.agents}

    def step(self, actions: dict[str, np.ndarray]):
        require_actions(self.agents, actions, "agents")
        features, rewards, done, info = self.step_array(np.stack([actions[a] for a in self.agents]))
        components, flags = info["components"], info["result"].interventions
        infos = {
            a: {
                **{k: float(v[i]) for k, v in components.items()},
                **{f.name: bool(f.of(flags)[i]) for f in INTERVENTION_FIELDS},
            }
            for i, a in enumerate(self.agents)
        }
        observations = {a: features[i] for i, a in enumerate(self.agents)}
        reward = {a: float(rewards[i]) for i, a in enumerate(self.agents)}
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        if done:
            self.agents = []
        return observations, reward, terminations, truncations, infos
