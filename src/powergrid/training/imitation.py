"""Behaviour cloning: a warm start for the shared policy from a teacher's trajectories on the training days.

The teacher (``oracle`` or ``mpc``) runs every training episode through the engine; at each step the policy's
features (``ObservationBuilder``) and the teacher's actions mapped back to the policy's action box
(``unscale_actions``) form one sample per agent. The SB3 policy's action mean is then fitted to them (mean squared
error, Adam), after the observation normaliser has seen the samples — so PPO starts from the teacher's behaviour
and fine-tunes it (Pomerleau 1991; the BC-then-RL recipe of e.g. Rajeswaran et al. 2018).
"""

from __future__ import annotations

import numpy as np

from powergrid.controllers import make_controller
from powergrid.engine import CommunityEngine
from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.errors import HeronGridError
from powergrid.policy.action_map import unscale_actions
from powergrid.scenarios.split import steps_per_day

#: Teachers a policy can be cloned from.
TEACHERS = ("oracle", "mpc")


def teacher_dataset(env: EnergyMarketEnv, teacher: str) -> tuple[np.ndarray, np.ndarray]:
    """(features (S, F), actions (S, 3)) of ``teacher`` over every episode of ``env`` (its split's days)."""
    if teacher not in TEACHERS:
        raise HeronGridError(f"--warm-start must be one of {', '.join(TEACHERS)}, got {teacher!r}")
    c = env.community
    engine = CommunityEngine(c)
    controller = make_controller(teacher)
    features, actions = [], []
    for day in env.starts.tolist():
        start = day * steps_per_day(c)
        controller.reset(c)
        obs = engine.reset(start, start + env.episode_steps)
        while not engine.done:
            chosen = controller.act(obs)
            features.append(env.builder.build(obs, engine.stop))
            actions.append(unscale_actions(chosen, obs))
            engine.step(chosen, obs)
            obs = engine.observe()
    return np.concatenate(features), np.concatenate(actions)


def behaviour_clone(model, venv, features: np.ndarray, actions: np.ndarray, steps: int = 3000, seed: int = 0) -> float:
    """Fit the policy's action mean to ``actions`` on ``features`` (raw; the VecNormalize statistics are updated
    with them first) with ``steps`` Adam steps on minibatches of 256 drawn at random; returns the final mean squared
    error (in action units)."""
    import torch

    venv.obs_rms.update(features)
    x = torch.as_tensor(venv.normalize_obs(features), dtype=torch.float32)
    y = torch.as_tensor(actions, dtype=torch.float32)
    policy = model.policy
    optimiser = torch.optim.Adam(policy.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(len(x), (min(256, len(x)),), generator=generator)
        loss = torch.nn.functional.mse_loss(policy.get_distribution(x[idx]).distribution.mean, y[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(policy.get_distribution(x).distribution.mean, y))
