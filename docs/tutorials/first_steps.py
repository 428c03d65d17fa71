"""Getting started: the Python route — a comparison in four lines, then the engine step by step with your own rule.

    python docs/tutorials/first_steps.py [--scenario community-5] [--steps N]

The code of the "Python route" in the getting-started page of the documentation.
"""

from __future__ import annotations

import argparse

# --8<-- [start:imports]
import numpy as np

from powergrid import compare, load_scenario, simulate
from powergrid.actions import Actions
from powergrid.analytics import RunTotals, compute_kpis
from powergrid.engine import CommunityEngine
from powergrid.scenarios.build import build_community

# --8<-- [end:imports]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="community-5")
    parser.add_argument("--steps", type=int, default=None, help="run only the first STEPS steps")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, seed=1)
    if args.steps is not None:
        scenario.time.n_steps = args.steps

    # --8<-- [start:compare-run]
    reports = compare(scenario, ["self-consumption", "truthful-bidder"])  # {controller: KPIReport}
    print("truthful-bidder saves", round(reports["truthful-bidder"].community["savings"], 3))
    # --8<-- [end:compare-run]

    # --8<-- [start:engine]
    community = build_community(scenario)  # the scenario as arrays
    engine = CommunityEngine(community)
    obs = engine.reset()
    totals = RunTotals.for_community(community, community.n_steps)
    while not engine.done:
        # Your rule, as arrays over agents: the battery absorbs the PV surplus or covers the deficit within this
        # step's limits; what is left is bid at the price cap (+, buy) or offered at the floor (−, sell).
        battery = np.clip(obs.pv_kw - obs.load_kw, -obs.max_discharge_kw, obs.max_charge_kw)
        residual = obs.load_kw + battery - obs.pv_kw
        price = np.where(residual > 0, obs.price_cap, obs.price_floor)
        result = engine.step(Actions(battery_kw=battery, trade_kw=residual, limit_price=price), obs)
        totals.add(result)  # energies, money, trades and safety interventions of the step
        if not engine.done:
            obs = engine.observe()
    kpis = compute_kpis(totals, baseline=simulate(community, "grid-only")).community
    print(f"my rule: cost {kpis['cost']:.3f}, savings {kpis['savings']:.3f}, P2P {kpis['p2p_volume_kwh']:.2f} kWh")
    # --8<-- [end:engine]


if __name__ == "__main__":
    main()
