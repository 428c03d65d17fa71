"""Acting with a stable-baselines3 PPO model (``powergrid.training.sb3`` writes it): the model and its
VecNormalize statistics, loaded on CPU, deterministic actions on features normalised as in training."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from powergrid.errors import HeronGridError

#: The SB3 policy and its observation/reward normalisation statistics inside a model directory.
MODEL = "model.zip"
NORMALIZE = "vecnormalize.pkl"


class SB3Actor:
    """Deterministic actions of an SB3 PPO model on features normalised with its training statistics."""

    def __init__(self, folder: Path) -> None:
        import torch
        from stable_baselines3 import PPO

        missing = [f for f in (MODEL, NORMALIZE) if not (folder / f).exists()]
        if missing:
            raise HeronGridError(f"{folder} is not a trained model directory: missing {', '.join(missing)}")
        torch.set_num_threads(1)
        self.model = PPO.load(folder / MODEL, device="cpu")
        with open(folder / NORMALIZE, "rb") as fh:
            normalize = pickle.load(fh)  # written by our own training run (VecNormalize.save)
        self.obs_rms, self.clip_obs, self.epsilon = normalize.obs_rms, normalize.clip_obs, normalize.epsilon

    def act(self, features: np.ndarray) -> np.ndarray:
        """(agents, F) raw features → (agents, A) actions in [-1, 1]."""
        normed = np.clip(
            (features - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + self.epsilon), -self.clip_obs, self.clip_obs
        )
        return self.model.predict(normed.astype(np.float32), deterministic=True)[0]
