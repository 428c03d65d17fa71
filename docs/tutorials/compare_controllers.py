"""Tutorial 1: compare controllers on a built-in scenario, from Python.

    python docs/tutorials/compare_controllers.py                      # community-5, every controller
    python docs/tutorials/compare_controllers.py --scenario prosumer-20 --steps 96 --out results/tutorial-1

The same as ``heron compare``, written with the library API: load a scenario, build the community (arrays), run
each controller through the engine on the same data and seed, and read the KPIs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# --8<-- [start:load]
from powergrid.analytics import KPI_INFO, NA
from powergrid.controllers import available_controllers
from powergrid.runner.compare import compare, run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

# --8<-- [end:load]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="community-5", help="a built-in scenario name or a YAML file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="run only the first STEPS steps")
    parser.add_argument("--controllers", default="all", help="comma-separated names, or 'all'")
    parser.add_argument("--out", type=Path, default=None, help="also write run directories here")
    args = parser.parse_args(argv)

    # --8<-- [start:build]
    scenario = load_scenario(args.scenario, seed=args.seed)  # a validated Scenario (pydantic)
    if args.steps is not None:
        scenario.time.n_steps = args.steps  # assignments are validated too
    community = build_community(scenario)  # the scenario as arrays: profiles, tariffs, batteries, market
    print(
        f"{scenario.name}: {community.n_agents} agents, {community.n_steps} steps of {scenario.time.step_minutes} min"
    )
    # --8<-- [end:build]

    # --8<-- [start:run]
    controllers = available_controllers() if args.controllers == "all" else args.controllers.split(",")
    outcomes = run_controllers(community, controllers)  # + a grid-only baseline run on the same data and seed
    # --8<-- [end:run]

    # --8<-- [start:kpis]
    columns = ["cost", "cash_cost", "savings", "share_of_oracle_savings", "p2p_volume_kwh", "self_sufficiency_ratio"]
    print(f"{'controller':>18} " + " ".join(f"{c[:14]:>14}" for c in columns))
    for name, outcome in outcomes.items():
        kpi = outcome.kpis.community  # KPI name -> float, or NA(reason) when undefined
        cells = ("n/a" if isinstance(kpi[c], NA) else f"{kpi[c]:.3f}" for c in columns)
        print(f"{name:>18} " + " ".join(f"{cell:>14}" for cell in cells))
    for c in columns:
        unit, meaning = KPI_INFO[c]
        print(f"  {c} [{unit}]: {meaning}")
    # --8<-- [end:kpis]

    # --8<-- [start:agents]
    best = min(outcomes, key=lambda name: outcomes[name].kpis.community["cost"])
    report = outcomes[best].kpis
    for agent, saving in zip(report.agent_ids, report.agents["savings"], strict=True):
        print(f"  {best}: {agent} saves {saving:.3f} against grid-only")
    # --8<-- [end:agents]

    if args.out is not None:
        # --8<-- [start:write]
        reports = compare(scenario, controllers, out=args.out, overwrite=True)  # what `heron compare` runs
        print(f"wrote one run directory per controller and comparison.csv to {args.out} ({len(reports)} reports)")
        # --8<-- [end:write]


if __name__ == "__main__":
    main()
