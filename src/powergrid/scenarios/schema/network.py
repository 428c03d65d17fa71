"""The ``network`` section of a scenario: the feeder under the community and how it is accounted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from powergrid.scenarios.schema.base import NonNeg, Strict


class NetworkConfig(Strict):
    """A feeder under the community: AC power flow every step (no section = copper plate)."""

    feeder: str = Field(
        description="Feeder name: cigre-lv, kerber-dorfnetz, ieee-european-lv, ieee13, simbench:<code>."
    )
    agent_buses: dict[str, int | str] | None = Field(
        None,
        description="Explicit bus per agent id, as a node id or a node name (e.g. 'MG1.675' on ieee13-pair); other "
        "agents are spread evenly (seeded) over load buses.",
    )
    agent_sections: bool = Field(
        False,
        description="Each agent is one section of a sectioned feeder (a microgrid, e.g. on ieee13-pair): its load is "
        "the section's spot loads scaled by the agent's load profile, its devices connect three-phase at its bus, "
        "and its actions set the section's regulator taps. Needs as many agents as the feeder has sections.",
    )
    agent_phases: dict[str, Literal["a", "b", "c"]] | None = Field(
        None, description="Phase per agent on asymmetric feeders; default: seeded, spread over the bus's phases."
    )
    voltage_band: tuple[float, float] = Field((0.95, 1.05), description="Allowed voltage (pu) on LV buses.")
    power_factor: Annotated[float, Field(gt=0.0, le=1.0)] = Field(
        0.97, description="Power factor of household load (inductive); PV and batteries run at unity."
    )
    violation_penalty: NonNeg = Field(
        1.0,
        description="Currency per LV bus-step outside the voltage band and per branch-step above 100 %: the "
        "KPI violation_cost and the RL reward's violation term price violations at it (every controller alike).",
    )
    power_flow: Literal["newton_raphson", "iterative_current"] = Field(
        "newton_raphson",
        description="power-grid-model's method for the AC power flow: newton_raphson, or iterative_current (a "
        "fixed-point method on a factorised admittance matrix: the same solution to the tolerance, faster on small "
        "asymmetric feeders such as ieee13-pair). Either falls back to the linear method where it does not converge.",
    )
    losses: Literal["operator", "allocated"] = Field(
        "operator",
        description="Who pays network losses at retail: the community operator, or agents pro rata to their flows.",
    )

    @model_validator(mode="after")
    def _band(self) -> NetworkConfig:
        lo, hi = self.voltage_band
        if not 0.8 <= lo < hi <= 1.2:
            raise ValueError(f"voltage_band: must be (low, high) with 0.8 <= low < high <= 1.2 pu, got {lo, hi}")
        return self
