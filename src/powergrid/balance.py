"""Conservation checks run on every engine step: energy per agent and community, money, physical bounds.

The common case (everything closes) costs one combined test; only a violation pays for locating it. A
violation raises ConservationError naming the step, the agent and the terms.
"""

from __future__ import annotations

import numpy as np

from powergrid.devices.battery import BatteryFleet
from powergrid.engine.result import RESULT_FIELDS, ResultField, Role, StepResult
from powergrid.errors import ConservationError

#: Absolute tolerance of energy balances (kWh) and money balances (currency).
TOLERANCE = 1e-9

#: The terms of an agent's energy balance (Σ sign × term = 0; energy in +1, energy out −1), in table order.
_ENERGY_IN: tuple[ResultField, ...] = tuple(f for f in RESULT_FIELDS if f.sign > 0)
_ENERGY_OUT: tuple[ResultField, ...] = tuple(f for f in RESULT_FIELDS if f.sign < 0)
#: Flows that must never be negative (kWh).
_FLOWS: tuple[ResultField, ...] = tuple(f for f in RESULT_FIELDS if Role.NONNEGATIVE in f.roles)


def _total(r: StepResult, terms: tuple[ResultField, ...]) -> np.ndarray:
    """Sum of the terms' values in ``r`` (kWh, arrays (N,) or (K, N))."""
    out = terms[0].of(r)
    for f in terms[1:]:
        out = out + f.of(r)
    return out


def check_step_balances(
    r: StepResult, pv_available: np.ndarray, fleet: BatteryFleet, soc_before: np.ndarray, ids: tuple[str, ...]
) -> None:
    """Check one step's result (arrays (N,), or (K, N) for K copies: every copy's balances); raise
    ConservationError on the first violation found."""
    energy = _total(r, _ENERGY_IN) - _total(r, _ENERGY_OUT)
    pv_gap = r.pv + r.curtailed - pv_available
    stored = fleet.next_soc(soc_before, r.charge, r.discharge)
    worst_gap = max(np.abs(energy).max(), np.abs(pv_gap).max(), np.abs(stored - r.soc).max())
    lowest = min(f.of(r).min() for f in _FLOWS)
    both = np.minimum(r.charge, r.discharge).max()
    outside = max((fleet.soc_min_kwh - r.soc).max(), (r.soc - fleet.soc_max_kwh).max())
    bought = r.bought.sum(axis=-1)  # per market: () or (K,)
    p2p_energy = np.abs(bought - r.sold.sum(axis=-1))
    p2p_money = np.abs(r.p2p_payment.sum(axis=-1) - r.market_surplus)
    if (
        worst_gap <= TOLERANCE
        and lowest >= -TOLERANCE
        and both <= TOLERANCE
        and outside <= TOLERANCE
        and (p2p_energy <= TOLERANCE * np.maximum(1.0, bought)).all()
        and (p2p_money <= TOLERANCE * np.maximum(1.0, np.abs(r.p2p_payment).sum(axis=-1))).all()
    ):
        return
    _raise_first_violation(r, pv_available, fleet, stored, energy, pv_gap, ids)


def _raise_first_violation(r, pv_available, fleet, stored, energy, pv_gap, ids) -> None:
    n = len(ids)

    def first(bad: np.ndarray) -> tuple[int, str, str]:
        """Flat index, agent id and step (with the copy under a batch) of the first flagged entry."""
        flat = int(np.argmax(bad))
        copy, i = divmod(flat, n)
        step = f"{int(np.ravel(r.t)[copy])}" + (f" (copy {copy})" if bad.ndim == 2 else "")
        return flat, ids[i], step

    bad = np.abs(energy) > TOLERANCE
    if bad.any():
        k, agent, t = first(bad)
        into, out = (
            " + ".join(f"{f.name} {f.of(r).flat[k]:.12g}" for f in terms) for terms in (_ENERGY_IN, _ENERGY_OUT)
        )
        raise ConservationError(f"energy balance of agent {agent!r} at step {t}: {into} != {out} (kWh)")
    bad = np.abs(pv_gap) > TOLERANCE
    if bad.any():
        k, agent, t = first(bad)
        raise ConservationError(
            f"PV balance of agent {agent!r} at step {t}: used {r.pv.flat[k]:.12g} + curtailed "
            f"{r.curtailed.flat[k]:.12g} != available {pv_available.flat[k]:.12g} kWh"
        )
    for f in _FLOWS:
        values = f.of(r)
        bad = values < -TOLERANCE
        if bad.any():
            k, agent, t = first(bad)
            raise ConservationError(f"negative {f.name} ({values.flat[k]:.12g} kWh) for agent {agent!r} at step {t}")
    bad = (r.charge > TOLERANCE) & (r.discharge > TOLERANCE)
    if bad.any():
        k, agent, t = first(bad)
        raise ConservationError(f"battery of agent {agent!r} charges and discharges at once at step {t}")
    soc_min = np.broadcast_to(fleet.soc_min_kwh, r.soc.shape)
    soc_max = np.broadcast_to(fleet.soc_max_kwh, r.soc.shape)
    bad = (np.abs(stored - r.soc) > TOLERANCE) | (r.soc < soc_min - TOLERANCE) | (r.soc > soc_max + TOLERANCE)
    if bad.any():
        k, agent, t = first(bad)
        raise ConservationError(
            f"battery of agent {agent!r} at step {t}: stored {r.soc.flat[k]:.12g} kWh (expected "
            f"{stored.flat[k]:.12g}, bounds [{soc_min.flat[k]:.12g}, {soc_max.flat[k]:.12g}])"
        )
    bought, sold = np.atleast_1d(r.bought.sum(axis=-1)), np.atleast_1d(r.sold.sum(axis=-1))
    bad = np.abs(bought - sold) > TOLERANCE * np.maximum(1.0, bought)
    if bad.any():
        c = int(np.argmax(bad))
        raise ConservationError(
            f"P2P energy at step {np.ravel(r.t)[c]}: bought {bought[c]:.12g} != sold {sold[c]:.12g} kWh"
        )
    paid = np.atleast_1d(r.p2p_payment.sum(axis=-1) - r.market_surplus)
    c = int(np.argmax(np.abs(paid)))
    raise ConservationError(
        f"P2P money at step {np.ravel(r.t)[c]}: buyers paid {paid[c]:.12g} more than sellers received and the "
        "operator kept"
    )
