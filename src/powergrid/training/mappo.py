"""MAPPO and IPPO with TorchRL on K copies of the community (``BatchedEnergyMarketEnv``), on CPU.

Built from TorchRL's multi-agent components — the recipe of its multi-agent PPO tutorial (``MultiAgentMLP``,
``ProbabilisticActor`` with a ``TanhNormal`` in the action box, ``ClipPPOLoss``, GAE):
- actor: one network shared by all agents (parameter sharing), each agent acting on its own features;
- critic: ``mappo`` — centralised, one value per agent computed from every agent's features (the copy's global
  state, ``BatchedEnergyMarketEnv.state()``); ``ippo`` — decentralised, each agent's value from its own features.
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


def _modules(n_agents: int, n_features: int, algo: str, settings: MappoSettings):
    import torch
    from tensordict.nn import TensorDictModule
    from torchrl.data import Bounded
    from torchrl.modules import MultiAgentMLP, ProbabilisticActor, TanhNormal

    actor = TensorDictModule(
        actor_network(n_agents, n_features, settings.hidden),
        in_keys=[("agents", "observation")],
        out_keys=[("agents", "loc"), ("agents", "scale")],
    )
    policy = ProbabilisticActor(
        module=actor,
        spec=Bounded(-1.0, 1.0, shape=(n_agents, 3)),
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
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    if timesteps <= 0:
        raise ValueError(f"timesteps must be > 0, got {timesteps}")
    import torch
    from tensordict import TensorDict
    from torchrl.envs.utils import ExplorationType, set_exploration_type
    from torchrl.objectives import ClipPPOLoss, ValueEstimators

    settings = settings or MappoSettings()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    spec = load_scenario(scenario, seed=seed)
    env = BatchedEnergyMarketEnv(spec, copies=settings.copies, seed=seed, split="train", horizon=horizon)
    k, n, f, t_len = settings.copies, env.n_agents, env.n_features, settings.rollout_steps
    policy, critic = _modules(n, f, algo, settings)
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
        act = np.empty((t_len, k, n, 3), np.float32)
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
    torch.save(policy.module[0].module.state_dict(), folder / POLICY)
    (folder / PROGRESS).write_text("\n".join(curve) + "\n", encoding="utf-8")
    single = EnergyMarketEnv(spec, seed=seed, split="train", horizon=horizon, community=env.community)
    actor = TorchRLActor.from_state(policy.module[0].module.state_dict(), n, f, settings.hidden)
    samples = policy_observations(single, actor.act, [{"day": day} for day in single.starts.tolist()])
    stats = OODStats.fit(samples, spec.safety.ood_method, spec.safety.ood_threshold)
    config = {
        "backend": "torchrl",
        "algo": algo,
        "scenario_yaml": dump_scenario(spec),
        "seed": seed,
        "horizon": horizon,
        "timesteps": done_steps,
        "wall_seconds": wall,
        "settings": asdict(settings),
        "reward_scale": reward_scale,
        "features": env.builder.names,
        "train_days": day_split(env.community)[0].tolist(),
    }
    write_model_files(folder, stats, config)
    return MappoResult(folder, done_steps, wall, done_steps / wall)


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
