"""BatchedEnergyMarketEnv: K copies of the community stepped as (K, N) arrays in one engine call.

The array-first face for learners that want many environments at once (vectorised PPO/MAPPO rollouts): one
``CommunityEngine(copies=K)`` step runs every copy's FeasibilityFilter, market (K order books in one clearing
call), settlement, balance checks and — with a feeder — the K power flows in one power-grid-model batch. Each
copy runs its own episodes (``split.episode_days`` days of the chosen split, drawn with the environment's seeded
generator); a copy whose episode ends restarts at once, and ``step`` returns that copy's terminal features in
``info["terminal_features"]`` (the convention of vectorised environments: SB3 ``VecEnv``, Gymnasium's
``autoreset``). Observations, actions and rewards are those of ``EnergyMarketEnv`` (same ObservationBuilder,
action map and RewardTracker), with a leading copy axis; ``state()`` is each copy's global state (all agents'
features, (K, N·F)) for centralised critics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from powergrid.engine import CommunityEngine
from powergrid.envs.episodes import episode_setup
from powergrid.errors import ActionError, ScenarioError
from powergrid.policy.action_map import scale_actions
from powergrid.reward import RewardTracker
from powergrid.scenarios.build import Community
from powergrid.scenarios.loader import ScenarioLike


class BatchedEnergyMarketEnv:
    """K copies of the community as one array environment.

    Args:
        scenario: a built-in scenario name, a YAML path or a Scenario.
        copies: K, the number of copies (≥ 1).
        seed: the scenario's seed (data) and the episode sampler's seed.
        split: which days episodes are drawn from: ``"train"``, ``"test"`` or ``"all"``.
        horizon: forecast steps in the observation.
        community: an already built Community (skips building; must match ``scenario``).

    Shapes: features (K, N, F) float32, actions (K, N, 3) in [-1, 1], rewards (K, N), episode ends (K,) bool.
    Raises ScenarioError for a bad split or copies < 1, ActionError for actions of the wrong shape.
    """

    def __init__(
        self,
        scenario: ScenarioLike = "prosumer-20",
        copies: int = 64,
        seed: int = 0,
        split: str = "train",
        horizon: int = 4,
        community: Community | None = None,
    ) -> None:
        if copies < 1:
            raise ScenarioError(f"copies must be at least 1, got {copies}")
        self.episodes = episode_setup(scenario, seed, split, horizon, community)
        c = self.community = self.episodes.community
        self.copies, self.split, self.starts = copies, split, self.episodes.starts
        self.episode_steps, self.builder = self.episodes.episode_steps, self.episodes.builder
        self.engine = CommunityEngine(c, copies=copies)
        self.rewarder = RewardTracker(c, copies=copies)
        self._rng = np.random.default_rng(seed)
        self.day = np.zeros(copies, dtype=np.int64)
        self.render_mode: str | None = None  # no rendering (SB3 reads this attribute)

    @property
    def n_agents(self) -> int:
        return self.community.n_agents

    @property
    def n_features(self) -> int:
        return self.builder.n_features

    @property
    def n_actions(self) -> int:
        """Actions per agent: battery, trade quantity, limit price."""
        return 3

    def _draw(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New episode windows for the copies in ``which``: (start, stop) arrays (K,)."""
        self.day = np.where(which, self._rng.choice(self.starts, size=self.copies), self.day)
        return self.episodes.window(self.day)

    def reset(self, seed: int | None = None) -> np.ndarray:
        """Start an episode in every copy; returns the features (K, N, F)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        start, stop = self._draw(np.ones(self.copies, dtype=bool))
        self._obs = self.engine.reset(start, stop)
        self.rewarder.reset(start, stop)
        self._features = self.builder.build(self._obs, self.engine.stop)
        return self._features

    def state(self) -> np.ndarray:
        """Each copy's global state for a centralised critic: every agent's features, (K, N·F) float32."""
        return self._features.reshape(self.copies, -1)

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every copy with normalised actions (K, N, 3). Returns (features (K, N, F), rewards (K, N),
        episode ended (K,), info) where ``info`` holds the engine's ``result`` (arrays (K, N)), the reward
        ``components`` and, for the copies whose episode ended (they have restarted), ``terminal_features``
        (K, N, F) (rows of the other copies are their current features)."""
        a = np.asarray(actions, dtype=float)
        if a.shape != (self.copies, self.n_agents, 3):
            raise ActionError(f"actions must have shape ({self.copies}, {self.n_agents}, 3), got {a.shape}")
        result = self.engine.step(scale_actions(a, self._obs, self.community.agents.battery.power_kw), self._obs)
        rewards, components = self.rewarder.step(result)
        ended = np.asarray(self.engine.done).copy()
        info: dict[str, Any] = {"result": result, "components": components}
        if ended.any():
            info["terminal_features"] = self.builder.build(self.engine.observe(), self.engine.stop)
            start, stop = self._draw(ended)
            self.engine.restart(ended, start, stop)
            self.rewarder.restart(ended, start, stop)
        self._obs = self.engine.observe()
        self._features = self.builder.build(self._obs, self.engine.stop)
        return self._features, rewards, ended, info
