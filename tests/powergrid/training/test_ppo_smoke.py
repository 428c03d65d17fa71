"""PPO with parameter sharing: a short training run that saves, reloads and evaluates (CLI and library)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import stable_baselines3  # noqa: F401  (what `heron train` imports lazily: missing is a failure here, not a skip)
from typer.testing import CliRunner

from powergrid.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "c5"
    result = runner.invoke(app, ["train", "community-5", "--timesteps", "3000", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_training_writes_a_complete_model_directory(model_dir):
    names = {p.name for p in model_dir.iterdir()}
    assert {"model.zip", "vecnormalize.pkl", "ood_stats.json", "train_config.json", "checkpoints", "tb"} <= names
    config = json.loads((model_dir / "train_config.json").read_text())
    assert config["timesteps"] == 3000
    assert config["train_days"] == [0]
    stats = json.loads((model_dir / "ood_stats.json").read_text())
    assert len(stats["mean"]) == len(config["features"])
    assert any((model_dir / "tb").rglob("events.out.tfevents.*"))


def test_reloaded_policy_acts_through_the_engine_with_the_supervisor(model_dir):
    from powergrid.controllers.policy import PolicyController
    from powergrid.runner.simulate import simulate
    from powergrid.scenarios import load_scenario
    from powergrid.scenarios.build import build_community

    community = build_community(load_scenario("community-5", seed=1))
    a = simulate(community, PolicyController(model_dir), start=24, stop=48)
    b = simulate(community, PolicyController(model_dir), start=24, stop=48)
    np.testing.assert_array_equal(a.agent["cash_cost"], b.agent["cash_cost"])  # deterministic policy, same data
    assert a.steps_done == 24


def test_evaluate_compares_against_the_baselines_and_draws_the_figures(model_dir, tmp_path):
    out = tmp_path / "eval"
    result = runner.invoke(app, ["evaluate", str(model_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "grid-only" in line and "ppo" in line)
    assert "truthful-bidder" in header
    assert "self-consumption" in header
    assert "oracle" in header
    for figure in ("grid_import.png", "cumulative_reward.png", "total_import.png"):
        assert (out / figure).stat().st_size > 5_000
    controllers = ["grid-only", "self-consumption", "truthful-bidder", "greedy", "mpc", "oracle", "ppo"]
    assert (out / "kpis.csv").read_text().startswith("kpi,unit," + ",".join(controllers))
    shares = {}
    for name in controllers:
        kpis = json.loads((out / name / "kpis.json").read_text())
        shares[name] = kpis["community"]["share_of_oracle_savings"]
    assert shares["oracle"] == pytest.approx(1.0)
    assert shares["grid-only"] == pytest.approx(0.0)
    assert all(s <= 1.0 + 1e-9 for s in shares.values())  # the oracle bounds every controller on the same days
    printed = next(line for line in result.output.splitlines() if line.startswith("share_of_oracle_savings:"))
    assert f"ppo {shares['ppo']:.4g}"[:8] in printed.replace("−", "-")


def test_evaluate_accepts_the_model_zip_and_relative_paths(model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(model_dir.parent)
    result = runner.invoke(app, ["evaluate", f"{model_dir.name}/model.zip", "--out", "eval-zip"])
    assert result.exit_code == 0, result.output
    assert (model_dir.parent / "eval-zip" / "kpis.csv").is_file()


def test_the_shared_policy_vecenv_raises_no_render_mode_warning():
    import warnings

    from powergrid.envs import EnergyMarketEnv
    from powergrid.envs.gym_faces import SharedPolicyVecEnv

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        venv = SharedPolicyVecEnv(EnergyMarketEnv("community-5"))
    assert venv.render_mode is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "community-5", "--algo", "dqn"], "--algo must be one of ppo, mappo, ippo"),
        (["train", "community-5", "--timesteps", "0"], "--timesteps must be > 0"),
        (["evaluate", "/nonexistent/model"], "not a trained model directory"),
        (["train", "multi-microgrid", "--timesteps", "100"], "train them with --algo mappo or ippo"),
    ],
)
def test_bad_training_arguments(args, message):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_evaluating_on_a_community_of_another_size_is_one_clear_error(model_dir, tmp_path):
    result = runner.invoke(app, ["evaluate", str(model_dir), "--scenario", "prosumer-20", "--out", str(tmp_path / "e")])
    assert result.exit_code == 2, result.output
    assert "trained on 5 agents, scenario 'prosumer-20' has 20" in result.output
    assert not (tmp_path / "e").exists()
