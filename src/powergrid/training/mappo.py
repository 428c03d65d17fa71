"""MAPPO and IPPO with TorchRL on K copies of an environment, on CPU: the community (``BatchedEnergyMarketEnv``,
``train_mappo``) or the microgrids (``BatchedMultiAgentMicrogrids``, ``powergrid.training.mappo_microgrids``) —
any batched environment with the small interface ``BatchedMultiAgentEnv`` (``run_mappo``).

Built from TorchRL's multi-agent components — the recipe of its multi-agent PPO tutorial (``MultiAgentMLP``,
``ProbabilisticActor`` with a ``TanhNormal`` in the action box, ``ClipPPOLoss``, GAE):
- actor: one network shared by all agents (parameter sharing), each agent acting on its own features;
- critic: ``mappo`` — centralised, one value per agent computed from every agent's features (the copy's global
  state, ``state()``); ``ippo`` — decentralised, each agent's value from its own features.
  Yu et al. (2022), "The surprising effectiveness of PPO in cooperative multi-agent games", NeurIPS; de Witt et
  al. (2020), "Is independent learning all you need in the StarCraft multi-agent challenge?".
Rollouts are collected from the batched environment directly (K copies × ``rollout_steps`` per iteration, numpy →
torch without per-agent Python), episodes end by truncation (the value of the state after the last step is
bootstrapped). Rewards are divided by a scale fixed from the first rollout (their standard deviation);
advantages are normalised over each rollout.

A model directory holds ``policy.pt`` (the actor's weights), ``train_config.json`` (backend ``torchrl``, algo,
network sizes, scenario, seed, features, budget, wall time), ``ood_stats.json`` and ``progress.csv`` (the learning
curve: per rollout, agent-steps so far, wall seconds and the copies' mean community reward over the rollout, in
currency — with the default 24-step rollouts of one-day episodes, the sampled policy's episode return).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from powergrid.envs.batched import BatchedEnergyMarketEnv
from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.policy.model_dir import policy_observations, write_model_files
from powergrid.policy.torchrl_actor import POLICY, TorchRLActor, actor_network
from powergrid.safety import OODStats
from powergrid.scenarios.loader import ScenarioLike, dump_scenario, load_scenario
from powergrid.scenarios.split import day_split

PROGRESS = "progress.csv"
ALGOS = ("mappo", "ippo")


@dataclass(frozen=True)
class MappoSettings:
    """Hyper-parameters (defaults as in the benchmark of BENCHMARKS.md)."""

    copies: int = 32  # environment copies stepped together
    rollout_steps: int = 24  # steps per copy and iteration
    epochs: int = 4
    minibatch: int = 4096  # agent-samples per gradient step
    learning_rate: float = 3e-4
    gamma: float = 0.99
    lmbda: float = 0.95
    clip_epsilon: float = 0.2
    entropy_coef: float = 0.005
    hidden: int = 64
    max_grad_norm: float = 1.0


@dataclass(frozen=True)
class MappoResult:
    folder: Path
    timesteps: int
    wall_seconds: float
    agent_steps_per_second: float


class BatchedMultiAgentEnv(Protocol):
    """What the trainer needs of a batched environment (``BatchedEnergyMarketEnv``,
    ``BatchedMultiAgentMicrogrids``): K copies of N agents with F features and A actions in [-1, 1]; ``step``
    returns (features (K, N, F) float32, rewards (K, N), episode ended (K,) bool, info) and a copy whose episode
    ended restarts at once, its terminal features in ``info["terminal_features"]`` (K, N, F)."""

    copies: int

    @property
    def n_agents(self) -> int: ...

    @property
    def n_features(self) -> int: ...

    @property
    def n_actions(self) -> int: ...

    def reset(self, seed: int | None = None) -> np.ndarray: ...

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]: ...


@dataclass(frozen=True)
class Trained:
    """A finished training run: the actor's weights, agent-steps, wall seconds, the reward scale and the learning
    curve (CSV lines)."""

    actor_state: dict
    timesteps: int
    wall_seconds: float
    reward_scale: float
    curve: list[str]


def _modules(n_agents: int, n_features: int, algo: str, settings: MappoSettings, n_actions: int = 3):
    import torch
    from tensordict.nn import TensorDictModule
    from torchrl.data import Bounded
    from torchrl.modules import MultiAgentMLP, ProbabilisticActor, TanhNormal

    actor = TensorDictModule(
        actor_network(n_agents, n_features, settings.hidden, n_actions),
        in_keys=[("agents", "observation")],
        out_keys=[("agents", "loc"), ("agents", "scale")],
    )
    policy = ProbabilisticActor(
        module=actor,
        spec=Bounded(-1.0, 1.0, shape=(n_agents, n_actions)),
        in_keys=[("agents", "loc"), ("agents", "scale")],
        out_keys=[("agents", "action")],
        distribution_class=TanhNormal,
        distribution_kwargs={"low": -1.0, "high": 1.0},
        return_log_prob=True,
        log_prob_key=("agents", "sample_log_prob"),
    )
    critic_net = MultiAgentMLP(
        n_agent_inputs=n_features,
        n_agent_outputs=1,
        n_agents=n_agents,
        centralised=algo == "mappo",
        share_params=True,
        depth=2,
        num_cells=settings.hidden,
        activation_class=torch.nn.Tanh,
    )
    critic = TensorDictModule(critic_net, in_keys=[("agents", "observation")], out_keys=[("agents", "state_value")])
    return policy, critic


def check_arguments(algo: str, timesteps: int) -> None:
    """ValueError for an unknown algo or a budget ≤ 0."""
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    if timesteps <= 0:
        raise ValueError(f"timesteps must be > 0, got {timesteps}")


def train_mappo(
    scenario: ScenarioLike,
    folder: Path,
    timesteps: int = 1_000_000,
    seed: int = 0,
    algo: str = "mappo",
    horizon: int = 4,
    settings: MappoSettings | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MappoResult:
    """Train ``algo`` (``mappo`` or ``ippo``) for ``timesteps`` agent-steps on the scenario's training days; write
    ``folder`` (module docstring). Raises ValueError for an unknown algo or a budget ≤ 0."""
    check_arguments(algo, timesteps)
    import torch

    settings = settings or MappoSettings()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    spec = load_scenario(scenario, seed=seed)
    env = BatchedEnergyMarketEnv(spec, copies=settings.copies, seed=seed, split="train", horizon=horizon)
    trained = run_mappo(env, timesteps, seed, algo, settings, on_progress)
    n, f = env.n_agents, env.n_features
    save_policy(folder, trained)
    single = EnergyMarketEnv(spec, seed=seed, split="train", horizon=horizon, community=env.community)
    actor = TorchRLActor.from_state(trained.actor_state, n, f, settings.hidden)
    samples = policy_observations(single, actor.act, [{"day": day} for day in single.starts.tolist()])
    stats = OODStats.fit(samples, spec.safety.ood_method, spec.safety.ood_threshold)
    config = {
        "backend": "torchrl",
        "algo": algo,
        "scenario_yaml": dump_scenario(spec),
        "seed": seed,
        "horizon": horizon,
        "timesteps": trained.timesteps,
        "wall_seconds": trained.wall_seconds,
        "settings": asdict(settings),
        "reward_scale": trained.reward_scale,
        "features": env.builder.names,
        "train_days": day_split(env.community)[0].tolist(),
    }
    write_model_files(folder, stats, config)
    return MappoResult(folder, trained.timesteps, trained.wall_seconds, trained.timesteps / trained.wall_seconds)


def save_policy(folder: Path, trained: Trained) -> None:
    """``policy.pt`` (the actor's weights) and ``progress.csv`` (the learning curve) in ``folder``."""
    import torch

    torch.save(trained.actor_state, folder / POLICY)
    (folder / PROGRESS).write_text("\n".join(trained.curve) + "\n", encoding="utf-8")


def run_mappo(
    env: BatchedMultiAgentEnv,
    timesteps: int,
    seed: int,
    algo: str,
    settings: MappoSettings,
    on_progress: Callable[[int], None] | None = None,
) -> Trained:
    """MAPPO/IPPO on ``env`` (``settings.copies`` must be its K) until ``timesteps`` agent-steps are collected
    (whole rollouts of K × ``rollout_steps`` × N); the caller seeds torch first (the networks are built here)."""
    import torch
    from tensordict import TensorDict
    from torchrl.envs.utils import ExplorationType, set_exploration_type
    from torchrl.objectives import ClipPPOLoss, ValueEstimators

    k, n, f, a, t_len = settings.copies, env.n_agents, env.n_features, env.n_actions, settings.rollout_steps
    if env.copies != k:
        raise ValueError(f"the environment has {env.copies} copies, the settings {k}")
    policy, critic = _modules(n, f, algo, settings, a)
    loss = ClipPPOLoss(
        actor_network=policy,
        critic_network=critic,
        clip_epsilon=settings.clip_epsilon,
        entropy_coeff=settings.entropy_coef,
        normalize_advantage=False,
    )
    loss.set_keys(
        reward=("agents", "reward"),
        action=("agents", "action"),
        value=("agents", "state_value"),
        sample_log_prob=("agents", "sample_log_prob"),
        done=("agents", "done"),
        terminated=("agents", "terminated"),
    )
    loss.make_value_estimator(ValueEstimators.GAE, gamma=settings.gamma, lmbda=settings.lmbda)
    optimiser = torch.optim.Adam(loss.parameters(), settings.learning_rate)
    features = env.reset(seed=seed)
    reward_scale = None
    done_steps = 0
    curve = ["agent_steps,wall_s,mean_return"]
    started = time.perf_counter()
    while done_steps < timesteps:
        obs = np.empty((t_len, k, n, f), np.float32)
        nxt = np.empty_like(obs)
        act = np.empty((t_len, k, n, a), np.float32)
        logp = np.empty((t_len, k, n), np.float32)
        rew = np.empty((t_len, k, n), np.float32)
        ended = np.empty((t_len, k), bool)
        with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):  # sample, not the mode
            for step in range(t_len):
                td = policy(TensorDict({("agents", "observation"): torch.from_numpy(features)}, batch_size=[k]))
                action = td["agents", "action"].numpy()
                obs[step], act[step], logp[step] = features, action, td["agents", "sample_log_prob"].numpy()
                features, rewards, over, info = env.step(action)
                rew[step], ended[step] = rewards, over
                nxt[step] = np.where(over[:, None, None], info.get("terminal_features", features), features)
        if reward_scale is None:
            reward_scale = float(max(rew.std(), 1e-6))
        batch = _rollout_tensordict(obs, nxt, act, logp, rew / reward_scale, ended)
        with torch.no_grad():
            loss.value_estimator(
                batch, params=loss.critic_network_params, target_params=loss.target_critic_network_params
            )
            advantage = batch["advantage"]  # normalised over the whole rollout (all copies, steps and agents)
            batch["advantage"] = (advantage - advantage.mean()) / advantage.std().clamp_min(1e-8)
        flat = batch.reshape(-1)
        for _ in range(settings.epochs):
            for idx in torch.randperm(flat.shape[0]).split(max(settings.minibatch // n, 1)):
                parts = loss(flat[idx])
                total = parts["loss_objective"] + parts["loss_critic"] + parts["loss_entropy"]
                optimiser.zero_grad()
                total.backward()
                torch.nn.utils.clip_grad_norm_(loss.parameters(), settings.max_grad_norm)
                optimiser.step()
        done_steps += t_len * k * n
        curve.append(f"{done_steps},{time.perf_counter() - started:.3f},{rew.sum() / k:.6g}")
        if on_progress is not None:
            on_progress(t_len * k * n)
    wall = time.perf_counter() - started
    return Trained(policy.module[0].module.state_dict(), done_steps, wall, float(reward_scale or 1.0), curve)


def _rollout_tensordict(obs, nxt, act, logp, rew, ended):
    """The rollout as a TensorDict of batch [K, T] (time last, as TorchRL's value estimators expect)."""
    import torch
    from tensordict import TensorDict

    def tensor(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(np.swapaxes(x, 0, 1)))

    k, n = obs.shape[1], obs.shape[2]
    done = tensor(np.broadcast_to(ended[..., None, None], (*ended.shape, n, 1)))
    return TensorDict(
        {
            ("agents", "observation"): tensor(obs),
            ("agents", "action"): tensor(act),
            ("agents", "sample_log_prob"): tensor(logp),
            ("next", "agents", "observation"): tensor(nxt),
            ("next", "agents", "reward"): tensor(rew[..., None]),
            ("next", "agents", "done"): done,
            ("next", "agents", "terminated"): torch.zeros_like(done),  # truncation only: bootstrap the last value
        },
        batch_size=[k, obs.shape[0]],
    )
