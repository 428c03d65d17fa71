"""Grid settlement: what the P2P market did not match is imported or exported, within the feeder's limits.

All quantities are energies of one step (kWh), arrays (N,) (or (K, N) for K copies). Each agent has its own meter:
its residual ``load + charge + sold - pv - generation - discharge - bought`` is imported if positive, exported if
negative.

The feeder limits apply to the community's *net* exchange at the connection point (sum of imports minus sum of
exports). When the net import exceeds the limit, grid-charging of batteries is cut first (pro rata among agents
that charge while importing), then load goes unserved (pro rata to the remaining imports). When the net export
exceeds the limit, PV is curtailed first (pro rata among exporters, at most their PV), then battery discharge
is reduced (pro rata), then generator output (pro rata). Nothing is silently dropped: every cut appears as
curtailment, unserved energy or a smaller battery or generator flow, and the per-agent energy balance closes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron.clearing import pro_rata
from powergrid.errors import ConservationError


@dataclass(frozen=True)
class GridSettlement:
    """Final per-agent energies of the step (kWh), after the feeder limits."""

    pv: np.ndarray
    curtailed: np.ndarray
    charge: np.ndarray
    discharge: np.ndarray
    generation: np.ndarray
    imported: np.ndarray
    exported: np.ndarray
    unserved: np.ndarray


def settle_with_grid(
    load: np.ndarray,
    pv: np.ndarray,
    charge: np.ndarray,
    discharge: np.ndarray,
    bought: np.ndarray,
    sold: np.ndarray,
    import_limit_kwh: float,
    export_limit_kwh: float,
    generation: np.ndarray | None = None,
) -> GridSettlement:
    """Settle one step with the grid. Arrays (N,), or (K, N) for K copies of a community (each copy has its own
    connection point and limits). Limits are energies over the step (``inf`` = unlimited); ``generation``
    (kWh, default none) is the generators' output."""
    generation = np.zeros_like(load) if generation is None else generation
    residual = load + charge + sold - pv - generation - discharge - bought
    imported = np.maximum(residual, 0.0)
    exported = np.maximum(-residual, 0.0)
    curtailed = np.zeros_like(pv)
    unserved = np.zeros_like(load)
    net = imported.sum(axis=-1) - exported.sum(axis=-1)  # () or (K,)

    excess = np.maximum(net - import_limit_kwh, 0.0)
    if (excess > 0).any():
        less_charge = pro_rata(np.minimum(charge, imported), True, excess)
        charge = charge - less_charge
        imported = imported - less_charge
        unserved = pro_rata(imported, True, excess - less_charge.sum(axis=-1))
        imported = imported - unserved
    excess = np.maximum(-net - export_limit_kwh, 0.0)
    if (excess > 0).any():
        curtailed = pro_rata(np.minimum(pv, exported), True, excess)
        exported = exported - curtailed
        less_discharge = pro_rata(np.minimum(discharge, exported), True, excess - curtailed.sum(axis=-1))
        discharge = discharge - less_discharge
        exported = exported - less_discharge
        remaining = excess - curtailed.sum(axis=-1) - less_discharge.sum(axis=-1)
        less_generation = pro_rata(np.minimum(generation, exported), True, np.maximum(remaining, 0.0))
        generation = generation - less_generation
        exported = exported - less_generation
        left = exported.sum(axis=-1) - imported.sum(axis=-1) - export_limit_kwh
        if (left > 1e-9 * max(1.0, export_limit_kwh)).any():
            raise ConservationError(
                f"export limit {export_limit_kwh:.6g} kWh cannot be met: {np.max(left):.6g} kWh of exports come "
                "from neither PV, batteries nor generators (P2P purchases re-exported?)"
            )
    return GridSettlement(
        pv=pv - curtailed,
        curtailed=curtailed,
        charge=charge,
        discharge=discharge,
        generation=generation,
        imported=imported,
        exported=exported,
        unserved=unserved,
    )


def grid_bill(
    net_exchange: np.ndarray,
    imbalance: np.ndarray,
    retail: float | np.ndarray,
    feed_in: float | np.ndarray,
    imbalance_price: float | None,
) -> np.ndarray:
    """Grid bill of a step (currency, + the agent pays; arrays (N,) or (K, N)): the metered net exchange (kWh,
    + import) at ``retail``/``feed_in`` (currency/kWh); with an ``imbalance_price`` (``market.imbalance_price``) the
    imbalance (kWh, delivery minus the position at gate closure) at that price and the position at retail/feed-in."""
    if imbalance_price is None:
        return np.maximum(net_exchange, 0.0) * retail - np.maximum(-net_exchange, 0.0) * feed_in
    position = net_exchange - imbalance
    return np.maximum(position, 0.0) * retail - np.maximum(-position, 0.0) * feed_in + imbalance * imbalance_price
