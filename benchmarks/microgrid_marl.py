"""MAPPO/IPPO on the multi-microgrid environment vs merit-order, grid-only and the oracle on held-out days.

    python benchmarks/microgrid_marl.py [--timesteps 1000000] [--seeds 0,1,2] [--algo mappo|ippo] [--copies 32]
                                        [--learning-rate 3e-4] [--out /tmp/microgrid-marl]

Per seed: trains on ``BatchedMultiAgentMicrogrids`` (the training days of ``multi-microgrid``, one-day episodes,
one core, torch with one thread), evaluates with ``evaluate_microgrid_policy`` (the run loop, the same engine and
KPIs for every controller, the held-out days) and prints the community headline cost (KPIS.md) of every
controller, the learner's share of the oracle's savings, whether it beats merit-order, and the wall times.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from powergrid.training.mappo import MappoSettings
from powergrid.training.mappo_microgrids import BASELINES, evaluate_microgrid_policy, train_mappo_microgrids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timesteps", type=int, default=1_000_000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--algo", default="mappo", choices=("mappo", "ippo"))
    parser.add_argument("--copies", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=MappoSettings.learning_rate)
    parser.add_argument("--out", type=Path, default=Path("/tmp/microgrid-marl"))
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    names = (*BASELINES, args.algo)
    share = f"{args.algo} share of oracle savings"
    print(f"| seed | {' | '.join(names)} | {share} | beats merit-order | train s | eval s |")
    print("| ---: " * (len(names) + 5) + "|")
    for seed in (int(s) for s in args.seeds.split(",")):
        folder = args.out / f"{args.algo}-{args.timesteps}-seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        settings = MappoSettings(copies=args.copies, learning_rate=args.learning_rate)
        trained = train_mappo_microgrids(folder, args.timesteps, seed, args.algo, settings=settings)
        started = time.perf_counter()
        reports = evaluate_microgrid_policy(folder)
        evaluation = time.perf_counter() - started
        cost = {name: reports[name].community["cost"] for name in names}
        share = reports[args.algo].community["share_of_oracle_savings"]
        beats = "yes" if cost[args.algo] < cost["merit-order"] else "no"
        row = " | ".join(f"{cost[n]:,.0f}" for n in names)
        print(f"| {seed} | {row} | {share:.3f} | {beats} | {trained.wall_seconds:.0f} | {evaluation:.0f} |", flush=True)


if __name__ == "__main__":
    main()
