"""Tutorial 3: a custom scenario file with a feeder (``network`` section) and the voltage KPIs.

    python docs/tutorials/custom_feeder.py                            # docs/tutorials/feeder-street.yaml
    python docs/tutorials/custom_feeder.py --steps 24 --band 0.95,1.03

Loads the YAML file beside this script, runs three controllers on the feeder (an AC power flow every step),
prints the network KPIs, follows the voltage step by step, and tightens the voltage band to show violations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# --8<-- [start:imports]
from powergrid.analytics import NA
from powergrid.runner.compare import run_controllers
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

# --8<-- [end:imports]

SCENARIO = Path(__file__).with_name("feeder-street.yaml")
NETWORK_KPIS = (
    "min_voltage_pu",
    "max_voltage_pu",
    "voltage_violations",
    "losses_kwh",
    "loss_cost",
    "max_line_loading_pct",
    "overloads",
    "violation_cost",
)


def show(outcomes: dict) -> None:
    """One row per KPI, one column per controller."""
    print(f"{'':>22}" + "".join(f"{name:>18}" for name in outcomes))
    for kpi in ("cost", *NETWORK_KPIS):
        values = (outcome.kpis.community[kpi] for outcome in outcomes.values())
        print(f"{kpi:>22}" + "".join(f"{'n/a' if isinstance(v, NA) else f'{v:.3f}':>18}" for v in values))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO, help="a scenario YAML file with a network section")
    parser.add_argument("--steps", type=int, default=None, help="run only the first STEPS steps")
    parser.add_argument("--band", default="0.95,1.03", help="the tightened voltage band of the last part (pu)")
    args = parser.parse_args(argv)

    # --8<-- [start:load]
    scenario = load_scenario(args.scenario)  # errors name the field and the file
    if args.steps is not None:
        scenario.time.n_steps = args.steps
    community = build_community(scenario)  # places the agents on the feeder's load buses (seeded)
    network = community.network
    print(f"{scenario.name}: {community.n_agents} agents on '{scenario.network.feeder}'")
    print("  feeder bus of each agent:", dict(zip(community.agents.ids, network.agent_nodes.tolist(), strict=True)))
    # --8<-- [end:load]

    # --8<-- [start:compare]
    controllers = ["self-consumption", "truthful-bidder", "greedy"]
    outcomes = run_controllers(community, controllers)
    show(outcomes)
    # --8<-- [end:compare]

    # --8<-- [start:steps]
    trace = []  # one row per step: the feeder's lowest and highest LV voltage and its losses
    simulate(
        community,
        "self-consumption",
        on_step=lambda r: trace.append((r.t, r.network.v_min, r.network.v_max, r.network.losses_kwh)),
    )
    t, v_min, v_max, losses = max(trace, key=lambda row: row[2])
    hour = community.grid.index[t]
    print(
        f"highest voltage at step {t} ({hour:%a %H:%M}): {v_max:.4f} pu (lowest {v_min:.4f}), losses {losses:.3f} kWh"
    )
    # --8<-- [end:steps]

    # --8<-- [start:band]
    low, high = (float(x) for x in args.band.split(","))
    scenario.network.voltage_band = (low, high)  # validated: 0.8 <= low < high <= 1.2
    scenario.network.violation_penalty = 0.5  # currency per bus-step outside the band (violation_cost KPI)
    show(run_controllers(build_community(scenario), controllers))
    # --8<-- [end:band]


if __name__ == "__main__":
    main()
