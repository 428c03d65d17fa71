"""Conservation checks run on every engine step: energy per agent and community, money, physical bounds.

The common case (everything closes) costs one combined test; only a violation pays for locating it. A
violation raises ConservationError naming the step, the agent and the terms.
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

_FLOWS = ("pv", "curtailed", "charge", "discharge", "bought", "sold", "imported", "exported", "unserved")


def check_step_balances(
    r: StepResult, pv_available: np.ndarray, fleet: BatteryFleet, soc_before: np.ndarray, ids: tuple[str, ...]
) -> None:
    """Check one step's result; raise ConservationError on the first violation found."""
    energy = r.pv + r.discharge + r.bought + r.imported + r.unserved - (r.load + r.charge + r.sold + r.exported)
    pv_gap = r.pv + r.curtailed - pv_available
    stored = fleet.next_soc(soc_before, r.charge, r.discharge)
    worst_gap = max(np.abs(energy).max(), np.abs(pv_gap).max(), np.abs(stored - r.soc).max())
    lowest = np.concatenate([getattr(r, name) for name in _FLOWS]).min()
    both = np.minimum(r.charge, r.discharge).max()
    outside = max((fleet.soc_min_kwh - r.soc).max(), (r.soc - fleet.soc_max_kwh).max())
    p2p_energy = abs(r.bought.sum() - r.sold.sum())
    p2p_money = abs(r.p2p_payment.sum() - r.market_surplus)
    if (
        worst_gap <= TOLERANCE
        and lowest >= -TOLERANCE
        and both <= TOLERANCE
        and outside <= TOLERANCE
        and p2p_energy <= TOLERANCE * max(1.0, r.bought.sum())
        and p2p_money <= TOLERANCE * max(1.0, np.abs(r.p2p_payment).sum())
    ):
        return
    _raise_first_violation(r, pv_available, fleet, stored, energy, pv_gap, ids)


def _raise_first_violation(r, pv_available, fleet, stored, energy, pv_gap, ids) -> None:
    t = r.t
    bad = np.abs(energy) > TOLERANCE
    if bad.any():
        i = int(np.argmax(bad))
        raise ConservationError(
            f"energy balance of agent {ids[i]!r} at step {t}: pv {r.pv[i]:.12g} + discharge {r.discharge[i]:.12g}"
            f" + bought {r.bought[i]:.12g} + import {r.imported[i]:.12g} + unserved {r.unserved[i]:.12g}"
            f" != load {r.load[i]:.12g} + charge {r.charge[i]:.12g} + sold {r.sold[i]:.12g}"
            f" + export {r.exported[i]:.12g} (kWh)"
        )
    bad = np.abs(pv_gap) > TOLERANCE
    if bad.any():
        i = int(np.argmax(bad))
        raise ConservationError(
            f"PV balance of agent {ids[i]!r} at step {t}: used {r.pv[i]:.12g} + curtailed {r.curtailed[i]:.12g}"
            f" != available {pv_available[i]:.12g} kWh"
        )
    for name in _FLOWS:
        values = getattr(r, name)
        bad = values < -TOLERANCE
        if bad.any():
            i = int(np.argmax(bad))
            raise ConservationError(f"negative {name} ({values[i]:.12g} kWh) for agent {ids[i]!r} at step {t}")
    bad = (r.charge > TOLERANCE) & (r.discharge > TOLERANCE)
    if bad.any():
        i = int(np.argmax(bad))
        raise ConservationError(f"battery of agent {ids[i]!r} charges and discharges at once at step {t}")
    bad = (
        (np.abs(stored - r.soc) > TOLERANCE)
        | (r.soc < fleet.soc_min_kwh - TOLERANCE)
        | (r.soc > fleet.soc_max_kwh + TOLERANCE)
    )
    if bad.any():
        i = int(np.argmax(bad))
        raise ConservationError(
            f"battery of agent {ids[i]!r} at step {t}: stored {r.soc[i]:.12g} kWh (expected {stored[i]:.12g}, "
            f"bounds [{fleet.soc_min_kwh[i]:.12g}, {fleet.soc_max_kwh[i]:.12g}])"
        )
    bought, sold = r.bought.sum(), r.sold.sum()
    if abs(bought - sold) > TOLERANCE * max(1.0, bought):
        raise ConservationError(f"P2P energy at step {t}: bought {bought:.12g} != sold {sold:.12g} kWh")
    paid = r.p2p_payment.sum() - r.market_surplus
    raise ConservationError(
        f"P2P money at step {t}: buyers paid {paid:.12g} more than sellers received and the operator kept"
    )
