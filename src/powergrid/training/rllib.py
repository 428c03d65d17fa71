"""Multi-agent PPO on Ray RLlib (new API stack: RLModule, Learner, EnvRunner) over the PettingZoo environments.

``train_rllib`` trains on ``EnergyMarketEnv`` (a scenario's training days) or on ``MultiAgentMicrogrids``, both
wrapped in RLlib's ``ParallelPettingZooEnv``; env runners sample in parallel on the Ray cluster (local or
``address``), the learner is one process (the driver). A model directory holds ``checkpoint/`` (the RLlib
Algorithm checkpoint: ``Algorithm.from_checkpoint`` resumes it; its RLModules act without Ray, see
``powergrid.policy.rllib_actor``), ``checkpoints/iter-NNNN/`` (every ``checkpoint_every`` iterations),
``ood_stats.json`` and ``train_config.json`` (``"backend": "rllib"``) — so ``heron evaluate`` and
``PolicyController`` read it like an SB3 model directory. Observations are used as the environments give them
(already normalised and clipped).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.errors import HeronGridError
from powergrid.policy.model_dir import policy_observations, write_model_files
from powergrid.policy.rllib_actor import CHECKPOINT, RLlibActor, policy_ids
from powergrid.safety import OODStats
from powergrid.scaling.ray_session import ray_session
from powergrid.scenarios.loader import ScenarioLike, dump_scenario, load_scenario, scenario_from_dict
from powergrid.scenarios.split import day_split

ENVS = ("energy-market", "microgrids")
#: Policy modes each environment supports (microgrids have no agent kinds).
ENV_POLICIES = {"energy-market": ("shared", "per-type", "per-agent"), "microgrids": ("shared", "per-agent")}


@dataclass(frozen=True)
class PPOSettings:
    """PPO sizes. ``batch_episodes``: episodes per training iteration (B env steps, B × agents agent-steps);
    a minibatch holds B agent-steps of each policy (RLlib caps it at B), every sample is used ``num_epochs``
    times; ``hidden``: units of the policy and value networks (separate, tanh)."""

    batch_episodes: int = 4
    num_epochs: int = 4
    hidden: tuple[int, ...] = (64, 64)
    lr: float = 3e-4
    gamma: float = 0.99
    entropy_coeff: float = 0.005


@dataclass(frozen=True)
class RLlibTrainResult:
    folder: Path
    timesteps: int  # agent-steps sampled (each env step gives one per agent)
    iterations: int
    wall_seconds: float


def energy_market_env(config: dict[str, Any]):
    """RLlib env creator: EnergyMarketEnv on the scenario's training days, as a ParallelPettingZooEnv."""
    return _wrap(_energy_market(config))


def _energy_market(config: dict[str, Any]) -> EnergyMarketEnv:
    spec = scenario_from_dict(yaml.safe_load(config["scenario_yaml"]), "(train_config scenario)")
    return EnergyMarketEnv(spec, seed=config["seed"], split="train", horizon=config["horizon"])


def microgrids_env(config: dict[str, Any]):
    """RLlib env creator: MultiAgentMicrogrids(env_config) as a ParallelPettingZooEnv."""
    from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids

    return _wrap(MultiAgentMicrogrids(config))


def _wrap(env):
    """RLlib's ParallelPettingZooEnv around ``env``, in an env-runner process limited to one torch thread."""
    import torch
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

    torch.set_num_threads(1)  # 2 cores here: two torch threads per process collapse under load
    return ParallelPettingZooEnv(env)


def _ppo_config(
    env: str,
    env_config: dict,
    policy_of: dict[str, str],
    episode_steps: int,
    num_env_runners: int,
    seed: int,
    s: PPOSettings,
):
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    batch = s.batch_episodes * episode_steps  # env steps per iteration
    model = DefaultModelConfig(fcnet_hiddens=list(s.hidden), fcnet_activation="tanh", vf_share_layers=False)
    policies = sorted(set(policy_of.values()))
    return (
        PPOConfig()
        .environment(env, env_config=env_config)
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1, rollout_fragment_length="auto")
        .learners(num_learners=0, num_gpus_per_learner=0)
        .multi_agent(policies=set(policies), policy_mapping_fn=lambda aid, *args, table=policy_of, **kw: table[aid])
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs={p: RLModuleSpec(model_config=model) for p in policies})
        )
        .training(
            train_batch_size_per_learner=batch,
            minibatch_size=batch,
            num_epochs=s.num_epochs,
            lr=s.lr,
            gamma=s.gamma,
            entropy_coeff=s.entropy_coeff,
        )
        .debugging(seed=seed)
    )


def repeatable_process() -> bool:
    """Whether this process's string hashes are seeded (PYTHONHASHSEED set): RLlib iterates over sets of agent
    ids, so training repeats exactly, for the same seed, only then."""
    return os.environ.get("PYTHONHASHSEED", "random") != "random"


def _check_choices(env: str, policy: str) -> None:
    if env not in ENVS:
        raise HeronGridError(f"env must be one of {', '.join(ENVS)}, got {env!r}")
    if policy not in ENV_POLICIES[env]:
        raise HeronGridError(f"--policy for {env}: one of {', '.join(ENV_POLICIES[env])}, got {policy!r}")


