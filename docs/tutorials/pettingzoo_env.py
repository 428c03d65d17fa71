"""Tutorial 2: step the PettingZoo EnergyMarketEnv with random actions and read the KPIs of the episode.

    python docs/tutorials/pettingzoo_env.py                          # one episode of community-5
    python docs/tutorials/pettingzoo_env.py --scenario prosumer-20 --episodes 3

Each household is an agent of a PettingZoo ``ParallelEnv``. Random actions stand in for a policy; the engine's
step results are summed into the same ``RunTotals`` that ``heron run`` uses, so the episode's KPIs (savings against
grid-only on the same days included) come from the one KPI module.
"""

from __future__ import annotations

import argparse

# --8<-- [start:imports]
import numpy as np

from powergrid.analytics import NA, RunTotals, compute_kpis
from powergrid.envs import EnergyMarketEnv
from powergrid.runner.simulate import simulate

# --8<-- [end:imports]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="community-5", help="a built-in scenario name or a YAML file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=1)
    args = parser.parse_args(argv)

    # --8<-- [start:make]
    env = EnergyMarketEnv(args.scenario, seed=args.seed, split="all")  # episodes from every day of the data
    print(f"{len(env.possible_agents)} agents: {env.possible_agents}")
    first = env.possible_agents[0]
    print(f"observation: {env.observation_space(first)}, action: {env.action_space(first)}")
    print(f"features: {env.builder.names[:6]} … ({env.builder.n_features} in all)")
    rng = np.random.default_rng(args.seed)
    # --8<-- [end:make]

    for episode in range(args.episodes):
        # --8<-- [start:episode]
        observations, infos = env.reset(seed=args.seed + episode)  # dicts keyed by agent id
        totals = RunTotals.for_community(env.community, env.episode_steps, first_step=env.engine.start)
        returns = dict.fromkeys(env.agents, 0.0)
        profit = 0.0
        done = False
        while not done:
            actions = {agent: rng.uniform(-1.0, 1.0, size=3).astype(np.float32) for agent in observations}
            observations, rewards, terminations, truncations, infos = env.step(actions)
            totals.add(env.last_result)  # the engine's StepResult of this step
            for agent, reward in rewards.items():
                returns[agent] += reward
            profit += sum(info["profit"] for info in infos.values())  # reward components and safety flags
            done = all(terminations.values()) or all(truncations.values())  # episodes end by truncation
        # --8<-- [end:episode]

        # --8<-- [start:kpis]
        start, stop = env.engine.start, env.engine.stop
        baseline = simulate(env.community, "grid-only", start=start, stop=stop)  # same days, no battery, no P2P
        kpis = compute_kpis(totals, baseline).community
        print(f"episode {episode} (day {env.day}, steps {start}–{stop - 1}):")
        for name in ("cost", "savings", "p2p_volume_kwh", "mean_p2p_price", "grid_import_kwh", "safety_clipped"):
            value = kpis[name]
            print(f"  {name:>16}: {value if isinstance(value, NA) else round(value, 3)}")
        print(f"  return (Σ reward over agents): {sum(returns.values()):.3f}; Σ profit component: {profit:.3f}")
        # --8<-- [end:kpis]


if __name__ == "__main__":
    main()
