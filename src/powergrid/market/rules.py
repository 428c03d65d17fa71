"""What the market, the engine and the controllers read of a scenario's market and grid connection.

Plain frozen values, built from the scenario by ``powergrid.scenarios.build`` (the only translator from the schema):
the market layer knows nothing of the pydantic schema. Prices in currency/kWh, capacities in kW.
The P2P price band is not here: the builder turns the scenario's floor and cap into per-step arrays
(``Community.price_floor`` / ``price_cap``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: P2P clearing mechanisms (``none`` = no P2P market); the schema's ``market.mechanism`` takes the same words.
Mechanism = Literal["uniform", "pay-as-bid", "mcafee", "mid-market", "sdr", "none"]
#: What controllers see when they place orders: the realised step or its forecast (gate closure).
Gate = Literal["realised", "forecast"]
#: Who takes an agent's surprise at delivery with a forecast gate: its battery (then the grid) or the grid.
Balancing = Literal["battery", "grid"]
#: With a feeder: the power flow only measures, or the network operator curtails battery schedules.
NetworkConstraints = Literal["ignore", "enforce"]


@dataclass(frozen=True)
class MarketRules:
    """The P2P market of a community; the defaults are the schema's (a market with no fees, orders on the
    realised step).

    ``k``: buyer-side weight of the double-auction price rule (0.5 = midpoint, dimensionless).
    ``fee_per_kwh``: platform fee per kWh traded, paid by buyer and seller each (currency/kWh).
    ``network_charge_per_kwh``: use-of-system charge per kWh traded P2P, half paid by each side (currency/kWh).
    ``imbalance_price``: price at which each agent's imbalance settles (currency/kWh); None = retail/feed-in.
    """

    mechanism: Mechanism = "uniform"
    k: float = 0.5
    fee_per_kwh: float = 0.0
    network_charge_per_kwh: float = 0.0
    gate: Gate = "realised"
    balancing: Balancing = "battery"
    network_constraints: NetworkConstraints = "ignore"
    imbalance_price: float | None = None


@dataclass(frozen=True)
class GridLimits:
    """The community's connection to the upstream grid: net import and export limits (kW); None = unlimited."""

    import_capacity_kw: float | None = None
    export_capacity_kw: float | None = None
