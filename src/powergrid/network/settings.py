"""What the network layer reads of a scenario's feeder section: where agents connect and how the feeder is accounted.

Plain frozen values, built from the scenario by ``powergrid.scenarios.build`` (the only translator from the schema):
the network layer knows nothing of the pydantic schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

#: power-grid-model's AC power-flow method (either falls back to the linear method where it does not converge).
PowerFlowMethod = Literal["newton_raphson", "iterative_current"]
#: Who pays network losses at retail: the community operator, or agents pro rata to their flows.
LossPayer = Literal["operator", "allocated"]
#: A phase of an asymmetric feeder.
Phase = Literal["a", "b", "c"]


@dataclass(frozen=True)
class NetworkSettings:
    """A feeder under the community; the defaults are the schema's.

    ``feeder``: feeder name (``cigre-lv``, ``ieee13``, ``simbench:<code>``, …).
    ``agent_buses``: explicit bus per agent id (node id or node name); other agents spread (seeded) over load buses.
    ``agent_phases``: phase per agent on asymmetric feeders; others seeded.
    ``agent_sections``: each agent is one section of a sectioned feeder (a microgrid).
    ``voltage_band``: allowed voltage on LV buses (pu, low and high).
    ``power_factor``: of household load, inductive (dimensionless, in (0, 1]).
    ``violation_penalty``: currency per LV bus-step outside the band and per branch-step above 100 %.
    """

    feeder: str
    agent_buses: Mapping[str, int | str] | None = None
    agent_phases: Mapping[str, Phase] | None = None
    agent_sections: bool = False
    voltage_band: tuple[float, float] = (0.95, 1.05)
    power_factor: float = 0.97
    violation_penalty: float = 1.0
    power_flow: PowerFlowMethod = "newton_raphson"
    losses: LossPayer = "operator"
