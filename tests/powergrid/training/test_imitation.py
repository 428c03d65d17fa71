"""Behaviour cloning from a teacher: the action map inverts, the cloned policy reproduces the teacher's actions on
the training data, and a warm-started model trains and evaluates like any other."""

from __future__ import annotations

import json

import numpy as np
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecNormalize

from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.policy.action_map import scale_actions, unscale_actions


def test_unscale_inverts_scale_inside_the_box():
    env = EnergyMarketEnv("prosumer-20", seed=0)
    env.reset_array(day=int(env.starts[0]))
    obs = env.engine.observe()
    a = np.random.default_rng(1).uniform(-1, 1, (env.n_agents, 3))
    back = unscale_actions(scale_actions(a, obs, env.community.agents.battery.power_kw), obs)
    movable = (obs.max_charge_kw + obs.max_discharge_kw) > 1e-9
    np.testing.assert_allclose(back[movable, 0], a[movable, 0], atol=1e-9)
    np.testing.assert_allclose(back[:, 2], a[:, 2], atol=1e-9)


def test_the_cloned_policy_reproduces_the_teachers_actions_on_the_training_days():
    import torch

    from powergrid.envs.gym_faces import SharedPolicyVecEnv
    from powergrid.training.imitation import behaviour_clone, teacher_dataset

    torch.manual_seed(0)
    env = EnergyMarketEnv("community-5", seed=0, split="train")
    features, actions = teacher_dataset(env, "oracle")
    assert features.shape == (env.episode_steps * len(env.starts) * env.n_agents, env.builder.n_features)
    venv = VecNormalize(SharedPolicyVecEnv(env), norm_obs=True, norm_reward=False)
    model = PPO("MlpPolicy", venv, seed=0, device="cpu", policy_kwargs={"net_arch": [64, 64]})
    x = torch.as_tensor(venv.normalize_obs(features), dtype=torch.float32)
    before = float(((model.policy.get_distribution(x).distribution.mean.detach().numpy() - actions) ** 2).mean())
    after = behaviour_clone(model, venv, features, actions, steps=1500, seed=0)
    assert after < 0.02 < 0.2 < before  # the teacher's choices, in the policy's action units (range 2 each)


def test_train_with_a_warm_start_records_it(tmp_path):
    from typer.testing import CliRunner

    from powergrid.cli import app

    out = tmp_path / "bc"
    result = CliRunner().invoke(
        app, ["train", "community-5", "--timesteps", "500", "--warm-start", "oracle", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((out / "train_config.json").read_text())
    assert config["warm_start"] == "oracle"
    assert config["bc_mse"] < 0.02
    bad = CliRunner().invoke(app, ["train", "community-5", "--warm-start", "greedy", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2
    assert "--warm-start must be oracle, mpc or none" in bad.output
