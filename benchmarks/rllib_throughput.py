"""RLlib sampling throughput: env-steps/s of EnergyMarketEnv (prosumer-20) with 1 vs 2 env runners, on a local
Ray instance (one CPU per env runner), the PPO policy acting (explore), median of repeats after a warm-up.

Each measurement asks every remote env runner for ``--steps`` env steps at once (in parallel) and times the call;
the learner is not involved. An env step is one community step for all agents (20 agent-steps). For scale, the
environment alone (no RLlib, random actions) is timed too.

    python benchmarks/rllib_throughput.py [--scenario prosumer-20] [--steps 480] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from powergrid.envs.energy_market import EnergyMarketEnv
from powergrid.scaling.ray_session import ray_session
from powergrid.training.rllib import build_algorithm


def sampling_rate(scenario: str, runners: int, steps: int, repeats: int) -> tuple[float, int]:
    """(median env-steps/s over ``repeats`` parallel sample calls, agents) with ``runners`` env runners."""
    algo, probe, _, _ = build_algorithm("energy-market", scenario, None, "shared", seed=0, num_env_runners=runners)
    group = algo.env_runner_group
    try:

        def sample() -> int:
            episodes = group.foreach_env_runner(lambda r: r.sample(num_timesteps=steps), local_env_runner=False)
            return sum(e.env_steps() for batch in episodes for e in batch)

        sample()  # warm-up: first episodes, torch graph
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            n = sample()
            rates.append(n / (time.perf_counter() - start))
        return statistics.median(rates), probe.n_agents
    finally:
        algo.stop()


def bare_rate(scenario: str, steps: int, repeats: int) -> float:
    """Median env-steps/s of the PettingZoo environment alone in this process (random actions, no RLlib)."""
    env = EnergyMarketEnv(scenario, seed=0)
    rng = np.random.default_rng(0)
    rates = []
    for _ in range(repeats):
        env.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps):
            if not env.agents:
                env.reset()
            env.step({a: rng.uniform(-1, 1, 3).astype(np.float32) for a in env.agents})
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="prosumer-20")
    parser.add_argument("--steps", type=int, default=480, help="env steps per env runner per measurement")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    rows = []
    with ray_session(num_cpus=2):
        for runners in (1, 2):
            rate, agents = sampling_rate(args.scenario, runners, args.steps, args.repeats)
            rows.append((runners, rate, rate * agents))
    bare = bare_rate(args.scenario, args.steps, args.repeats)
    print(f"RLlib sampling throughput, {args.scenario}, {cpus} cores, median of {args.repeats}:")
    print("| env runners | env-steps/s | agent-steps/s | speed-up |")
    print("| ---: | ---: | ---: | ---: |")
    for runners, rate, agent_rate in rows:
        print(f"| {runners} | {rate:,.0f} | {agent_rate:,.0f} | {rate / rows[0][1]:.2f}× |")
    print(f"The environment alone (PettingZoo API, random actions, this process): {bare:,.0f} env-steps/s.")


if __name__ == "__main__":
    main()
