"""MultiAgentMicrogrids speed: env-steps/s with 2 microgrids on IEEE 13 feeders (one asymmetric power-grid-model
flow of both feeders per env-step), P2P trading through the engine's market, random actions, one core (the
process is pinned to its first CPU), median of repeats.

Faces: the single environment (PettingZoo dicts, one flow per step) and ``BatchedMultiAgentMicrogrids`` with K
copies (arrays (K, N, S), the K flows in one power-grid-model batch); env-steps/s = K × batched steps/s.

    python benchmarks/microgrids_throughput.py [--steps 240] [--repeats 3] [--copies 16 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from heron.protocols.horizontal import P2PTradingProtocol
from powergrid.envs.batched_microgrids import BatchedMultiAgentMicrogrids
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids


def median_seconds(reset: Callable[[], object], step: Callable[[Any], object], actions: Any, repeats: int) -> float:
    """Median wall time of stepping through ``actions`` (one ``step`` each) after a ``reset``, over ``repeats``."""
    times = []
    for _ in range(repeats):
        reset()
        start = time.perf_counter()
        for step_actions in actions:
            step(step_actions)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def single_rate(steps: int, repeats: int) -> float:
    """Median env-steps/s of the single environment over ``steps`` steps (one episode)."""
    env = MultiAgentMicrogrids({"max_episode_steps": steps, "horizontal_protocol": P2PTradingProtocol()})
    rng = np.random.default_rng(0)
    actions = [{a: rng.uniform(-1, 1, env.action_spaces[a].shape) for a in env.possible_agents} for _ in range(steps)]
    return steps / median_seconds(lambda: env.reset(seed=0), env.step, actions, repeats)


def batched_rate(copies: int, steps: int, repeats: int) -> float:
    """Median env-steps/s (copies × steps/s) of the batched face, one-day episodes restarting on the scenario's
    days."""
    env = BatchedMultiAgentMicrogrids(
        {"horizontal_protocol": P2PTradingProtocol()}, copies=copies, starts=range(0, 672 - 24 + 1, 24)
    )
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, copies, env.n_agents, env.n_actions))
    return copies * steps / median_seconds(lambda: env.reset(seed=0), env.step, actions, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, nargs="*", default=[16, 64])
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rate = single_rate(args.steps, args.repeats)
    print(f"MultiAgentMicrogrids, 2 microgrids on IEEE 13, power flow every step: {rate:,.0f} env-steps/s")
    for k in args.copies:
        rate = batched_rate(k, max(args.steps // 4, 24), args.repeats)
        print(f"BatchedMultiAgentMicrogrids, K = {k} copies, one power-flow batch per step: {rate:,.0f} env-steps/s")


if __name__ == "__main__":
    main()
