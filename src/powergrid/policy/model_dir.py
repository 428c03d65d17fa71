"""What every model directory holds, whatever the backend: ``train_config.json`` (backend, scenario, seed,
features, budget) and ``ood_stats.json`` (observation statistics for the SafetySupervisor), fitted here on the
observations the trained policy meets when it acts (deterministically) on the training episodes. Training writes
these files with ``write_model_files``; the trained policy's controller reads them with ``read_model_files``."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from pettingzoo import ParallelEnv

from powergrid.errors import HeronGridError
from powergrid.safety import OODStats

OOD = "ood_stats.json"
CONFIG = "train_config.json"


def policy_observations(
    env: ParallelEnv, act: Callable[[np.ndarray], np.ndarray], resets: Sequence[dict | None]
) -> np.ndarray:
    """Every agent's observation (rows, ``env.agents`` order per step) while ``act`` — (agents, F) features →
    (agents, A) actions — plays one episode per entry of ``resets`` (the ``options`` of ``env.reset``)."""
    samples = []
    for options in resets:
        obs, _ = env.reset(options=options)
        while env.agents:
            agents = list(env.agents)
            features = np.stack([obs[a] for a in agents])
            samples.append(features)
            obs, *_ = env.step(dict(zip(agents, act(features), strict=True)))
    return np.concatenate(samples)


def write_model_files(folder: Path, stats: OODStats, config: dict) -> None:
    """``ood_stats.json`` and ``train_config.json`` (JSON; ``config["backend"]`` says which backend wrote it)."""
    (folder / OOD).write_text(json.dumps(stats.to_json()), encoding="utf-8")
    (folder / CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")


def read_model_files(folder: Path) -> tuple[dict, OODStats]:
    """The ``train_config.json`` (as a dict) and ``ood_stats.json`` of a model directory; HeronGridError naming the
    missing files if ``folder`` is not one."""
    missing = [f for f in (OOD, CONFIG) if not (folder / f).exists()]
    if missing:
        raise HeronGridError(f"{folder} is not a trained model directory: missing {', '.join(missing)}")
    config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    stats = OODStats.from_json(json.loads((folder / OOD).read_text(encoding="utf-8")))
    return config, stats
