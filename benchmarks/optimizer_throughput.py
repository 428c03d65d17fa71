"""MPC speed and quality: ms per step, and its share of the oracle's savings on held-out days.

    python benchmarks/optimizer_throughput.py [--steps 48] [--forecasters perfect,seasonal-naive,learned]

- Speed: the rolling-horizon MPC (24-step horizon, LP built once with CVXPY Parameters, HiGHS) — median time per
  step for 5 households (community-5) and 100 households (a synthetic community), one core.
- Quality: on the held-out days of community-5 and prosumer-20, the share of the oracle's savings against
  grid-only (headline cost, KPIS.md) that MPC reaches with each forecaster, and `heron compare community-5` with
  every controller (wall time).
- The yardstick on whole runs: headline cost, cash cost and share of the oracle's savings of every controller on
  community-5 and prosumer-20, and MPC's headline cost with Clarabel and with HiGHS (solver independence).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from communities import synthetic_community
from powergrid.analytics.kpis import add_share_of_oracle_savings, compute_kpis
from powergrid.controllers import available_controllers
from powergrid.controllers.optimizers import MPCController
from powergrid.runner.compare import run_controllers
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community
from powergrid.scenarios.split import day_split, steps_per_day


def ms_per_step(community, n_steps: int) -> float:
    mpc = MPCController(horizon=24, forecaster="perfect")
    mpc.reset(community)
    from powergrid.engine import CommunityEngine

    engine = CommunityEngine(community)
    times = []
    for _ in range(n_steps):
        obs = engine.observe()
        start = time.perf_counter()
        actions = mpc.act(obs)
        times.append(time.perf_counter() - start)
        engine.step(actions, obs)
    return statistics.median(times[1:]) * 1e3  # the first solve includes CVXPY's compilation


def share_on_test_days(name: str, forecaster: str) -> float:
    community = build_community(load_scenario(name))
    _, test = day_split(community)
    per_day = steps_per_day(community)
    start, stop = int(test[0]) * per_day, (int(test[-1]) + 1) * per_day
    if forecaster == "perfect":
        mpc = MPCController(horizon=24, forecaster="perfect")
    else:
        from powergrid.forecasting import make_forecaster

        mpc = MPCController(horizon=24, forecaster=make_forecaster(forecaster))
    totals = {
        "grid-only": simulate(community, "grid-only", start=start, stop=stop),
        "oracle": simulate(community, "oracle", start=start, stop=stop),
        "mpc": simulate(community, mpc, start=start, stop=stop),
    }
    reports = {k: compute_kpis(t, totals["grid-only"]) for k, t in totals.items()}
    add_share_of_oracle_savings(reports)
    return float(reports["mpc"].community["share_of_oracle_savings"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=48)
    parser.add_argument("--forecasters", default="perfect,seasonal-naive,learned")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    c5 = build_community(load_scenario("community-5"))
    print(
        f"MPC, 24-step horizon, median ms per step: 5 households {ms_per_step(c5, args.steps):.1f} ms, "
        f"100 households {ms_per_step(synthetic_community(100, args.steps + 24), args.steps):.1f} ms"
    )
    start = time.perf_counter()
    run_controllers(c5, available_controllers())
    print(f"compare community-5, all {len(available_controllers())} controllers: {time.perf_counter() - start:.1f} s")
    for name in ("community-5", "prosumer-20"):
        community = build_community(load_scenario(name))
        outcomes = run_controllers(community, available_controllers())
        print(f"{name}, whole run: controller, headline cost, cash cost, share of the oracle's savings")
        for controller, outcome in outcomes.items():
            k = outcome.kpis.community
            print(f"  {controller:>16}: {k['cost']:10.3f} {k['cash_cost']:10.3f} {k['share_of_oracle_savings']}")
        costs = {}
        for solver in ("CLARABEL", "HIGHS"):
            costs[solver] = float(simulate(community, MPCController(solver=solver)).headline_cost().sum())
        gap = abs(costs["CLARABEL"] - costs["HIGHS"]) / abs(costs["HIGHS"])
        print(f"  MPC headline cost, Clarabel {costs['CLARABEL']:.4f}, HiGHS {costs['HIGHS']:.4f}: {gap:.2e} apart")
    print("MPC share of the oracle's savings vs grid-only (headline cost), held-out days:")
    from powergrid.forecasting import ForecastError

    for forecaster in args.forecasters.split(","):
        shares = []
        for name in ("community-5", "prosumer-20"):
            try:
                shares.append(f"{name} {share_on_test_days(name, forecaster):.1%}")
            except ForecastError as err:  # e.g. a learned model on a scenario with one training day
                shares.append(f"{name} n/a ({err})")
        print(f"  {forecaster:>15}: " + ", ".join(shares))


if __name__ == "__main__":
    main()
