"""powergrid: the energy side of heron-grid — data, devices, market, engine, controllers, KPIs, CLI.

The public API, imported on first use (``import powergrid`` itself loads nothing else, so the ``heron`` command
starts fast)::

    from powergrid import load_scenario, simulate, compare, EnergyMarketEnv, MultiAgentMicrogrids, KPIReport

- ``load_scenario(name_or_path_or_dict, seed=None)``: a validated ``Scenario`` (``powergrid.scenarios.loader``);
- ``simulate(community_or_scenario, controller, ...)``: one controller's run, its ``RunTotals``
  (``powergrid.runner.simulate``);
- ``compare(scenario, controllers, seed=..., out=...)``: several controllers and the grid-only baseline on the same
  data and seed, ``{controller: KPIReport}`` (``powergrid.runner.compare``; what ``heron compare`` runs);
- ``EnergyMarketEnv`` (``powergrid.envs.energy_market``) and ``MultiAgentMicrogrids``
  (``powergrid.envs.multi_agent_microgrids``): the PettingZoo environments;
- ``KPIReport`` (``powergrid.analytics.kpis``): community and per-agent KPIs of a run.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from powergrid.analytics.kpis import KPIReport
    from powergrid.envs.energy_market import EnergyMarketEnv
    from powergrid.envs.multi_agent_microgrids import MultiAgentMicrogrids
    from powergrid.runner.compare import compare
    from powergrid.runner.simulate import simulate
    from powergrid.scenarios.loader import load_scenario

__version__ = "0.1.0"

#: Each public name and the module it lives in (imported when the name is first used).
_HOMES = {
    "load_scenario": "powergrid.scenarios.loader",
    "simulate": "powergrid.runner.simulate",
    "compare": "powergrid.runner.compare",
    "EnergyMarketEnv": "powergrid.envs.energy_market",
    "MultiAgentMicrogrids": "powergrid.envs.multi_agent_microgrids",
    "KPIReport": "powergrid.analytics.kpis",
}

__all__ = ["EnergyMarketEnv", "KPIReport", "MultiAgentMicrogrids", "compare", "load_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then cached in this module)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """This module's names, the lazily imported public ones included."""
    return sorted({*globals(), *__all__})
