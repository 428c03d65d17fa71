"""MultiAgentMicrogrids speed: env-steps/s with 2 microgrids on IEEE 13 feeders (one asymmetric power-grid-model
flow of both per step), P2P trading through the engine's market, random actions, one core, median of repeats.

    python benchmarks/microgrids_throughput.py [--steps 240] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from heron.protocols.horizontal import P2PTradingProtocol
from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    env = MultiAgentMicrogrids({"max_episode_steps": args.steps, "horizontal_protocol": P2PTradingProtocol()})
    rng = np.random.default_rng(0)
    actions = [
        {a: rng.uniform(-1, 1, env.action_spaces[a].shape) for a in env.possible_agents} for _ in range(args.steps)
    ]
    times = []
    for _ in range(args.repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for step_actions in actions:
            env.step(step_actions)
        times.append(time.perf_counter() - start)
    rate = args.steps / statistics.median(times)
    print(f"MultiAgentMicrogrids, 2 microgrids on IEEE 13, power flow every step: {rate:,.0f} env-steps/s")


if __name__ == "__main__":
    main()
