"""MAPPO on the batched microgrid environment: a tiny run through the CLI writes a loadable policy, the evaluation
compares it with merit-order on held-out days, and the policy as a run-loop controller is the policy acting in
MultiAgentMicrogrids."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from powergrid.cli import app
from powergrid.envs.microgrid_arrays import FEATURES
from powergrid.runner.simulate import simulate
from powergrid.training.mappo import MappoSettings
from powergrid.training.mappo_microgrids import (
    load_microgrid_policy,
    microgrid_config,
    train_mappo_microgrids,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mg") / "m"
    result = runner.invoke(
        app, ["train", "multi-microgrid", "--algo", "mappo", "--timesteps", "300", "--out", str(folder)]
    )
    assert result.exit_code == 0, result.output
    return folder


def test_a_tiny_cli_run_writes_a_loadable_microgrid_policy(model):
    assert {"policy.pt", "train_config.json", "ood_stats.json", "progress.csv"} <= {p.name for p in model.iterdir()}
    config = json.loads((model / "train_config.json").read_text())
    assert config["env"] == "multi-microgrid"
    assert config["features"] == list(FEATURES)
    assert config["slots"] == ["generator", "storage", "regulator", "capacitor"]
    assert config["timesteps"] >= 300
    policy = load_microgrid_policy(model)
    features = policy.env.features.build(policy.env.engine.reset())
    actions = policy._act(features)
    assert actions.shape == (2, config["n_actions"])
    assert np.isfinite(actions).all() and (np.abs(actions) <= 1).all()


def test_the_policy_as_a_controller_is_the_policy_acting_in_the_environment(model):
    policy = load_microgrid_policy(model)
    env = policy.env.__class__(microgrid_config(0))
    obs, _ = env.reset()
    while env.agents:
        features = np.stack([obs[a] for a in env.possible_agents])
        obs, *_ = env.step(dict(zip(env.possible_agents, policy._act(features), strict=True)))
    totals = simulate(policy.env.community, policy, start=0, stop=24)
    cost = totals.agent["cash_cost"] + totals.agent["unserved_cost"]
    np.testing.assert_allclose(cost, env.totals["cost"], rtol=1e-12)


def test_cli_evaluates_the_microgrid_policy_against_merit_order(model, tmp_path):
    result = runner.invoke(app, ["evaluate", str(model), "--out", str(tmp_path / "e")])
    assert result.exit_code == 0, result.output
    assert "share_of_oracle_savings:" in result.output
    for name in ("grid-only", "merit-order", "oracle", "mappo"):
        kpis = json.loads((tmp_path / "e" / name / "kpis.json").read_text())["community"]
        assert np.isfinite(kpis["cost"])
    oracle = json.loads((tmp_path / "e" / "oracle" / "kpis.json").read_text())["community"]["cost"]
    mappo = json.loads((tmp_path / "e" / "mappo" / "kpis.json").read_text())["community"]["cost"]
    assert oracle <= mappo  # the oracle bounds the learner


def test_settings_must_match_and_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="algo"):
        train_mappo_microgrids(tmp_path, 100, algo="qmix")
    with pytest.raises(ValueError, match="timesteps"):
        train_mappo_microgrids(tmp_path, 0)
    result = train_mappo_microgrids(tmp_path, 10, settings=MappoSettings(copies=2, rollout_steps=6, minibatch=32))
    assert result.timesteps == 2 * 6 * 2
