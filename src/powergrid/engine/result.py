"""StepResult: what one engine step did, per agent (energies kWh, money currency) and per step; and the table of
its fields (``RESULT_FIELDS``, with ``NETWORK_FIELDS`` and ``INTERVENTION_FIELDS`` for its records) from which the
results writer, the running totals, the balance checks, the dashboard and the documentation take their columns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Flag, StrEnum, auto
from typing import Any

import numpy as np

from heron.clearing import Trades
from powergrid.network.setup import NetworkStep
from powergrid.safety import Interventions


@dataclass(frozen=True)
class StepResult:
    """Outcome of step ``t``. Arrays (N,) in kWh (energies) or currency (money) unless noted.

    Every field is described once in ``RESULT_FIELDS`` (unit, scope, meaning).

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
    capacitor: np.ndarray  # capacitor banks of each agent's section: 1.0 in, 0.0 out (microgrids; NaN otherwise)
    network: NetworkStep | None  # power-flow outcome (None without a feeder)


class Scope(StrEnum):
    """How many values a field holds in a step (a batched engine of K copies adds a leading axis K)."""

    AGENT = "per agent"  # an array (N,)
    STEP = "per step"  # one number, or one record of numbers
    TRADE = "per trade"  # one row per trade matched in the step
    SECTION = "per section"  # an array (S,) over the feeder's sections (microgrids)


class Store(StrEnum):
    """Where a run directory keeps a field (``powergrid.analytics.results``)."""

    TIMESERIES = "timeseries.parquet"  # a float64 column named after the field; per-step values repeated per agent
    STEP = "step column"  # the ``step`` column of every Parquet file
    FLAGS = "timeseries.parquet interventions"  # bit i of the uint8 column is INTERVENTION_FIELDS[i]
    TRADES = "trades.parquet"  # columns buyer, seller, kwh, price
    NETWORK = "network.parquet"  # a float64 column named after the field, one row per step
    NONE = "not written"


class Role(Flag):
    """What the consumers of a field do with it (combined with ``|``)."""

    NONE = 0
    SUMMED = auto()  # summed per agent over a run (RunTotals.agent)
    INFLOW = auto()  # energy into the agent: a + term of its energy balance (powergrid.balance)
    OUTFLOW = auto()  # energy out of the agent: a − term of its energy balance
    NONNEGATIVE = auto()  # a flow checked ≥ 0 every step (powergrid.balance)
    HEADLINE = auto()  # a part of the headline cost (KPIS.md; the end-of-horizon storage adjustment is the rest)
    DASHBOARD = auto()  # loaded by the dashboard as an (n_steps, N) matrix


@dataclass(frozen=True)
class ResultField:
    """One field of a step's outcome. ``unit``: kWh for energies (per step), currency for money, currency/kWh for
    prices, ``step`` for indices, ``flag`` for booleans, ``count`` for counts, ``fraction`` of a rating."""

    name: str
    unit: str
    scope: Scope
    roles: Role
    description: str
    stored: Store = Store.TIMESERIES

    @property
    def sign(self) -> int:
        """+1 (energy in), −1 (energy out) or 0: the field's sign in the agent's energy balance."""
        return 1 if Role.INFLOW in self.roles else -1 if Role.OUTFLOW in self.roles else 0

    def of(self, record: Any) -> Any:
        """This field's value in ``record``: a StepResult, NetworkStep or Interventions (the field's table)."""
        return getattr(record, self.name)


_A, _S, _0 = Scope.AGENT, Scope.STEP, Role.NONE
_SUM, _D, _H = Role.SUMMED, Role.DASHBOARD, Role.HEADLINE
_IN = Role.SUMMED | Role.INFLOW | Role.NONNEGATIVE
_OUT = Role.SUMMED | Role.OUTFLOW | Role.NONNEGATIVE

