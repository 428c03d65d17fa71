"""RL environment throughput: one EnergyMarketEnv against BatchedEnergyMarketEnv (K copies as (K, N) arrays).

    python benchmarks/batched_env.py [--copies 64] [--repeats 5] [--steps 200]

Random actions in [-1, 1]; each step is the whole environment step (action map, FeasibilityFilter, market,
settlement, balance checks, power flow where the scenario has a feeder, reward, features). Two cases:
- ``prosumer-20`` (copper plate): agent-steps/s of one environment and of K copies (target ≥ 1 M at K = 64);
- ``cigre-lv-community`` (a power flow every step): env-steps/s of one environment (target ≥ 1,000) and of K
  copies whose K flows are one power-grid-model batch call (target ≥ 10× the single-copy rate).
Pinned to one core; figures are medians over repeats, ratios from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from powergrid.envs import EnergyMarketEnv
from powergrid.envs.batched import BatchedEnergyMarketEnv


def single_rate(scenario: str, steps: int, repeats: int) -> float:
    """Median env-steps/s of one EnergyMarketEnv (episodes restarted as they end)."""
    env = EnergyMarketEnv(scenario, seed=0)
    env.reset_array(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, env.n_agents, 3))
    rates = []
    for _ in range(repeats + 1):  # the first round warms up (forecast memo, imports)
        start = time.perf_counter()
        for a in actions:
            if env.step_array(a)[2]:
                env.reset_array()
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def batched_rate(scenario: str, copies: int, steps: int, repeats: int) -> float:
    """Median env-steps/s (copy-steps) of a BatchedEnergyMarketEnv with ``copies`` copies."""
    env = BatchedEnergyMarketEnv(scenario, copies=copies, seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (steps, copies, env.n_agents, 3))
    rates = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        for a in actions:
            env.step(a)
        rates.append(steps * copies / (time.perf_counter() - start))
    return statistics.median(rates[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    k = args.copies
    print(f"RL environment throughput, one core, medians of {args.repeats} rounds")
    print(
        "| scenario | agents | one env (env-steps/s) | one env (agent-steps/s) | "
        f"K = {k} (env-steps/s) | K = {k} (agent-steps/s) | K = {k} / one |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scenario, steps in (("prosumer-20", args.steps), ("cigre-lv-community", args.steps)):
        n = EnergyMarketEnv(scenario, seed=0).n_agents
        one = single_rate(scenario, steps * 5, args.repeats)
        many = batched_rate(scenario, k, steps, args.repeats)
        print(f"| {scenario} | {n} | {one:,.0f} | {one * n:,.0f} | {many:,.0f} | {many * n:,.0f} | {many / one:.1f}× |")


if __name__ == "__main__":
    main()
