"""Conservation checks run on every engine step: energy per agent and community, money, physical bounds.

A violation raises ConservationError naming the step, the agent and the terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from powergrid.devices.battery import BatteryFleet
from powergrid.errors import ConservationError

if TYPE_CHECKING:
    from powergrid.engine import StepResult

#: Absolute tolerance of energy balances (kWh) and money balances (currency).
TOLERANCE = 1e-9


def _first_bad(mask: np.ndarray) -> int | None:
    return int(np.argmax(mask)) if mask.any() else None


def check_step_balances(
    r: StepResult, pv_available: np.ndarray, fleet: BatteryFleet, soc_before: np.ndarray, ids: tuple[str, ...]
) -> None:
    """Check one step's result; raise ConservationError on the first violation found."""
    t = r.t
    supply = r.pv + r.discharge + r.bought + r.imported + r.unserved
    demand = r.load + r.charge + r.sold + r.exported
    i = _first_bad(np.abs(supply - demand) > TOLERANCE)
    if i is not None:
        raise ConservationError(
            f"energy balance of agent {ids[i]!r} at step {t}: pv {r.pv[i]:.12g} + discharge {r.discharge[i]:.12g}"
            f" + bought {r.bought[i]:.12g} + import {r.imported[i]:.12g} + unserved {r.unserved[i]:.12g}"
            f" != load {r.load[i]:.12g} + charge {r.charge[i]:.12g} + sold {r.sold[i]:.12g}"
            f" + export {r.exported[i]:.12g} (kWh)"
        )
    i = _first_bad(np.abs(r.pv + r.curtailed - pv_available) > TOLERANCE)
    if i is not None:
        raise ConservationError(
            f"PV balance of agent {ids[i]!r} at step {t}: used {r.pv[i]:.12g} + curtailed {r.curtailed[i]:.12g}"
            f" != available {pv_available[i]:.12g} kWh"
        )
    flows = {
        "pv": r.pv, "curtailed": r.curtailed, "charge": r.charge, "discharge": r.discharge, "bought": r.bought,
        "sold": r.sold, "import": r.imported, "export": r.exported, "unserved": r.unserved,
    }  # fmt: skip
    for name, values in flows.items():
        i = _first_bad(values < -TOLERANCE)
        if i is not None:
            raise ConservationError(f"negative {name} ({values[i]:.12g} kWh) for agent {ids[i]!r} at step {t}")
    i = _first_bad((r.charge > TOLERANCE) & (r.discharge > TOLERANCE))
    if i is not None:
        raise ConservationError(f"battery of agent {ids[i]!r} charges and discharges at once at step {t}")
    stored = fleet.next_soc(soc_before, r.charge, r.discharge)
    i = _first_bad(
        (np.abs(stored - r.soc) > TOLERANCE)
        | (r.soc < fleet.soc_min_kwh - TOLERANCE)
        | (r.soc > fleet.soc_max_kwh + TOLERANCE)
    )
    if i is not None:
        raise ConservationError(
            f"battery of agent {ids[i]!r} at step {t}: stored {r.soc[i]:.12g} kWh (expected {stored[i]:.12g}, "
            f"bounds [{fleet.soc_min_kwh[i]:.12g}, {fleet.soc_max_kwh[i]:.12g}])"
        )
    bought, sold = r.bought.sum(), r.sold.sum()
    if abs(bought - sold) > TOLERANCE * max(1.0, bought):
        raise ConservationError(f"P2P energy at step {t}: bought {bought:.12g} != sold {sold:.12g} kWh")
    paid = r.p2p_payment.sum()
    value = float(np.abs(r.p2p_payment).sum())
    if abs(paid) > TOLERANCE * max(1.0, value):
        raise ConservationError(f"P2P money at step {t}: buyers paid {paid:.12g} more than sellers received")