#: Every field of StepResult once, in the column order of ``timeseries.parquet``.
RESULT_FIELDS: tuple[ResultField, ...] = (
    ResultField("load", "kWh", _A, _SUM | Role.OUTFLOW | _D, "Consumption."),
    ResultField("pv", "kWh", _A, _IN | _D, "PV generation used or exported, after curtailment."),
    ResultField("generation", "kWh", _A, _IN, "Generator output (0 without a generator)."),
    ResultField("curtailed", "kWh", _A, _SUM | Role.NONNEGATIVE, "PV generation not used: available − pv."),
    ResultField("charge", "kWh", _A, _OUT | _D, "Energy into the battery."),
    ResultField("discharge", "kWh", _A, _IN | _D, "Energy out of the battery."),
    ResultField("bought", "kWh", _A, _IN | _D, "Energy bought from peers (P2P)."),
    ResultField("sold", "kWh", _A, _OUT | _D, "Energy sold to peers (P2P)."),
    ResultField("imported", "kWh", _A, _IN | _D, "Energy bought from the grid."),
    ResultField("exported", "kWh", _A, _OUT | _D, "Energy sold to the grid."),
    ResultField("unserved", "kWh", _A, _IN, "Load not served (the feeder's import capacity was exhausted)."),
    ResultField("grid_cost", "currency", _A, _SUM, "Grid bill: import at retail − export at feed-in (± imbalance)."),
    ResultField("p2p_payment", "currency", _A, _SUM, "Net P2P payment (+ paid by a buyer, − received by a seller)."),
    ResultField("fees", "currency", _A, _SUM, "Platform fees on P2P energy."),
    ResultField(
        "network_charges", "currency", _A, _SUM, "Use-of-system charges on P2P energy (market.network_charge_per_kwh)."
    ),
    ResultField("degradation_cost", "currency", _A, _SUM, "Battery wear: discharge × degradation cost."),
    ResultField("fuel_cost", "currency", _A, _SUM, "Generator fuel and start-up cost."),
    ResultField(
        "loss_cost", "currency", _A, _SUM, "Network losses allocated to the agent (0 unless losses are allocated)."
    ),
    ResultField(
        "cash_cost",
        "currency",
        _A,
        _SUM | _H,
        "grid_cost + p2p_payment + fees + network_charges + degradation_cost + fuel_cost + loss_cost.",
    ),
    ResultField("unserved_cost", "currency", _A, _SUM | _H, "Value of lost load × unserved."),
    ResultField(
        "co2_kg", "kg", _A, _SUM, "Emissions: imported × grid carbon intensity + generation × the genset's CO₂ per kWh."
    ),
    ResultField("stored_change", "kWh", _A, _SUM, "Energy stored at the end minus at the start of the step."),
    ResultField("imbalance", "kWh", _A, _SUM, "Metered exchange minus the position at gate closure (+ short, − long)."),
    ResultField(
        "network_curtailed", "kWh", _A, _SUM, "Battery energy the network operator did not allow (network_constraints)."
    ),
    ResultField("soc", "kWh", _A, _D, "Energy stored at the end of the step."),
    ResultField("order", "kWh", _A, _0, "The filtered P2P order (+ buy, − sell)."),
    ResultField("limit_price", "currency/kWh", _A, _0, "The filtered order's limit price."),
    ResultField("voltage_pu", "pu", _A, _0, "Voltage at the agent's connection (NaN without a feeder)."),
    ResultField("tap", "step", _A, _0, "Regulator step of the agent's feeder section (microgrids; NaN otherwise)."),
    ResultField(
        "capacitor", "flag", _A, _0, "Capacitor banks of the agent's section: 1 in, 0 out (microgrids; NaN otherwise)."
    ),
    ResultField(
        "clearing_price", "currency/kWh", _S, _0, "Uniform or posted P2P price (NaN: no trade, or discriminatory)."
    ),
    ResultField("retail", "currency/kWh", _S, _0, "Retail price (grid import)."),
    ResultField("feed_in", "currency/kWh", _S, _0, "Feed-in price (grid export)."),
    ResultField("carbon_kg_per_kwh", "kg/kWh", _S, _0, "Carbon intensity of grid import."),
    ResultField(
        "market_surplus", "currency", _S, _0, "Buyers' payments − sellers' receipts (market operator).", Store.NONE
    ),
    ResultField("t", "step", _S, _0, "Index of the step in the scenario.", Store.STEP),
    ResultField("interventions", "flag", _A, _0, "What the safety layer changed (INTERVENTION_FIELDS).", Store.FLAGS),
    ResultField(
        "trades",
        "kWh, currency/kWh",
        Scope.TRADE,
        _0,
        "Matched P2P trades: buyer and seller (agent indices), quantity (kWh) and price (currency/kWh).",
        Store.TRADES,
    ),
    ResultField(
        "network", "record", _S, _0, "Power-flow outcome (NETWORK_FIELDS; None without a feeder).", Store.NETWORK
    ),
)

