"""BatchedMultiAgentMicrogrids: K copies of ``MultiAgentMicrogrids`` stepped as arrays in one engine call.

The array face of the microgrid environment for learners and for throughput: one ``CommunityEngine(copies=K)``
step runs every copy's FeasibilityFilter, market (K order books in one clearing call), settlement, balance checks
and the K power flows of the microgrids' feeders in one power-grid-model batch. Each coordinator's action goes
through the heron agent tree as arrays (``SetpointMap``: the tree's field agents flattened, one
``SetpointProtocol.split`` for all copies and microgrids), orders come from ``p2p_orders`` and observations from
``MicrogridFeatures`` — the very functions the single environment uses, so copy k follows exactly the trajectory
of a ``MultiAgentMicrogrids`` given the same actions and episode start. Rewards are the single environment's
(``RewardTracker`` with ``copies=K``).

Episodes: each copy starts its episodes at a step drawn (with the environment's seeded generator) from
``starts`` (default: the config's ``start``) and runs ``max_episode_steps`` steps; a copy whose episode ends
restarts at once and ``step`` returns its terminal features in ``info["terminal_features"]`` (the convention of
vectorised environments, as ``BatchedEnergyMarketEnv``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from powergrid.actions import Actions
from powergrid.engine import CommunityEngine
from powergrid.envs.microgrid_arrays import FEATURES, MicrogridFeatures, SetpointMap, p2p_orders
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from powergrid.errors import ActionError, ScenarioError
from powergrid.reward import RewardTracker


class BatchedMultiAgentMicrogrids:
    """K copies of the microgrid environment as one array environment.

    Args:
        env_config: ``MultiAgentMicrogrids``'s keys (same defaults); the vertical protocol must be a
            ``SetpointProtocol`` and the mode centralised (orders go straight to the market).
        copies: K ≥ 1.
        starts: scenario steps episodes may start at (each copy draws one per episode); default the config's
            ``start``. Every start + ``max_episode_steps`` must lie within the scenario.

    Shapes: features (K, N, F) float32 (F = ``len(FEATURES)``), actions (K, N, S) in [-1, 1] (S = ``n_actions``,
    the slots ``slots``), rewards (K, N), episode ends (K,) bool. Raises ScenarioError for a bad configuration,
    ActionError for actions of the wrong shape.
    """

    def __init__(
        self, env_config: dict | None = None, copies: int = 16, starts: Sequence[int] | np.ndarray | None = None
    ) -> None:
        if not isinstance(copies, int) or copies < 1:
            raise ScenarioError(f"copies must be an int >= 1, got {copies!r}")
        template = MultiAgentMicrogrids(env_config)
        if template.setpoint_map is None:
            raise ScenarioError("BatchedMultiAgentMicrogrids: the vertical protocol must be a SetpointProtocol")
        if template.consensus is not None:
            raise ScenarioError("BatchedMultiAgentMicrogrids: P2P trading or no horizontal protocol (no consensus)")
        if not template.config["centralized"] and template.horizontal is not None:
            raise ScenarioError("BatchedMultiAgentMicrogrids: centralized mode only (no message broker per copy)")
        self.config = template.config
        self.community = c = template.community
        self.possible_agents = template.possible_agents
        self.slots, self.system = template.slots, template.system
        self.map: SetpointMap = template.setpoint_map
        self.features: MicrogridFeatures = template.features
        self.market_on = template.horizontal is not None
        self.copies, self.episode_steps = copies, template.episode_steps
        self.starts = np.asarray([self.config["start"]] if starts is None else starts, dtype=np.int64)
        if self.starts.ndim != 1 or self.starts.size == 0:
            raise ScenarioError("starts must be a non-empty sequence of scenario steps")
        bad = (self.starts < 0) | (self.starts + self.episode_steps > c.n_steps)
        if bad.any():
            raise ScenarioError(
                f"starts {self.starts[bad][:5].tolist()}: an episode of {self.episode_steps} steps must fit in the "
                f"{c.n_steps} steps of the scenario"
            )
        self.engine = CommunityEngine(c, copies=copies)
        self.rewarder = RewardTracker(c, copies=copies)
        self._rng = np.random.default_rng(self.config["seed"])
        self.start = np.zeros(copies, dtype=np.int64)

    @property
    def n_agents(self) -> int:
        return self.community.n_agents

    @property
    def n_features(self) -> int:
        return len(FEATURES)

    @property
    def n_actions(self) -> int:
        return len(self.slots)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURES

    def _draw(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New episode windows for the copies in ``which``: (start, stop) arrays (K,)."""
        self.start = np.where(which, self._rng.choice(self.starts, size=self.copies), self.start)
        return self.start, self.start + self.episode_steps

    def reset(self, seed: int | None = None, start: int | np.ndarray | None = None) -> np.ndarray:
        """Start an episode in every copy (at ``start``, an int or (K,), or drawn from ``starts``); returns the
        features (K, N, F)."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        begin, stop = self._draw(np.ones(self.copies, dtype=bool))
        if start is not None:
            self.start = begin = np.broadcast_to(np.asarray(start, dtype=np.int64), (self.copies,)).copy()
            stop = begin + self.episode_steps
        self._obs = self.engine.reset(begin, stop)
        self.rewarder.reset(begin, stop)
        self._features = self.features.build(self._obs)
        return self._features

    def state(self) -> np.ndarray:
        """Each copy's global state for a centralised critic: every microgrid's features, (K, N·F) float32."""
        return self._features.reshape(self.copies, -1)

    def engine_actions(self, actions: np.ndarray) -> tuple[Actions, np.ndarray]:
        """The engine's Actions (K, N) for normalised actions (K, N, S), and which microgrids sent a non-finite
        action (K, N) bool."""
        a = np.asarray(actions, dtype=float)
        if a.shape != (self.copies, self.n_agents, self.n_actions):
            raise ActionError(
                f"actions must have shape ({self.copies}, {self.n_agents}, {self.n_actions}) (copies, microgrids, "
                f"slots {self.slots}), got {a.shape}"
            )
        obs = self._obs
        battery, generator, tap, capacitor, nonfinite = self.map.setpoints(a, obs.tap, obs.capacitor)
        if self.market_on:
            trade, price = p2p_orders(obs, self.community, battery, generator)
        else:
            trade, price = np.zeros(battery.shape), np.broadcast_to(obs.price_floor, battery.shape).copy()
        return Actions(battery, trade, price, generator_kw=generator, tap=tap, capacitor=capacitor), nonfinite

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every copy. Returns (features (K, N, F), rewards (K, N), episode ended (K,), info) where
        ``info`` holds the engine's ``result`` (arrays (K, N)), the reward ``components``, ``nonfinite`` (K, N) and,
        for the copies whose episode ended (they have restarted), ``terminal_features`` (K, N, F)."""
        engine_actions, nonfinite = self.engine_actions(actions)
        result = self.engine.step(engine_actions, self._obs)
        rewards, components = self.rewarder.step(result)
        ended = np.asarray(self.engine.done).copy()
        info: dict[str, Any] = {"result": result, "components": components, "nonfinite": nonfinite}
        if ended.any():
            info["terminal_features"] = self.features.build(self.engine.observe())
            start, stop = self._draw(ended)
            self.engine.restart(ended, start, stop)
            self.rewarder.restart(ended, start, stop)
        self._obs = self.engine.observe()
        self._features = self.features.build(self._obs)
        return self._features, rewards, ended, info
