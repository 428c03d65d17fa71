"""PPO with parameter sharing (stable-baselines3, CPU) on EnergyMarketEnv.

A model directory holds ``model.zip`` (the policy), ``vecnormalize.pkl`` (observation/reward normalisation),
``ood_stats.json`` (observation statistics for the SafetySupervisor), ``train_config.json`` (scenario, seed,
features, budget, wall time), ``checkpoints/`` and ``tb/`` (TensorBoard logs).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.envs.gym_faces import SharedPolicyVecEnv
from powergrid.policy.model_dir import policy_observations, write_model_files
from powergrid.policy.sb3_actor import MODEL, NORMALIZE
from powergrid.safety import OODStats
from powergrid.scenarios.loader import ScenarioLike, dump_scenario, load_scenario
from powergrid.scenarios.split import day_split


@dataclass(frozen=True)
class TrainResult:
    folder: Path
    timesteps: int
    wall_seconds: float


def train_ppo(
    scenario: ScenarioLike,
    folder: Path,
    timesteps: int = 200_000,
    seed: int = 0,
    horizon: int = 4,
    progress_bar: bool = False,
    on_progress: Callable[[int], None] | None = None,
    warm_start: str | None = None,
) -> TrainResult:
    """Train one shared PPO policy for all agents on the scenario's training days; write ``folder``.
    ``warm_start`` (``"oracle"`` or ``"mpc"``): first clone that teacher on the training days
    (``powergrid.training.imitation``), then fine-tune with PPO."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback, CheckpointCallback
    from stable_baselines3.common.vec_env import VecMonitor, VecNormalize

    torch.set_num_threads(1)  # two torch threads collapse under load on 2 cores
    spec = load_scenario(scenario, seed=seed)
    env = EnergyMarketEnv(spec, seed=seed, split="train", horizon=horizon)
    monitored = VecMonitor(SharedPolicyVecEnv(env))  # episode returns and lengths in the TensorBoard logs
    venv = VecNormalize(monitored, norm_obs=True, norm_reward=True, clip_obs=10.0, gamma=0.99)
    venv.seed(seed)
    n_agents = env.n_agents
    model = PPO(
        "MlpPolicy",
        venv,
        n_steps=env.episode_steps * 4,
        batch_size=env.episode_steps * 4 * n_agents // 4,  # four minibatches per rollout
        learning_rate=3e-4,
        gamma=0.99,
        ent_coef=0.005,
        policy_kwargs={"net_arch": [64, 64], "log_std_init": -1.0},  # start with moderate action noise
        seed=seed,
        device="cpu",
        tensorboard_log=str(folder / "tb"),
        verbose=0,
    )
    start = time.perf_counter()
    bc_error = None
    if warm_start is not None:
        from powergrid.training.imitation import behaviour_clone, teacher_dataset

        features, actions = teacher_dataset(env, warm_start)
        bc_error = behaviour_clone(model, venv, features, actions, seed=seed)
    callbacks: list = [
        CheckpointCallback(save_freq=max(timesteps // (4 * n_agents), 1), save_path=str(folder / "checkpoints"))
    ]

    if on_progress is not None:
        report = on_progress  # not None (a narrowing that the class below does not see on the parameter)

        class Progress(BaseCallback):
            def _on_step(self) -> bool:
                report(n_agents)
                return True

        callbacks.append(Progress())
    model.learn(total_timesteps=timesteps, callback=callbacks, progress_bar=progress_bar)
    wall = time.perf_counter() - start
    model.save(folder / MODEL)
    venv.save(str(folder / NORMALIZE))
    stats = training_observation_stats(model, venv, env, spec.safety.ood_method, spec.safety.ood_threshold)
    config = {
        "backend": "sb3",
        "algo": "ppo",
        "scenario_yaml": dump_scenario(spec),
        "seed": seed,
        "horizon": horizon,
        "timesteps": timesteps,
        "wall_seconds": wall,
        "warm_start": warm_start,
        "bc_mse": bc_error,
        "features": env.builder.names,
        "train_days": day_split(env.community)[0].tolist(),
    }
    write_model_files(folder, stats, config)
    return TrainResult(folder, timesteps, wall)


def training_observation_stats(model, venv, env: EnergyMarketEnv, method: str, threshold: float) -> OODStats:
    """Roll the trained policy (deterministic) over every training episode; fit OOD stats on the raw features."""

    def act(features: np.ndarray) -> np.ndarray:
        return model.predict(venv.normalize_obs(features), deterministic=True)[0]

    samples = policy_observations(env, act, [{"day": day} for day in env.starts.tolist()])
    return OODStats.fit(samples, method, threshold)
