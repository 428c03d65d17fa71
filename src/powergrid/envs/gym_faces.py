"""Gymnasium and SB3 faces of EnergyMarketEnv for single-agent libraries.

- ``CentralizedEnv``: one gymnasium.Env acting for the whole community (joint observation (N·F,), joint action
  (N·3,), reward = the agents' sum).
- ``SharedPolicyVecEnv``: an SB3 ``VecEnv`` in which every agent is one entry, so one policy is shared by all
  agents (parameter sharing). Our own small wrapper (SuperSuit is semi-deprecated). Episodes end for all
  entries together; the VecEnv resets itself and returns the terminal observation in ``infos``, as SB3 expects.
  Over a ``BatchedEnergyMarketEnv`` (K copies) every agent of every copy is one entry (K·N entries, copy-major);
  each copy's entries end and restart together.
"""

from __future__ import annotations

from typing import Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from powergrid.envs.batched import BatchedEnergyMarketEnv
from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.policy.features import CLIP


class CentralizedEnv(gym.Env):
    """The whole community as one agent."""

    metadata = {"render_modes": []}  # noqa: RUF012  (gymnasium's own convention)

    def __init__(self, env: EnergyMarketEnv) -> None:
        self.env = env
        n, f = env.n_agents, env.builder.n_features
        self.observation_space = spaces.Box(env._obs_space.low[0], env._obs_space.high[0], (n * f,), np.float32)
        self.action_space = spaces.Box(-1.0, 1.0, (n * 3,), np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        features = self.env.reset_array(seed, (options or {}).get("day"))
        return features.ravel(), {"day": self.env.day}

    def step(self, action):
        features, rewards, done, _ = self.env.step_array(np.asarray(action).reshape(self.env.n_agents, 3))
        return features.ravel(), float(rewards.sum()), False, done, {"rewards": rewards}


class SharedPolicyVecEnv(VecEnv):
    """Each agent of one EnergyMarketEnv — or of every copy of a BatchedEnergyMarketEnv — is one entry of this
    VecEnv (one shared policy)."""

    def __init__(self, env: EnergyMarketEnv | BatchedEnergyMarketEnv) -> None:
        self.env = env
        self.batched = isinstance(env, BatchedEnergyMarketEnv)
        copies = env.copies if self.batched else 1
        observation = spaces.Box(-CLIP, CLIP, (env.builder.n_features,), np.float32)
        super().__init__(copies * env.n_agents, observation, spaces.Box(-1.0, 1.0, (3,), np.float32))
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        seed = self._seeds[0] if self._seeds and self._seeds[0] is not None else None
        self._reset_seeds()
        features = self.env.reset(seed) if self.batched else cast(EnergyMarketEnv, self.env).reset_array(seed)
        return features.reshape(self.num_envs, -1)

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self):
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        actions = self._actions
        assert actions is not None, "step_async comes first"
        terminal: np.ndarray | None
        # The casts say what self.batched says (mypy cannot narrow self.env by isinstance: the base class of
        # EnergyMarketEnv, PettingZoo's ParallelEnv, is untyped).
        if self.batched:
            batched = cast(BatchedEnergyMarketEnv, self.env)
            features, rewards, ended, info = batched.step(actions.reshape(batched.copies, batched.n_agents, 3))
            dones = np.repeat(ended, batched.n_agents)
            terminal = info.get("terminal_features")
            terminal = None if terminal is None else terminal.reshape(self.num_envs, -1)
            features = features.reshape(self.num_envs, -1)
        else:
            single = cast(EnergyMarketEnv, self.env)
            features, rewards, done, _ = single.step_array(actions)
            dones = np.full(self.num_envs, done)
            terminal = features
            if done:
                features = single.reset_array()
        for i in np.flatnonzero(dones):
            assert terminal is not None  # the copies that ended have their terminal features
            infos[i]["terminal_observation"] = terminal[i]
            infos[i]["TimeLimit.truncated"] = True
        return features, rewards.reshape(-1).astype(np.float32), dones, infos

    def close(self) -> None:
        return None

    def get_attr(self, attr_name: str, indices=None) -> list:
        return [getattr(self.env, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(self, method_name: str, *args, indices=None, **kwargs) -> list:
        return [getattr(self.env, method_name)(*args, **kwargs)] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