#: Every field of NetworkStep (``StepResult.network``) once.
NETWORK_FIELDS: tuple[ResultField, ...] = (
    ResultField("head_kwh", "kWh", _S, _0, "Import into the feeder from the upstream grid (− export).", Store.NETWORK),
    ResultField("losses_kwh", "kWh", _S, _0, "Network losses.", Store.NETWORK),
    ResultField("operator_loss_cost", "currency", _S, _0, "Losses paid by the community operator.", Store.NETWORK),
    ResultField("v_min", "pu", _S, _0, "Lowest LV bus voltage.", Store.NETWORK),
    ResultField("v_max", "pu", _S, _0, "Highest LV bus voltage.", Store.NETWORK),
    ResultField("violations", "count", _S, _0, "LV buses outside the voltage band.", Store.NETWORK),
    ResultField("max_line_loading", "fraction", _S, _0, "Loading of the most loaded line.", Store.NETWORK),
    ResultField("max_trafo_loading", "fraction", _S, _0, "Loading of the most loaded transformer.", Store.NETWORK),
    ResultField("overloads", "count", _S, _0, "Lines and transformers above 100 %.", Store.NETWORK),
    ResultField("converged", "flag", _S, _0, "The power flow converged.", Store.NETWORK),
    ResultField("agent_u_pu", "pu", _A, _0, "Voltage at each agent's connection (written as voltage_pu).", Store.NONE),
    ResultField("agent_path_loading", "fraction", _A, _0, "Highest loading from the source to the agent.", Store.NONE),
    ResultField("section_v_min", "pu", Scope.SECTION, _0, "Lowest LV voltage of the section.", Store.NONE),
    ResultField("section_v_max", "pu", Scope.SECTION, _0, "Highest LV voltage of the section.", Store.NONE),
    ResultField(
        "section_violations", "count", Scope.SECTION, _0, "LV buses of the section outside the band.", Store.NONE
    ),
)

#: Every flag of Interventions (``StepResult.interventions``) once; flag i is bit i of the written column.
INTERVENTION_FIELDS: tuple[ResultField, ...] = tuple(
    ResultField(name, "flag", _A, _0, description, Store.FLAGS)
    for name, description in (
        ("nonfinite", "A non-finite action component: the whole action was replaced by the safe action."),
        ("battery_clipped", "Battery power clipped to the battery's limits."),
        ("trade_clipped", "The order clipped to the agent's physical surplus or deficit."),
        ("price_clipped", "The limit price clipped to the price band."),
        ("fallback", "The SafetySupervisor replaced the action by the grid-only action."),
        ("generator_clipped", "The generator set-point moved into its feasible output (or off)."),
        ("tap_clipped", "The tap set-point was outside its regulators' range (or not finite: held)."),
        ("capacitor_clipped", "The capacitor set-point was not finite (the banks held their state)."),
    )
)
