"""MAPPO/IPPO (TorchRL, ``powergrid.training.mappo``) on the multi-microgrid environment, and its evaluation
against the microgrid baselines with the run loop's KPIs.

Training: ``BatchedMultiAgentMicrogrids`` (K copies of ``MultiAgentMicrogrids`` with the seed's P2P trading,
one-day episodes of 24 one-hour steps starting on the scenario's training days, ``day_split``), the trainer's
shared actor acting for both microgrids on their ``FEATURES`` with one action per slot (generator, storage,
regulator), the reward of the environment (minus each microgrid's headline cost of the step and its priced
violations).

Evaluation: the trained actor as a controller of the run loop (``MicrogridPolicy``: the engine's observation →
the environment's features → actions → the same set-points through the agent tree and the same orders as the
environment) on the held-out days, each block of consecutive days from the initial state of charge, beside
``grid-only``, ``merit-order`` and the ``oracle``; every controller's KPIs from the same engine, headline cost as
KPIS.md defines it.

The model directory holds what ``powergrid.training.mappo`` writes (``policy.pt``, ``progress.csv``,
``train_config.json`` with ``env: multi-microgrid``, ``n_actions`` and ``slots``, ``ood_stats.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.analytics.kpis import KPIReport, add_share_of_oracle_savings, compute_kpis
from powergrid.controllers import make_controller
from powergrid.envs.batched_microgrids import BatchedMultiAgentMicrogrids
from powergrid.envs.microgrid_arrays import FEATURES, p2p_orders
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
from powergrid.errors import HeronGridError
from powergrid.policy.model_dir import CONFIG, policy_observations, write_model_files
from powergrid.policy.torchrl_actor import TorchRLActor
from powergrid.safety import OODStats
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import Community
from powergrid.scenarios.split import day_split, steps_per_day
from powergrid.training.evaluate import _run, contiguous_blocks
from powergrid.training.mappo import MappoResult, MappoSettings, check_arguments, run_mappo, save_policy

MICROGRIDS = "multi-microgrid"
#: The controllers a microgrid policy is compared with (the oracle bounds them all).
BASELINES = ("grid-only", "merit-order", "oracle")


def microgrid_config(seed: int = 0) -> dict:
    """The environment's ``env_config`` for training and evaluation: the seed's P2P trading, one-day episodes."""
    from heron.protocols.horizontal import P2PTradingProtocol

    return {"horizontal_protocol": P2PTradingProtocol(), "max_episode_steps": 24, "seed": seed}


def train_mappo_microgrids(
    folder: Path,
    timesteps: int = 1_000_000,
    seed: int = 0,
    algo: str = "mappo",
    settings: MappoSettings | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> MappoResult:
    """Train ``algo`` for ``timesteps`` agent-steps on the training days of ``multi-microgrid``; write ``folder``
    (module docstring). Raises ValueError for an unknown algo or a budget ≤ 0."""
    check_arguments(algo, timesteps)
    import torch

    settings = settings or MappoSettings()
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    probe = MultiAgentMicrogrids(microgrid_config(seed))
    per_day = steps_per_day(probe.community)
    train_days = day_split(probe.community)[0]
    env = BatchedMultiAgentMicrogrids(microgrid_config(seed), copies=settings.copies, starts=train_days * per_day)
    trained = run_mappo(env, timesteps, seed, algo, settings, on_progress)
    save_policy(folder, trained)
    actor = TorchRLActor.from_state(trained.actor_state, env.n_agents, env.n_features, settings.hidden, env.n_actions)
    samples = policy_observations(probe, actor.act, [{"start": int(d * per_day)} for d in train_days])
    safety = load_scenario(MICROGRIDS).safety
    config = {
        "backend": "torchrl",
        "env": MICROGRIDS,
        "algo": algo,
        "seed": seed,
        "timesteps": trained.timesteps,
        "wall_seconds": trained.wall_seconds,
        "settings": asdict(settings),
        "reward_scale": trained.reward_scale,
        "features": list(FEATURES),
        "n_actions": env.n_actions,
        "slots": list(env.slots),
        "train_days": train_days.tolist(),
    }
    write_model_files(folder, OODStats.fit(samples, safety.ood_method, safety.ood_threshold), config)
    return MappoResult(folder, trained.timesteps, trained.wall_seconds, trained.timesteps / trained.wall_seconds)


class MicrogridPolicy:
    """A trained microgrid actor as a controller of the run loop: ``act(obs)`` builds the environment's features
    from the engine's observation (N,), takes the actor's deterministic actions (N, S) and maps them exactly as
    ``MultiAgentMicrogrids`` does (``SetpointMap``, ``p2p_orders``)."""

    fallbacks = 0
    fallback_events: tuple[str, ...] = ()
    observes_network = True  # the features hold the sections' voltages of the last step
    forecaster = None
    horizon = 0

    def __init__(self, act: Callable[[np.ndarray], np.ndarray], env: MultiAgentMicrogrids, name: str) -> None:
        if env.setpoint_map is None or env.consensus is not None:
            raise HeronGridError("MicrogridPolicy needs the environment's SetpointProtocol and P2P trading")
        self._act, self.env, self.name = act, env, name

    def reset(self, community: Community) -> None:
        if community.agents.ids != self.env.community.agents.ids:
            raise HeronGridError(f"MicrogridPolicy: trained for microgrids {self.env.community.agents.ids}")

    def act(self, obs: Observation) -> Actions:
        actions = np.asarray(self._act(self.env.features.build(obs)), dtype=float)
        points = self.env.setpoint_map.setpoints(actions, obs.tap, obs.capacitor)  # type: ignore[union-attr]
        battery, generator, tap, capacitor, _ = points
        if self.env.horizontal is None:
            idle = np.full_like(battery, obs.price_floor)
            return Actions(battery, np.zeros_like(battery), idle, generator, tap=tap, capacitor=capacitor)
        trade, price = p2p_orders(obs, self.env.community, battery, generator)
        return Actions(battery, trade, price, generator_kw=generator, tap=tap, capacitor=capacitor)


def load_microgrid_policy(model_dir: Path) -> MicrogridPolicy:
    """The controller of a model directory written by ``train_mappo_microgrids``."""
    config = json.loads((Path(model_dir) / CONFIG).read_text(encoding="utf-8"))
    if config.get("env") != MICROGRIDS:
        raise HeronGridError(f"{model_dir} was not trained on {MICROGRIDS} (train_config.json: env)")
    env = MultiAgentMicrogrids(microgrid_config(int(config["seed"])))
    actor = TorchRLActor.load(Path(model_dir), config, env.n)
    return MicrogridPolicy(actor.act, env, str(config["algo"]))


def evaluate_microgrid_policy(model_dir: Path, split: str = "test") -> dict[str, KPIReport]:
    """KPIs of the trained policy and ``BASELINES`` on the split's days (``test``: held out), community headline
    cost and ``share_of_oracle_savings`` filled in; keyed by controller name."""
    policy = load_microgrid_policy(model_dir)
    community = policy.env.community
    train, test = day_split(community)
    blocks = contiguous_blocks(test if split == "test" else train)
    per_day = steps_per_day(community)
    controllers = {name: make_controller(name) for name in BASELINES}
    controllers[policy.name] = policy
    totals = {name: _run(community, ctrl, blocks, per_day)[0] for name, ctrl in controllers.items()}
    reports = {name: compute_kpis(t, totals["grid-only"]) for name, t in totals.items()}
    add_share_of_oracle_savings(reports)
    return reports