def build_algorithm(
    env: str,
    scenario: ScenarioLike | None,
    env_config: dict | None,
    policy: str,
    seed: int,
    num_env_runners: int,
    horizon: int = 4,
    settings: PPOSettings | None = None,
):
    """Inside a Ray session: (the PPO Algorithm, a local instance of the environment, agent → policy id,
    train_config entries describing the environment). Arguments as for ``train_rllib``."""
    from ray.tune.registry import register_env

    _check_choices(env, policy)
    probe, config, record = _environment(env, scenario, env_config, seed, horizon)
    kinds = probe.community.agents.kinds if isinstance(probe, EnergyMarketEnv) else None
    policy_of = dict(zip(probe.possible_agents, policy_ids(policy, probe.possible_agents, kinds), strict=True))
    episode_steps = probe.episode_steps
    register_env(f"heron-{env}", energy_market_env if env == "energy-market" else microgrids_env)
    algo = _ppo_config(
        f"heron-{env}", config, policy_of, episode_steps, num_env_runners, seed, settings or PPOSettings()
    ).build_algo()
    return algo, probe, policy_of, record


def train_rllib(
    folder: Path,
    scenario: ScenarioLike | None = None,
    env: str = "energy-market",
    env_config: dict | None = None,
    policy: str = "shared",
    timesteps: int = 200_000,
    seed: int = 0,
    num_env_runners: int = 1,
    address: str | None = None,
    horizon: int = 4,
    settings: PPOSettings | None = None,
    checkpoint_every: int = 10,
    on_progress: Callable[[int], None] | None = None,
) -> RLlibTrainResult:
    """Train multi-agent PPO until ``timesteps`` agent-steps are sampled; write the model directory ``folder``.

    ``env="energy-market"`` needs ``scenario``; ``env="microgrids"`` takes ``env_config`` (MultiAgentMicrogrids'
    keys; its ``seed`` defaults to ``seed``). ``policy``: ``shared``, ``per-type`` (energy market: one policy per
    agent kind) or ``per-agent``.
    """
    import torch
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_AGENT_STEPS_SAMPLED_LIFETIME

    _check_choices(env, policy)
    if timesteps <= 0 or num_env_runners < 0:
        raise HeronGridError(f"timesteps must be > 0 and num_env_runners >= 0, got {timesteps}, {num_env_runners}")
    settings = settings or PPOSettings()
    torch.set_num_threads(1)
    start = time.perf_counter()
    done = iterations = 0
    with ray_session(address):
        algo, probe, policy_of, record = build_algorithm(
            env, scenario, env_config, policy, seed, num_env_runners, horizon, settings
        )
        try:
            while done < timesteps:
                result = algo.train()
                iterations += 1
                sampled = int(sum(result[ENV_RUNNER_RESULTS][NUM_AGENT_STEPS_SAMPLED_LIFETIME].values()))
                if on_progress is not None:
                    on_progress(sampled - done)
                done = sampled
                if checkpoint_every and iterations % checkpoint_every == 0:
                    algo.save_to_path(folder / "checkpoints" / f"iter-{iterations:04d}")
            algo.save_to_path(folder / CHECKPOINT)
        finally:
            algo.stop()
    wall = time.perf_counter() - start
    actor = RLlibActor(folder, list(policy_of.values()))
    resets = [{"day": d} for d in probe.starts.tolist()] if isinstance(probe, EnergyMarketEnv) else [None]
    samples = policy_observations(probe, actor.act, resets)
    if isinstance(probe, EnergyMarketEnv):  # the scenario's OOD test; microgrids: OODStats' default test
        stats = OODStats.fit(
            samples, probe.community.scenario.safety.ood_method, probe.community.scenario.safety.ood_threshold
        )
    else:
        stats = OODStats.fit(samples)
    write_model_files(
        folder,
        stats,
        {
            "backend": "rllib",
            "algo": "ppo",
            "env": env,
            "policy": policy,
            "policy_of": policy_of,
            **record,
            "seed": seed,
            "timesteps": timesteps,
            "timesteps_done": done,
            "iterations": iterations,
            "num_env_runners": num_env_runners,
            "address": address,
            "wall_seconds": wall,
            "repeatable": repeatable_process(),
            "settings": asdict(settings),
        },
    )
    return RLlibTrainResult(folder, done, iterations, wall)


def _environment(env: str, scenario: ScenarioLike | None, env_config: dict | None, seed: int, horizon: int):
    """(a local instance of the environment, the env_config RLlib sends to env runners, train_config entries)."""
    if env == "energy-market":
        if scenario is None:
            raise HeronGridError("env 'energy-market' needs a scenario")
        spec = load_scenario(scenario, seed=seed)
        config = {"scenario_yaml": dump_scenario(spec), "seed": seed, "horizon": horizon}
        probe = _energy_market(config)
        record = {**config, "features": probe.builder.names, "train_days": day_split(probe.community)[0].tolist()}
        return probe, config, record
    from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids

    config = {"seed": seed, **(env_config or {})}
    probe = MultiAgentMicrogrids(config)
    return (
        probe,
        config,
        {
            "env_config": {
                k: v if isinstance(v, int | float | str | bool | None) else repr(v) for k, v in config.items()
            }
        },
    )
