"""MAPPO and IPPO (TorchRL) on the batched environment: training improves the policy, the model directory
reloads through the CLI's evaluate, bad arguments are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from powergrid.cli import app
from powergrid.envs import EnergyMarketEnv
from powergrid.policy.torchrl_actor import TorchRLActor, actor_network
from powergrid.training.mappo import MappoSettings, train_mappo

runner = CliRunner()


def episode_return(act, env: EnergyMarketEnv) -> float:
    """Mean community return of a deterministic policy over every training episode."""
    total = 0.0
    for day in env.starts.tolist():
        features, done = env.reset_array(day=day), False
        while not done:
            features, rewards, done, _ = env.step_array(act(features))
            total += float(rewards.sum())
    return total / len(env.starts)


@pytest.mark.parametrize("algo", ["mappo", "ippo"])
def test_a_short_training_run_improves_on_its_initial_policy(tmp_path, algo):
    env = EnergyMarketEnv("prosumer-20", seed=0)
    torch.manual_seed(0)  # the initial actor train_mappo starts from (same seed, built first)
    initial = TorchRLActor(actor_network(env.n_agents, env.builder.n_features, 64), env.n_agents)
    before = episode_return(initial.act, env)
    result = train_mappo("prosumer-20", tmp_path, timesteps=400_000, seed=0, algo=algo)
    config = json.loads((tmp_path / "train_config.json").read_text())
    trained = TorchRLActor.load(tmp_path, config, env.n_agents)
    after = episode_return(trained.act, env)
    assert after > before + 0.1 * abs(before), (before, after)
    assert config["backend"] == "torchrl"
    assert config["algo"] == algo
    assert result.timesteps >= 400_000


def test_settings_change_the_rollout_size(tmp_path):
    settings = MappoSettings(copies=2, rollout_steps=6, epochs=1, minibatch=64)
    result = train_mappo("community-5", tmp_path, timesteps=100, seed=1, settings=settings)
    assert result.timesteps == 2 * (2 * 6 * 5)  # rollouts of 2 copies × 6 steps × 5 agents until 100 are covered
    assert json.loads((tmp_path / "train_config.json").read_text())["settings"]["copies"] == 2
    curve = (tmp_path / "progress.csv").read_text().splitlines()
    assert curve[0] == "agent_steps,wall_s,mean_return"
    assert [row.split(",")[0] for row in curve[1:]] == ["60", "120"]


def test_cli_trains_mappo_and_evaluates_it_against_the_baselines(tmp_path):
    model = tmp_path / "m"
    result = runner.invoke(app, ["train", "community-5", "--algo", "mappo", "--timesteps", "3000", "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert {"policy.pt", "train_config.json", "ood_stats.json"} <= {p.name for p in model.iterdir()}
    result = runner.invoke(app, ["evaluate", str(model), "--out", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    assert "share_of_oracle_savings:" in result.output
    assert " mappo " in result.output
    share = json.loads((tmp_path / "e" / "mappo" / "kpis.json").read_text())["community"]["share_of_oracle_savings"]
    assert np.isfinite(share)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--algo", "mappo", "--backend", "rllib"], "apply to --algo ppo only"),
        (["--algo", "ippo", "--warm-start", "oracle"], "apply to --algo ppo only"),
        (["--algo", "qmix"], "--algo must be one of ppo, mappo, ippo"),
        (["--algo", "mappo", "--timesteps", "-5"], "--timesteps must be > 0"),
    ],
)
def test_bad_algo_arguments_are_one_clear_error(args, message):
    result = runner.invoke(app, ["train", "community-5", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
