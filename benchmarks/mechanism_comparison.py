"""How the market mechanism changes outcomes: truthful bidders and ZI-C traders on prosumer-20 (TOU tariff) with a
fee of 0.01 per kWh and side, under uniform (k-DA), pay-as-bid, mcafee (trade reduction) and mid-market.

    python benchmarks/mechanism_comparison.py [--scenario prosumer-20] [--fee 0.01]

Prints, per controller and mechanism: the community's headline cost, P2P volume, volume-weighted mean P2P price,
the market operator's surplus (McAfee), and the spread of per-agent headline costs against the uniform run of the
same controller (max |Δ cost_i|): transfers move money between households even when the community total is equal.
"""

from __future__ import annotations

import argparse

import numpy as np

from powergrid.analytics.kpis import NA
from powergrid.runner.compare import run_controllers
from powergrid.runner.simulate import simulate
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

MECHANISMS = ("uniform", "pay-as-bid", "mcafee", "mid-market")
CONTROLLERS = ("truthful-bidder", "zi-c")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="prosumer-20")
    parser.add_argument("--fee", type=float, default=0.01)
    args = parser.parse_args()
    reference: dict[str, np.ndarray] = {}
    print(
        f"{args.scenario}, fee {args.fee} per kWh and side; headline cost, P2P kWh, mean price, operator surplus,"
        " max per-agent |Δ cost| vs uniform"
    )
    for mechanism in MECHANISMS:
        raw = load_scenario(args.scenario).model_dump(mode="json")
        raw["market"].update(mechanism=mechanism, fee_per_kwh=args.fee)
        community = build_community(load_scenario(raw))
        outcomes = run_controllers(community, list(CONTROLLERS))
        for name in CONTROLLERS:
            k = outcomes[name].kpis.community
            per_agent = outcomes[name].kpis.agents["cost"]
            reference.setdefault(name, per_agent)
            surplus = 0.0
            if mechanism == "mcafee":
                steps: list = []
                simulate(community, name, on_step=steps.append)
                surplus = sum(r.market_surplus for r in steps)
            price = "n/a" if isinstance(k["mean_p2p_price"], NA) else f"{k['mean_p2p_price']:.4f}"
            spread = float(np.abs(per_agent - reference[name]).max())
            print(
                f"  {mechanism:>10} {name:>16}: cost {k['cost']:9.2f}  P2P {k['p2p_volume_kwh']:7.1f}  "
                f"price {price:>7}  surplus {surplus:6.2f}  max|Δ cost_i| {spread:6.2f}"
            )


if __name__ == "__main__":
    main()
