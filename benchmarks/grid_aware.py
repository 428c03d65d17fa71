"""Grid-blind vs grid-aware operation on the stressed feeder: every controller on ``pv-rich-feeder`` with
``market.network_constraints`` ignore and enforce.

    python benchmarks/grid_aware.py [--scenario pv-rich-feeder] [--controllers grid-only,...]

Prints per controller and mode: headline cost, savings against grid-only, voltage violations (LV bus-steps) and
overloads (branch-steps), the lowest voltage, the highest loading, the battery energy the operator curtailed, and
the share of the ``ignore`` savings kept under ``enforce``.
"""

from __future__ import annotations

import argparse
import time

from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

CONTROLLERS = "grid-only,self-consumption,truthful-bidder,zi-c,greedy,mpc,oracle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="pv-rich-feeder")
    parser.add_argument("--controllers", default=CONTROLLERS)
    args = parser.parse_args()
    names = args.controllers.split(",")
    savings: dict[str, dict[str, float]] = {}
    for mode in ("ignore", "enforce"):
        raw = load_scenario(args.scenario).model_dump(mode="json")
        raw["market"]["network_constraints"] = mode
        started = time.perf_counter()
        out = run_controllers(build_community(load_scenario(raw)), names)
        print(f"{args.scenario}, network_constraints: {mode} ({time.perf_counter() - started:.0f} s)")
        base = out["grid-only"].kpis.community["cost"]
        for name in names:
            k = out[name].kpis.community
            savings.setdefault(name, {})[mode] = base - k["cost"]
            kept = ""
            if mode == "enforce" and savings[name]["ignore"] > 0:
                kept = f"  kept {100 * savings[name]['enforce'] / savings[name]['ignore']:5.1f} %"
            print(
                f"  {name:>16}: cost {k['cost']:8.1f}  savings {base - k['cost']:7.1f}  voltage "
                f"{k['voltage_violations']:4.0f}  overloads {k['overloads']:3.0f}  v_min {k['min_voltage_pu']:.3f}  "
                f"max loading {k['max_line_loading_pct']:5.1f} %  curtailed {k['network_curtailed_kwh']:6.1f} kWh"
                f"{kept}"
            )


if __name__ == "__main__":
    main()
