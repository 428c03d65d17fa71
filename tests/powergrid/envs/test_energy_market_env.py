"""EnergyMarketEnv: PettingZoo/Gymnasium/SB3 contracts, safety under arbitrary actions, split, reward, OOD."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from pettingzoo.test import parallel_api_test

from powergrid.envs import EnergyMarketEnv
from powergrid.errors import ActionError, ScenarioError
from powergrid.policy.features import CLIP
from powergrid.safety import OODStats, SafetySupervisor
from powergrid.scenarios.split import day_split, steps_per_day


@pytest.fixture(scope="module")
def env() -> EnergyMarketEnv:
    return EnergyMarketEnv("prosumer-20", seed=0)


def test_pettingzoo_parallel_api(env):

    parallel_api_test(env, num_cycles=50)


def test_gymnasium_and_sb3_checkers_on_the_centralised_view():
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    from powergrid.envs.gym_faces import CentralizedEnv

    central = CentralizedEnv(EnergyMarketEnv("community-5", seed=1))
    check_env(central, skip_render_check=True)
    sb3_check_env(central, warn=True)


def test_shared_policy_vec_env_resets_itself_and_reports_terminal_observations():
    from powergrid.envs.gym_faces import SharedPolicyVecEnv

    base = EnergyMarketEnv("community-5", seed=2)
    venv = SharedPolicyVecEnv(base)
    obs = venv.reset()
    assert obs.shape == (5, base.builder.n_features)
    assert obs.dtype == np.float32
    steps = 0
    dones = np.zeros(5, dtype=bool)
    while not dones.any():
        venv.step_async(np.zeros((5, 3), dtype=np.float32))
        obs, rewards, dones, infos = venv.step_wait()
        assert rewards.shape == (5,)
        assert dones.shape == (5,)
        steps += 1
    assert dones.all()
    assert all("terminal_observation" in i for i in infos)
    assert steps == base.episode_steps
    assert base.engine.t == base.engine.start  # already reset for the next episode


def test_observations_match_their_declared_space(env):
    env.reset(seed=3)
    space = env.observation_space(env.possible_agents[0])
    while env.agents:
        obs, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
        for value in obs.values():
            assert value.dtype == np.float32
            assert space.contains(value)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float64, (24, 20, 3), elements=st.floats(allow_nan=True, allow_infinity=True, width=64)))
def test_soc_stays_in_bounds_under_arbitrary_actions(env, actions):
    env.reset_array(day=int(env.starts[0]))
    fleet = env.community.agents.battery
    for a in actions:
        _, rewards, done, info = env.step_array(a)
        r = info["result"]
        assert np.all(r.soc >= fleet.soc_min_kwh - 1e-9)
        assert np.all(r.soc <= fleet.soc_max_kwh + 1e-9)
        assert np.isfinite(rewards).all()
        np.testing.assert_array_equal(r.interventions.nonfinite, ~np.isfinite(a).all(axis=1))
        if done:
            break


def test_actions_are_scaled_to_kw_and_the_price_band(env):
    env.reset_array(day=int(env.starts[0]))
    obs = env._obs
    a = np.zeros((20, 3))
    a[:, 0] = 1.0  # full charge request
    a[:, 2] = 1.0  # limit price at the cap
    _, _, _, info = env.step_array(a)
    r = info["result"]
    fleet = env.community.agents.battery
    np.testing.assert_allclose(r.charge, np.minimum(fleet.power_kw, obs.max_charge_kw) * obs.dt_hours)
    with pytest.raises(ActionError, match=r"actions must have shape \(20, 3\)"):
        env.step_array(np.zeros((3, 3)))


def test_episodes_of_the_train_split_never_touch_test_days(env):
    train, test = day_split(env.community)
    per_day = steps_per_day(env.community)
    # 28 days, 25 % held out
    assert set(train).isdisjoint(test)
    assert len(test) == 7
    for seed in range(20):
        env.reset_array(seed=seed)
        days = set(range(env.engine.start // per_day, env.engine.stop // per_day))
        assert days <= set(train.tolist())
    test_env = EnergyMarketEnv("prosumer-20", seed=0, split="test", community=env.community)
    assert set(test_env.starts.tolist()) <= set(test.tolist())
    with pytest.raises(ScenarioError, match="does not start a train episode"):
        env.reset_array(day=int(test[0]))


def test_forecasts_come_from_the_scenarios_forecaster_and_never_look_past_the_episode(env):
    env.reset_array(day=int(env.starts[0]))
    builder = env.builder
    assert builder.forecaster.name == env.community.scenario.mpc.forecaster  # the one MPC plans with
    last = env.engine.stop - 1
    perfect = type(builder)(
        env.community, np.arange(24), horizon=builder.horizon, forecaster=_fitted("perfect", env.community)
    )
    env.engine.t = last
    features = perfect.build(env.engine.observe(), env.engine.stop)
    i = perfect.names.index("load_forecast_1")
    expected = np.clip(env.community.profiles.load_kw[last] / perfect.load_scale, -CLIP, CLIP)
    np.testing.assert_allclose(features[:, i], expected, rtol=1e-6)  # past the episode: the last in-window step
    env.engine.t = last - 2
    seasonal = builder.build(env.engine.observe(), env.engine.stop)
    forecast = builder.forecaster.forecast(last - 2, 2)
    expected = np.clip(forecast.load_kw[1] / builder.load_scale, -CLIP, CLIP)
    np.testing.assert_allclose(seasonal[:, i], expected, rtol=1e-6)


def _fitted(name, community):
    from powergrid.forecasting import make_forecaster

    forecaster = make_forecaster(name)
    forecaster.fit(community, np.arange(24))
    return forecaster


def test_reward_profit_sums_to_minus_the_headline_cost_and_weights_apply(env):
    from powergrid.analytics.totals import RunTotals

    env.reset_array(day=int(env.starts[1]))
    totals = RunTotals.for_community(env.community, env.episode_steps, first_step=env.engine.start)
    profit = np.zeros(env.n_agents)
    done = False
    w = env.community.scenario.reward
    rng = np.random.default_rng(0)
    while not done:
        _, rewards, done, info = env.step_array(rng.uniform(-1, 1, (20, 3)))
        parts, r = info["components"], info["result"]
        totals.add(r)
        profit += parts["profit"]
        np.testing.assert_allclose(parts["team"], parts["profit"].mean())
        expected = (
            w.w_profit * parts["profit"]
            + w.w_team * parts["team"]
            - w.w_grid * parts["grid_import"]
            - w.w_soc * parts["soc_penalty"]
            - w.w_degrad * parts["throughput"]
            - w.w_co2 * parts["co2"]
            - w.w_overload * parts["overload"]
            - w.w_fair * parts["gini"]
        )
        np.testing.assert_allclose(rewards, expected)
        np.testing.assert_allclose(parts["grid_import"], r.imported)
    assert np.abs(totals.agent["stored_change"]).max() > 0.1  # the storage rule matters in this episode
    np.testing.assert_allclose(profit, -totals.headline_cost(), rtol=1e-9, atol=1e-9)  # per agent


def test_the_terminal_observation_is_the_state_after_the_last_step(env):
    env.reset_array(day=int(env.starts[0]))
    done = False
    while not done:
        features, _, done, info = env.step_array(np.full((20, 3), 0.5))
    soc = env.builder.names.index("soc")
    capacity = env.community.agents.battery.capacity_kwh
    expected = np.divide(info["result"].soc, capacity, out=np.zeros(20), where=capacity > 0)
    np.testing.assert_allclose(features[:, soc], expected, rtol=1e-6)
    assert env.engine.observe().t == env.engine.stop


def test_ood_fallback_triggers_on_a_shifted_observation(env):
    samples = []
    for day in env.starts[:5]:
        features = env.reset_array(day=int(day))
        done = False
        while not done:
            samples.append(features)
            features, _, done, _ = env.step_array(np.zeros((20, 3)))
    stats = OODStats.fit(np.concatenate(samples), threshold=6.0)
    supervisor = SafetySupervisor(stats)
    features = env.reset_array(day=int(env.starts[0]))
    assert not supervisor.out_of_distribution(features).any()
    shifted = features.copy()
    shifted[7, 0] += 50 * stats.std[0]  # agent 7's load far outside anything seen in training
    assert supervisor.out_of_distribution(shifted).tolist() == [i == 7 for i in range(20)]
    mahalanobis = SafetySupervisor(OODStats.fit(np.concatenate(samples), method="mahalanobis", threshold=50.0))
    assert mahalanobis.out_of_distribution(shifted)[7]
    assert not mahalanobis.out_of_distribution(features).any()
    # In the environment: the flagged agent acts grid-only for the step, and the fallback is counted.
    guarded = EnergyMarketEnv("prosumer-20", seed=0, supervisor=supervisor, community=env.community)
    guarded.reset_array(day=int(env.starts[0]))
    guarded._features = shifted
    _, _, _, info = guarded.step_array(np.ones((20, 3)))
    r = info["result"]
    assert r.interventions.fallback.tolist() == [i == 7 for i in range(20)]
    assert r.charge[7] == 0
    assert r.discharge[7] == 0
    assert r.order[7] == 0


def test_state_is_every_agents_features_for_a_centralised_critic(env):
    observations, _ = env.reset(seed=4)
    state = env.state()
    assert state.shape == env.state_space.shape
    assert env.state_space.contains(state)
    np.testing.assert_array_equal(state, np.concatenate([observations[a] for a in env.possible_agents]))
