"""Training throughput on one core: SB3 PPO (one environment, parameter sharing) beside TorchRL MAPPO and IPPO
(K copies of the community in ``BatchedEnergyMarketEnv``), same scenario, same process.

    python benchmarks/training_throughput.py [--scenario prosumer-20] [--timesteps 200000]

Agent-steps of experience per second of wall time, everything included (rollouts, updates, writing the model
directory; not the OOD statistics fitted afterwards, which are timed apart). Target (learning issue): ≥ 50,000
agent-steps/s.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from powergrid.training.mappo import train_mappo
from powergrid.training.sb3 import train_ppo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="prosumer-20")
    parser.add_argument("--timesteps", type=int, default=200_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    print(f"training throughput on {args.scenario}, one core, {args.timesteps:,} agent-steps each")
    print("| algorithm | library | agent-steps/s | wall s |")
    print("| --- | --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        for algo in ("ppo", "mappo", "ippo"):
            folder = Path(tmp) / algo
            folder.mkdir()
            if algo == "ppo":
                result = train_ppo(args.scenario, folder, timesteps=args.timesteps, seed=0)
                rate, library = result.timesteps / result.wall_seconds, "stable-baselines3"
            else:
                result = train_mappo(args.scenario, folder, timesteps=args.timesteps, seed=0, algo=algo)
                rate, library = result.agent_steps_per_second, "TorchRL"
            print(f"| {algo} | {library} | {rate:,.0f} | {result.wall_seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
