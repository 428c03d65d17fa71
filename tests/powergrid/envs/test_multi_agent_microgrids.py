"""MultiAgentMicrogrids: the seed example as written, balances, centralized == distributed, bad config, the heron
agent tree carrying the decisions into the engine."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from heron.protocols import horizontal as protocols
from heron.protocols.vertical import PriceSignalProtocol
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from powergrid.errors import ActionError, ScenarioError

ROOT = Path(__file__).resolve().parents[3]


def run(config, seed=0, steps=24):
    env = MultiAgentMicrogrids(config)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(steps):
        actions = {a: rng.uniform(-1, 1, env.action_spaces[a].shape).astype(np.float32) for a in env.agents}
        history.append(env.step(actions))
    return env, history


def test_the_example_is_the_seed_pages_code_unchanged():
    seed = (ROOT / "tests" / "data" / "seed_multi_microgrid_p2p_code.txt").read_text()
    assert (ROOT / "examples" / "02_multi_microgrid_p2p.py").read_text().startswith(seed)


def test_the_seed_example_runs_as_written_and_trades():
    namespace = runpy.run_path(str(ROOT / "examples" / "02_multi_microgrid_p2p.py"))
    env = namespace["env"]
    assert env.totals["p2p_kwh"].sum() > 0  # peers really traded
    assert not env.agents  # the episode ended after 24 steps


def test_every_step_balances_energy_and_money():
    config = {"centralized": True, "max_episode_steps": 24, "horizontal_protocol": protocols.P2PTradingProtocol()}
    _, history = run(config)
    traded_any = False
    for _, _, _, _, infos in history:
        traded = np.array([i["p2p_kwh"] for i in infos.values()])
        payment = np.array([i["p2p_payment"] for i in infos.values()])
        surplus = next(iter(infos.values()))["result"].market_surplus
        assert abs(traded.sum()) < 1e-9
        assert abs(payment.sum() - surplus) < 1e-9
        for info in infos.values():
            # grid import − export = what the microgrid needs − what it bought from peers
            need = -info["net_position_kwh"]
            assert info["grid_import_kwh"] - info["grid_export_kwh"] == pytest.approx(need - info["p2p_kwh"])
            assert abs(info["p2p_kwh"]) <= abs(need) + 1e-9
        traded_any |= bool(np.abs(traded).sum() > 0)
    assert traded_any


def test_distributed_with_zero_latency_equals_centralized():
    base = {"max_episode_steps": 12, "horizontal_protocol": protocols.P2PTradingProtocol()}
    a, ha = run({**base, "centralized": True}, steps=12)
    _, hb = run({**base, "centralized": False, "latency": 0}, steps=12)
    for (oa, ra, *_), (ob, rb, *_) in zip(ha, hb, strict=True):
        assert ra == rb
        for agent in oa:
            np.testing.assert_array_equal(oa[agent], ob[agent])
    late, _ = run({**base, "centralized": False, "latency": 1}, steps=12)
    assert not np.allclose(late.totals["cost"], a.totals["cost"])  # messages a step late change the outcome


def test_parallel_api():
    from pettingzoo.test import parallel_api_test

    env = MultiAgentMicrogrids({"max_episode_steps": 6, "horizontal_protocol": protocols.P2PTradingProtocol()})
    parallel_api_test(env, num_cycles=6)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"centralised": True}, "unknown env_config keys \\['centralised'\\]"),
        ({"max_episode_steps": 0}, "max_episode_steps'\\] must be an int >= 1"),
        ({"n_microgrids": 1}, "n_microgrids'\\] must be an int >= 2"),
    ],
)
def test_bad_config_is_a_clear_error(config, message):
    with pytest.raises(ScenarioError, match=message):
        MultiAgentMicrogrids(config)


def test_price_coordination_drives_devices_monotonically():
    config = {
        "max_episode_steps": 3,
        "vertical_protocol": PriceSignalProtocol(),
        "horizontal_protocol": protocols.P2PTradingProtocol(),
    }
    outputs = {}
    for signal in (-1.0, 1.0):
        env = MultiAgentMicrogrids(config)
        env.reset(seed=0, options={"start": 18})  # the evening peak: retail above the generator's fuel cost
        assert env.action_spaces["MG1"].shape == (1,)
        outputs[signal] = env.setpoints(0, np.array([signal]))
    assert outputs[-1.0]["generator"] == 0.0
    assert outputs[1.0]["generator"] == pytest.approx(2500.0)
    assert outputs[-1.0]["storage"] < 0 < outputs[1.0]["storage"]  # charges at feed-in, discharges at retail
    with pytest.raises(ScenarioError, match="must be a SetpointProtocol or PriceSignalProtocol"):
        MultiAgentMicrogrids({"vertical_protocol": "setpoints"})


@pytest.mark.parametrize("vertical", ["setpoint", "price"])
def test_a_nan_action_is_filtered_and_counted_like_in_the_community(vertical):
    """A non-finite action gets the safe set-points (generator and battery idle, PV as available) and is counted
    in ``infos`` and the running totals; the step still balances. A wrong shape stays an ActionError."""
    config = {"max_episode_steps": 4, "horizontal_protocol": protocols.P2PTradingProtocol()}
    if vertical == "price":
        config["vertical_protocol"] = PriceSignalProtocol()
    env = MultiAgentMicrogrids(config)
    env.reset(seed=0)
    actions = {a: env.action_space(a).sample() * 0 + 0.5 for a in env.agents}
    first, second = env.possible_agents
    actions[first] = np.full_like(actions[first], np.nan)
    _, rewards, _, _, infos = env.step(actions)
    assert infos[first]["nonfinite"]
    assert not infos[second]["nonfinite"]
    assert infos[first]["result"].interventions.nonfinite[0]  # the engine's FeasibilityFilter counted it
    assert infos[first]["generation_kwh"] == 0.0
    assert np.isfinite(rewards[first])
    assert env.totals["nonfinite"].tolist() == [1.0, 0.0]
    bad = {a: np.zeros(5) for a in env.agents}
    with pytest.raises(ActionError, match="shape"):
        env.step(bad)


def test_the_agent_tree_carries_each_coordinators_action_to_its_devices():
    env = MultiAgentMicrogrids({"max_episode_steps": 4})
    env.reset(seed=0)
    assert env.system.coordinator_ids == ["MG1", "MG2"]
    assert env.system.find("MG1").children_ids == ["MG1.generator", "MG1.storage", "MG1.regulator", "MG1.capacitor"]
    assert env.system.find("MG2").children_ids == ["MG2.storage", "MG2.regulator", "MG2.capacitor"]
    assert env.system.parent_of("MG2.storage") == "MG2"
    lowest = env.setpoints(0, np.array([-1.0, -1.0, -1.0, -1.0]))
    assert lowest == {"generator": 0.0, "storage": -500.0, "regulator": -16.0, "capacitor": 0.0}
    assert env.slots == ("generator", "storage", "regulator", "capacitor")
    highest = env.setpoints(1, np.array([-1.0, 1.0, 1.0, 1.0]))  # MG2 has no generator: its slot is ignored
    assert highest == {"storage": 500.0, "regulator": 16.0, "capacitor": 1.0}


def test_taps_set_by_the_action_reach_the_power_flow():
    env = MultiAgentMicrogrids({"max_episode_steps": 2})
    env.reset(seed=0)
    _, _, _, _, low = env.step({"MG1": np.array([-1.0, 0.0, -1.0, 1.0]), "MG2": np.array([0.0, 0.0, -1.0, 1.0])})
    env.reset(seed=0)
    _, _, _, _, high = env.step({"MG1": np.array([-1.0, 0.0, 1.0, 1.0]), "MG2": np.array([0.0, 0.0, 1.0, 1.0])})
    assert low["MG1"]["tap"] == -16.0
    assert high["MG1"]["tap"] == 16.0
    v_low = low["MG1"]["result"].network.section_v_max
    v_high = high["MG1"]["result"].network.section_v_max
    assert (v_high > v_low + 0.1).all()  # 32 steps of 0.625 %


def test_episode_rewards_sum_to_minus_the_headline_cost_without_violations_or_storage_change():
    """Idle batteries and generators: the reward is −(cost + the section's violation cost) each step."""
    env = MultiAgentMicrogrids({"max_episode_steps": 6, "horizontal_protocol": protocols.P2PTradingProtocol()})
    env.reset(seed=0)
    total = dict.fromkeys(env.possible_agents, 0.0)
    idle = {"MG1": np.array([-1.0, 0.0, 0.0, 1.0]), "MG2": np.array([0.0, 0.0, 0.0, 1.0])}
    penalty = env.community.network.config.violation_penalty
    while env.agents:
        _, rewards, _, _, infos = env.step(idle)
        for a in total:
            overloads = infos[a]["result"].network.overloads / 2
            expected = -(infos[a]["cost"] + penalty * (infos[a]["voltage_violations"] + overloads))
            assert rewards[a] == pytest.approx(expected)
            total[a] += rewards[a]
    assert sum(total.values()) < 0


def test_scenario_and_start_are_checked():
    with pytest.raises(ScenarioError, match="exceeds the 672 steps"):
        MultiAgentMicrogrids({"start": 660, "max_episode_steps": 24})
    with pytest.raises(ScenarioError, match="has 2 microgrids"):
        MultiAgentMicrogrids({"n_microgrids": 3})


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": 10**6}, r"options\['start'\] must be a step in \[0, 648\]"),
        ({"start": -1}, r"options\['start'\] must be a step"),
    ],
)
def test_reset_options_are_checked(options, message):
    env = MultiAgentMicrogrids({"max_episode_steps": 24})
    with pytest.raises(ScenarioError, match=message):
        env.reset(options=options)


