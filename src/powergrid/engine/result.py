"""StepResult: what one engine step did, per agent (energies kWh, money currency) and per step."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heron.clearing import Trades
from powergrid.network.setup import NetworkStep
from powergrid.safety import Interventions


@dataclass(frozen=True)
class StepResult:
    """Outcome of step ``t``. Arrays (N,) in kWh (energies) or currency (money) unless noted.

    From a batched engine (K copies): arrays (K, N); ``t``, ``clearing_price`` and ``market_surplus`` (K,);
    ``retail``, ``feed_in`` and ``carbon_kg_per_kwh`` (K, 1); trades carry the copy in ``market``; ``network`` has
    (K,) scalars."""

    t: int | np.ndarray
    load: np.ndarray
    pv: np.ndarray  # generation used or exported, after curtailment
    generation: np.ndarray  # generator output (kWh; 0 without a generator)
    curtailed: np.ndarray
    charge: np.ndarray
    discharge: np.ndarray
    soc: np.ndarray  # kWh stored at the end of the step
    stored_change: np.ndarray  # kWh stored at the end minus at the start of the step
    bought: np.ndarray
    sold: np.ndarray
    imported: np.ndarray
    exported: np.ndarray
    unserved: np.ndarray
    imbalance: np.ndarray  # metered exchange minus the position at gate closure (kWh, + short / − long)
    network_curtailed: np.ndarray  # battery energy the network operator did not allow (kWh, network_constraints)
    order: np.ndarray  # the filtered P2P order (kWh, + buy / − sell)
    limit_price: np.ndarray  # currency/kWh
    grid_cost: np.ndarray
    p2p_payment: np.ndarray
    fees: np.ndarray
    network_charges: np.ndarray  # use-of-system charges on P2P energy (market.network_charge_per_kwh)
    degradation_cost: np.ndarray
    fuel_cost: np.ndarray  # generator fuel and start-up cost (powergrid.devices.generator)
    loss_cost: np.ndarray  # network losses allocated to the agent (0 unless losses are "allocated")
    cash_cost: np.ndarray  # money spent: grid + P2P payment + fees + network charges + degradation + fuel + losses
    unserved_cost: np.ndarray  # value of lost load × unserved
    co2_kg: np.ndarray
    clearing_price: float | np.ndarray  # uniform/posted P2P price of the step (NaN if no trade or discriminatory)
    market_surplus: float | np.ndarray  # currency buyers paid beyond what sellers got (kept by the market operator)
    retail: float | np.ndarray
    feed_in: float | np.ndarray
    carbon_kg_per_kwh: float | np.ndarray
    interventions: Interventions
    trades: Trades  # ``market`` field is 0; buyer/seller are agent indices
    voltage_pu: np.ndarray  # at each agent's connection (NaN without a feeder)
    tap: np.ndarray  # regulator step of each agent's feeder section (microgrids; NaN otherwise)
    network: NetworkStep | None  # power-flow outcome (None without a feeder)
