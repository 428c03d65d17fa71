"""Multi-agent PPO on Ray RLlib: two training iterations through the command line on a tiny scenario, the
checkpoint restored, the policy evaluated like an SB3 model; MultiAgentMicrogrids with a policy per microgrid;
clear errors for bad arguments."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from powergrid.cli import app
from scenario_factory import tiny_dict

runner = CliRunner()
EPISODE = 24  # the tiny scenario: one training day of 24 one-hour steps, 8 agents


@pytest.fixture(scope="module")
def rllib_model(ray_local, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rllib")
    scenario = folder / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_dict()))
    # default sizes: 4 episodes per iteration = 96 env steps = 768 agent-steps; 1536 agent-steps = 2 iterations
    args = [
        "--backend",
        "rllib",
        "--timesteps",
        str(2 * 4 * EPISODE * 8),
        "--num-env-runners",
        "1",
        "--policy",
        "per-type",
        "--seed",
        "1",
        "--out",
        "models/x",
    ]
    with pytest.MonkeyPatch.context() as mp:  # relative paths, as a user types them (the checkpoint needs a URI)
        mp.chdir(folder)
        result = runner.invoke(app, ["train", scenario.name, *args])
    assert result.exit_code == 0, result.output
    return folder / "models" / "x"


def test_training_writes_a_model_directory_with_checkpoint_and_ood_stats(rllib_model):
    config = json.loads((rllib_model / "train_config.json").read_text())
    assert config["backend"] == "rllib"
    assert config["iterations"] == 2
    assert config["timesteps_done"] == 1536
    assert set(config["policy_of"].values()) == {"prosumer", "pv-only", "consumer"}
    modules = rllib_model / "checkpoint" / "learner_group" / "learner" / "rl_module"
    assert {p.name for p in modules.iterdir() if p.is_dir()} == {"prosumer", "pv-only", "consumer"}
    stats = json.loads((rllib_model / "ood_stats.json").read_text())
    assert len(stats["mean"]) == len(config["features"])
    assert stats["method"] == "zscore"


def test_checkpoint_restores_the_trained_weights(rllib_model):
    import torch
    from ray.rllib.algorithms.algorithm import Algorithm
    from ray.rllib.core.rl_module.rl_module import RLModule

    torch.set_num_threads(1)
    path = rllib_model / "checkpoint"
    algo = Algorithm.from_checkpoint(str(path))
    try:
        restored = algo.learner_group.get_state()["learner"]["rl_module"]["prosumer"]
    finally:
        algo.stop()
    saved = RLModule.from_checkpoint(path / "learner_group" / "learner" / "rl_module" / "prosumer").state_dict()
    assert restored.keys() == saved.keys()
    for key, value in saved.items():
        np.testing.assert_array_equal(np.asarray(restored[key]), np.asarray(value))


def test_policy_controller_acts_deterministically_through_the_engine(rllib_model):
    from powergrid.controllers.policy import PolicyController
    from powergrid.runner.simulate import simulate
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community

    community = build_community(load_scenario(tiny_dict(), seed=1))
    a = simulate(community, PolicyController(rllib_model), start=24, stop=48)
    b = simulate(community, PolicyController(rllib_model), start=24, stop=48)
    np.testing.assert_array_equal(a.agent["cash_cost"], b.agent["cash_cost"])
    assert a.steps_done == 24


def test_evaluate_works_on_an_rllib_model_directory(rllib_model, tmp_path, monkeypatch):
    monkeypatch.chdir(rllib_model.parent)
    out = rllib_model.parent / "eval"
    result = runner.invoke(app, ["evaluate", rllib_model.name, "--out", "eval"])
    assert result.exit_code == 0, result.output
    header = "kpi,unit,grid-only,self-consumption,truthful-bidder,greedy,mpc,oracle,ppo"
    assert (out / "kpis.csv").read_text().startswith(header)
    assert (out / "grid_import.png").stat().st_size > 5_000


def test_multi_agent_microgrids_train_with_a_policy_per_microgrid(ray_local, tmp_path):
    from heron.protocols.horizontal import P2PTradingProtocol
    from powergrid.training.rllib import PPOSettings, train_rllib

    result = train_rllib(
        tmp_path,
        env="microgrids",
        policy="per-agent",
        timesteps=2 * 24,
        seed=0,
        num_env_runners=0,
        env_config={"horizontal_protocol": P2PTradingProtocol(), "max_episode_steps": 24},
        settings=PPOSettings(batch_episodes=1, num_epochs=1, hidden=(8,)),
    )
    assert result.iterations == 1
    assert result.timesteps == 48
    config = json.loads((tmp_path / "train_config.json").read_text())
    assert config["policy_of"] == {"MG1": "MG1", "MG2": "MG2"}
    assert config["env"] == "microgrids"
    from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids

    n_obs = MultiAgentMicrogrids({"max_episode_steps": 24}).observation_spaces["MG1"].shape[0]
    assert len(json.loads((tmp_path / "ood_stats.json").read_text())["mean"]) == n_obs


def test_same_seed_trains_the_same_weights(ray_local, tmp_path):
    """Repeatable within a process (its string-hash seed is fixed for its life; across processes, set
    PYTHONHASHSEED — RLlib iterates over sets of agent ids)."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    from powergrid.scenarios import load_scenario
    from powergrid.training.rllib import PPOSettings, train_rllib

    weights = []
    for run in ("a", "b"):
        train_rllib(
            tmp_path / run,
            load_scenario(tiny_dict()),
            timesteps=EPISODE * 8,
            seed=5,
            checkpoint_every=0,
            num_env_runners=0,
            settings=PPOSettings(batch_episodes=1, num_epochs=2, hidden=(8,)),
        )
        module = tmp_path / run / "checkpoint" / "learner_group" / "learner" / "rl_module" / "shared"
        weights.append(RLModule.from_checkpoint(module).state_dict())
    for key, value in weights[0].items():
        np.testing.assert_array_equal(np.asarray(value), np.asarray(weights[1][key]))
    assert (tmp_path / "a" / "ood_stats.json").read_text() == (tmp_path / "b" / "ood_stats.json").read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "tensorflow"], "--backend must be 'sb3' or 'rllib'"),
        (["--backend", "rllib", "--address", "127.0.0.1:1"], "no Ray cluster reachable at 127.0.0.1:1"),
        (["--backend", "rllib", "--policy", "per-house"], "--policy for energy-market: one of"),
        (["--address", "127.0.0.1:6379"], "apply to --backend rllib only"),
    ],
)
def test_bad_rllib_arguments_are_clear_errors(args, message, tmp_path):
    result = runner.invoke(app, ["train", "community-5", "--out", str(tmp_path / "m"), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "m").exists()


def test_rllib_backend_without_ray_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    result = runner.invoke(app, ["train", "community-5", "--backend", "rllib", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2, result.output
    assert "`ray` extra" in result.output
    assert "heron-grid[ray]" in result.output
