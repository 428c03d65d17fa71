"""BatchedEnergyMarketEnv: K copies as arrays; every copy is exactly EnergyMarketEnv; the SB3 face over it."""

from __future__ import annotations

import numpy as np
import pytest

from powergrid.envs import EnergyMarketEnv
from powergrid.envs.batched import BatchedEnergyMarketEnv
from powergrid.envs.gym_faces import SharedPolicyVecEnv
from powergrid.errors import ActionError, ScenarioError


@pytest.fixture(scope="module")
def batched() -> BatchedEnergyMarketEnv:
    return BatchedEnergyMarketEnv("community-5", copies=3, seed=4)


def test_shapes_spaces_and_state(batched):
    features = batched.reset(seed=1)
    k, n, f = 3, batched.n_agents, batched.n_features
    assert features.shape == (k, n, f)
    assert features.dtype == np.float32
    assert batched.state().shape == (k, n * f)
    features, rewards, ended, info = batched.step(np.zeros((k, n, 3)))
    assert rewards.shape == (k, n)
    assert ended.shape == (k,)
    assert info["result"].soc.shape == (k, n)
    with pytest.raises(ActionError, match=r"\(3, 5, 3\)"):
        batched.step(np.zeros((n, 3)))


def test_each_copy_is_the_single_environment_with_the_same_day_and_actions(batched):
    features = batched.reset(seed=7)
    singles = []
    for i in range(batched.copies):
        single = EnergyMarketEnv("community-5", seed=4, community=batched.community)
        np.testing.assert_allclose(single.reset_array(day=int(batched.day[i])), features[i], atol=1e-6)
        singles.append(single)
    rng = np.random.default_rng(0)
    for step in range(batched.episode_steps):
        a = rng.uniform(-1.2, 1.2, (batched.copies, batched.n_agents, 3))
        features, rewards, ended, info = batched.step(a)
        for i, single in enumerate(singles):
            f1, r1, done1, _ = single.step_array(a[i])
            np.testing.assert_allclose(rewards[i], r1, atol=1e-9, err_msg=f"reward of copy {i} at step {step}")
            assert ended[i] == done1
            seen = info["terminal_features"][i] if done1 else features[i]
            np.testing.assert_allclose(seen, f1, atol=1e-5, err_msg=f"features of copy {i} at step {step}")
    assert ended.all()  # every copy restarted on a new episode
    np.testing.assert_array_equal(batched.engine.t, batched.engine.start)


def test_same_seed_same_rollout():
    runs = []
    for _ in range(2):
        env = BatchedEnergyMarketEnv("community-5", copies=2, seed=3)
        env.reset(seed=5)
        rng = np.random.default_rng(1)
        total = np.zeros((2, env.n_agents))
        for _ in range(2 * env.episode_steps + 3):
            _, rewards, _, _ = env.step(rng.uniform(-1, 1, (2, env.n_agents, 3)))
            total += rewards
        runs.append((total, env.day.copy()))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_bad_arguments_are_scenario_errors():
    with pytest.raises(ScenarioError, match="copies"):
        BatchedEnergyMarketEnv("community-5", copies=0)
    with pytest.raises(ScenarioError, match="split"):
        BatchedEnergyMarketEnv("community-5", copies=2, split="validation")


def test_the_sb3_face_has_one_entry_per_agent_and_copy(batched):
    venv = SharedPolicyVecEnv(batched)
    k, n = batched.copies, batched.n_agents
    assert venv.num_envs == k * n
    obs = venv.reset()
    assert obs.shape == (k * n, batched.n_features)
    steps, dones = 0, np.zeros(k * n, dtype=bool)
    while not dones.any():
        venv.step_async(np.zeros((k * n, 3), dtype=np.float32))
        obs, _, dones, infos = venv.step_wait()
        steps += 1
    assert steps == batched.episode_steps
    assert dones.all()
    assert all(info["terminal_observation"].shape == (batched.n_features,) for info in infos)


def test_ppo_trains_on_the_batched_face():
    from stable_baselines3 import PPO

    venv = SharedPolicyVecEnv(BatchedEnergyMarketEnv("community-5", copies=4, seed=0))
    model = PPO("MlpPolicy", venv, n_steps=24, batch_size=120, n_epochs=1, seed=0, device="cpu")
    model.learn(total_timesteps=2 * 24 * venv.num_envs)
    assert model.num_timesteps == 2 * 24 * venv.num_envs