def test_an_action_for_an_unknown_microgrid_is_an_error():
    env = MultiAgentMicrogrids({"max_episode_steps": 24})
    env.reset()
    actions = {a: np.zeros(env.action_spaces[a].shape) for a in env.agents}
    with pytest.raises(ActionError, match=r"actions for unknown microgrids \['MG3'\]"):
        env.step({**actions, "MG3": np.zeros(4)})


def two_genset_scenario():
    from powergrid.scenarios import load_scenario

    raw = load_scenario("multi-microgrid").model_dump(mode="json")
    raw["agents"][1]["generator"] = {"capacity_kw": 1500.0, "marginal_cost": 0.12, "quadratic_cost": 0.00006}
    return load_scenario(raw)


def test_a_consensus_protocol_dispatches_the_gensets_as_the_centralised_economic_dispatch():
    from heron.protocols import ConsensusProtocol, path_graph
    from powergrid.controllers.consensus_dispatch import generator_dispatch

    config = {"max_episode_steps": 24, "scenario": two_genset_scenario()}
    env = MultiAgentMicrogrids({**config, "horizontal_protocol": ConsensusProtocol(path_graph(2))})
    assert env.slots == ("storage", "regulator", "capacitor")  # the gensets follow the consensus
    env.reset(seed=0)
    fleet = env.community.agents.generators
    rng = np.random.default_rng(0)
    ran = 0
    while env.agents:
        actions = {a: rng.uniform(-1, 1, env.action_spaces[a].shape) for a in env.agents}
        obs = env.obs
        battery = np.array([-env.setpoints(i, actions[a])["storage"] for i, a in enumerate(env.possible_agents)])
        central = generator_dispatch(fleet, obs, obs.load_kw - obs.pv_kw + battery)
        _, _, _, _, infos = env.step(actions)  # the engine checks every balance
        result = infos["MG1"]["result"]
        expected = fleet.feasible(central.dispatch, obs.generator_last_kw)
        np.testing.assert_allclose(result.generation / obs.dt_hours, expected, atol=1e-3)
        assert infos["MG1"]["incremental_cost"] == pytest.approx(central.price, abs=1e-6)
        assert obs.feed_in - 1e-12 <= infos["MG2"]["incremental_cost"] <= obs.retail + 1e-12
        ran += int((result.generation > 0).all())
    assert ran > 0  # both gensets ran in some steps
    assert env.totals["p2p_kwh"].sum() > 0  # genset energy for the other microgrid clears in the market


def test_a_nan_action_under_consensus_is_filtered_and_counted():
    from heron.protocols import ConsensusProtocol, path_graph

    env = MultiAgentMicrogrids({"max_episode_steps": 4, "horizontal_protocol": ConsensusProtocol(path_graph(2))})
    env.reset()
    _, _, _, _, infos = env.step({"MG1": np.array([np.nan, 0.0, 0.0]), "MG2": np.zeros(3)})
    assert infos["MG1"]["nonfinite"] and not infos["MG2"]["nonfinite"]
    assert infos["MG1"]["result"].interventions.nonfinite.tolist() == [True, False]
    assert infos["MG1"]["generation_kwh"] == 0.0  # the safe action: genset off


def test_a_consensus_graph_of_the_wrong_size_is_a_scenario_error():
    from heron.protocols import ConsensusProtocol, path_graph

    with pytest.raises(ScenarioError, match="graph has 3 agents, but there are 2 microgrids"):
        MultiAgentMicrogrids({"horizontal_protocol": ConsensusProtocol(path_graph(3))})
