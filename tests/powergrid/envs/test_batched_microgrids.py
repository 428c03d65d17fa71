"""BatchedMultiAgentMicrogrids: K copies as arrays; copy k is exactly MultiAgentMicrogrids with the same actions
and start; the array set-point map is the agent tree's per-coordinator mapping; the microgrid scenario's power-flow
method gives the Newton-Raphson outcome."""

from __future__ import annotations

import numpy as np
import pytest

from heron.protocols.horizontal import P2PTradingProtocol
from heron.protocols.vertical import PriceSignalProtocol
from powergrid.envs.batched_microgrids import BatchedMultiAgentMicrogrids
from powergrid.envs.microgrid_arrays import FEATURES
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from powergrid.errors import ActionError, ScenarioError
from powergrid.scenarios import load_scenario

CONFIG = {"horizontal_protocol": P2PTradingProtocol(), "max_episode_steps": 12}


def _stack(values: dict, env: MultiAgentMicrogrids) -> np.ndarray:
    return np.stack([np.asarray(values[a]) for a in env.possible_agents])


@pytest.mark.parametrize("config", [CONFIG, {"max_episode_steps": 12}], ids=["p2p", "no-market"])
def test_each_copy_is_the_single_environment_with_the_same_actions(config):
    k = 3
    batched = BatchedMultiAgentMicrogrids(config, copies=k, starts=[0, 12, 30, 100])
    features = batched.reset(seed=2)
    assert features.shape == (k, 2, len(FEATURES))
    assert features.dtype == np.float32
    assert batched.state().shape == (k, 2 * len(FEATURES))
    singles = []
    for i in range(k):
        single = MultiAgentMicrogrids(config)
        obs, _ = single.reset(options={"start": int(batched.start[i])})
        np.testing.assert_array_equal(_stack(obs, single), features[i])
        singles.append(single)
    rng = np.random.default_rng(0)
    for step in range(batched.episode_steps):
        a = rng.uniform(-1.3, 1.3, (k, 2, batched.n_actions))
        if step == 3:
            a[1, 0, 1] = np.nan  # filtered and counted in both
        features, rewards, ended, info = batched.step(a)
        for i, single in enumerate(singles):
            obs, r, _, truncated, infos = single.step({agent: a[i, j] for j, agent in enumerate(single.agents)})
            np.testing.assert_array_equal(_stack(r, single), rewards[i], err_msg=f"reward of copy {i}, step {step}")
            seen = info["terminal_features"][i] if ended[i] else features[i]
            np.testing.assert_array_equal(_stack(obs, single), seen, err_msg=f"features of copy {i}, step {step}")
            assert ended[i] == all(truncated.values())
            assert [infos[agent]["nonfinite"] for agent in single.possible_agents] == info["nonfinite"][i].tolist()
            np.testing.assert_array_equal(_stack({a: infos[a]["tap"] for a in infos}, single), info["result"].tap[i])
    assert ended.all()  # every copy restarted
    assert info["nonfinite"].sum() == 0 and batched.engine.safety is not None
    np.testing.assert_array_equal(batched.engine.t, batched.start)


def test_the_array_map_is_the_trees_per_coordinator_split():
    env = MultiAgentMicrogrids(CONFIG)
    env.reset()
    rng = np.random.default_rng(3)
    actions = rng.uniform(-1.5, 1.5, (5, 2, len(env.slots)))
    taps, caps = np.broadcast_to(env.obs.tap, (5, 2)), np.broadcast_to(env.obs.capacitor, (5, 2))
    battery, generator, tap, capacitor, nonfinite = env.setpoint_map.setpoints(actions, taps, caps)
    assert not nonfinite.any()
    for row in range(5):
        for i in range(2):
            points = env.setpoints(i, actions[row, i])
            assert battery[row, i] == -points.get("storage", 0.0)
            assert generator[row, i] == points.get("generator", 0.0)
            assert tap[row, i] == points.get("regulator", env.obs.tap[i])
            assert capacitor[row, i] == points.get("capacitor", env.obs.capacitor[i])


def test_seeded_episode_starts_and_bad_arguments():
    runs = [BatchedMultiAgentMicrogrids(CONFIG, copies=4, starts=range(0, 600, 24)) for _ in range(2)]
    for env in runs:
        env.reset(seed=5)
    np.testing.assert_array_equal(runs[0].start, runs[1].start)
    assert set(runs[0].start.tolist()) <= set(range(0, 600, 24))
    with pytest.raises(ActionError, match=r"\(4, 2, 4\)"):
        runs[0].step(np.zeros((2, 4)))
    with pytest.raises(ScenarioError, match="copies"):
        BatchedMultiAgentMicrogrids(CONFIG, copies=0)
    with pytest.raises(ScenarioError, match="must fit"):
        BatchedMultiAgentMicrogrids(CONFIG, copies=2, starts=[670])
    with pytest.raises(ScenarioError, match="SetpointProtocol"):
        BatchedMultiAgentMicrogrids({**CONFIG, "vertical_protocol": PriceSignalProtocol()}, copies=2)
    with pytest.raises(ScenarioError, match="centralized"):
        BatchedMultiAgentMicrogrids({**CONFIG, "centralized": False}, copies=2)


def test_the_scenarios_iterative_current_flow_is_the_newton_raphson_outcome():
    spec = load_scenario("multi-microgrid")
    assert spec.network.power_flow == "iterative_current"
    newton = spec.model_copy(update={"network": spec.network.model_copy(update={"power_flow": "newton_raphson"})})
    outcomes = []
    for scenario in (spec, newton):
        env = MultiAgentMicrogrids({**CONFIG, "scenario": scenario, "max_episode_steps": 24})
        env.reset()
        rng = np.random.default_rng(1)
        rows = []
        for _ in range(24):
            _, rewards, _, _, infos = env.step({a: rng.uniform(-1, 1, len(env.slots)) for a in env.agents})
            net = infos["MG1"]["result"].network
            rows.append([*rewards.values(), net.v_min, net.v_max, net.losses_kwh, net.head_kwh, net.violations])
        outcomes.append(np.array(rows))
    assert not np.array_equal(outcomes[0], outcomes[1])  # the two methods did run
    fast, newton = outcomes
    np.testing.assert_allclose(fast[:, 2:4], newton[:, 2:4], rtol=0, atol=1e-8)  # voltages, pu
    np.testing.assert_array_equal(fast[:, 6], newton[:, 6])  # violations
    np.testing.assert_allclose(fast, newton, rtol=1e-6, atol=1e-4)  # rewards (currency), energies (kWh)
