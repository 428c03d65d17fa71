"""A trained policy as a controller: the same features, normalisation and action mapping as in training, with the
SafetySupervisor switching out-of-distribution agents to grid-only (counted by the engine)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.envs.action_map import scale_actions
from powergrid.envs.features import ObservationBuilder
from powergrid.envs.split import day_split, day_steps
from powergrid.errors import HeronGridError
from powergrid.safety import OODStats, SafetySupervisor
from powergrid.scenarios.build import Community
from powergrid.training.sb3 import CONFIG, MODEL, NORMALIZE, OOD


class PolicyController:
    """``act(observation)`` with a PPO model directory written by ``train_ppo``."""

    name = "ppo"

    def __init__(self, folder: Path, use_supervisor: bool = True) -> None:
        self.folder = Path(folder)
        missing = [f for f in (MODEL, NORMALIZE, OOD, CONFIG) if not (self.folder / f).exists()]
        if missing:
            raise HeronGridError(f"{self.folder} is not a trained model directory: missing {', '.join(missing)}")
        import torch
        from stable_baselines3 import PPO

        torch.set_num_threads(1)
        self.model = PPO.load(self.folder / MODEL, device="cpu")
        with open(self.folder / NORMALIZE, "rb") as fh:
            normalize = pickle.load(fh)  # written by our own training run (VecNormalize.save)
        self.obs_rms, self.clip_obs, self.epsilon = normalize.obs_rms, normalize.clip_obs, normalize.epsilon
        self.config = json.loads((self.folder / CONFIG).read_text(encoding="utf-8"))
        stats = OODStats.from_json(json.loads((self.folder / OOD).read_text(encoding="utf-8")))
        self.supervisor = SafetySupervisor(stats) if use_supervisor else None

    def reset(self, community: Community) -> None:
        train, _ = day_split(community)
        self.builder = ObservationBuilder(community, day_steps(community, train), self.config["horizon"],
                                          self.config["forecast_noise"], self.config["seed"])  # fmt: skip
        if self.builder.names != self.config["features"]:
            raise HeronGridError(f"{self.folder}: the model was trained on other observation features")
        self.power = community.agents.battery.power_kw

    def act(self, obs: Observation) -> Actions:
        features = self.builder.build(obs, obs.stop)
        normed = np.clip((features - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon),
                         -self.clip_obs, self.clip_obs)  # fmt: skip
        action, _ = self.model.predict(normed.astype(np.float32), deterministic=True)
        actions = scale_actions(action, obs, self.power)
        if self.supervisor is None:
            return actions
        return Actions(actions.battery_kw, actions.trade_kw, actions.limit_price,
                       fallback=self.supervisor.out_of_distribution(features))  # fmt: skip
