"""The generator of an agent (a microgrid's diesel or gas genset): ratings and the quadratic fuel cost."""

from __future__ import annotations

from pydantic import Field, model_validator

from powergrid.scenarios.schema.base import NonNeg, Positive, Strict


class GeneratorConfig(Strict):
    """A dispatchable generator; fuel cost per step ``(no_load_cost + marginal_cost·P + quadratic_cost·P²)·dt``
    while running, plus ``startup_cost`` per start (Wood & Wollenberg, *Power Generation, Operation and Control*,
    §3.1); see ``powergrid.devices.generator``."""

    capacity_kw: NonNeg = Field(0.0, description="Rated output (kW); 0 = no generator.")
    min_kw: NonNeg = Field(0.0, description="Minimum stable output while running (kW).")
    ramp_kw_per_step: Positive | None = Field(
        None, description="Largest change of output between consecutive running steps (kW); none = unlimited."
    )
    no_load_cost: NonNeg = Field(0.0, description="Cost per hour of running, whatever the output (currency/h).")
    marginal_cost: NonNeg = Field(0.0, description="Fuel cost per kWh at zero output (currency/kWh).")
    quadratic_cost: NonNeg = Field(
        0.0, description="Quadratic fuel-cost term (currency/(kW²·h)): the marginal cost rises by 2·this per kW."
    )
    startup_cost: NonNeg = Field(0.0, description="Cost of each start from standstill (currency).")
    co2_kg_per_kwh: NonNeg = Field(
        0.0,
        description="CO₂ emitted per kWh generated (kg/kWh), added to the agent's co2_kg; 0 = not counted. A diesel "
        "genset at 35 % efficiency emits about 0.76 (IPCC 2006 Guidelines, Vol. 2, Table 2.2: 74.1 kg CO₂/GJ).",
    )

    @model_validator(mode="after")
    def _min_below_capacity(self) -> GeneratorConfig:
        if self.min_kw > self.capacity_kw:
            raise ValueError(f"min_kw ({self.min_kw}) must not exceed capacity_kw ({self.capacity_kw})")
        return self
