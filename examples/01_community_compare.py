"""Compare the rule-based controllers on the five-household community, from Python.

    python examples/01_community_compare.py

The same as `heron compare community-5`, written out with the library API: load a scenario, build the community
(arrays), run each controller through the engine, and read the KPIs (savings against grid-only on the same data).
"""

from powergrid.analytics import NA
from powergrid.controllers import available_controllers
from powergrid.runner.compare import run_controllers
from powergrid.scenarios import load_scenario
from powergrid.scenarios.build import build_community

scenario = load_scenario("community-5", seed=0)
community = build_community(scenario)
outcomes = run_controllers(community, available_controllers())

print(f"{scenario.name}: {community.n_agents} agents, {community.n_steps} steps of {scenario.time.step_minutes} min")
for name, outcome in outcomes.items():
    kpi = outcome.kpis.community
    savings = "n/a" if isinstance(kpi["savings"], NA) else f"{kpi['savings']:.2f}"
    print(
        f"{name:>18}: cost {kpi['cost']:7.2f}  savings {savings:>6}  P2P {kpi['p2p_volume_kwh']:6.2f} kWh  "
        f"grid import {kpi['grid_import_kwh']:6.1f} kWh"
    )
