"""Running sums of a run: per-agent totals and per-step community series — everything the KPIs need.

Totals are accumulated step by step from the engine (no need to keep the whole time series in memory) or
rebuilt from a results directory's ``timeseries.parquet`` and ``trades.parquet``; both give the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from powergrid.engine.result import (
    INTERVENTION_FIELDS,
    NETWORK_FIELDS,
    RESULT_FIELDS,
    ResultField,
    Role,
    StepResult,
    Store,
)
from powergrid.engine.yardstick import terminal_prices

#: StepResult fields summed per agent over a run: energies (kWh), money (currency), emissions (kg).
SUMMED_FIELDS: tuple[ResultField, ...] = tuple(f for f in RESULT_FIELDS if Role.SUMMED in f.roles)
#: Their names: the keys of ``RunTotals.agent`` (and columns of timeseries.parquet).
AGENT_SUMS = tuple(f.name for f in SUMMED_FIELDS)
#: The parts of the headline cost summed per agent (KPIS.md; the storage adjustment is the rest).
HEADLINE_PARTS = tuple(f.name for f in RESULT_FIELDS if Role.HEADLINE in f.roles)

#: Per-step community series: import, export (kWh), P2P volume (kWh) and value (currency), agents trading, and
#: the retail and feed-in prices (currency/kWh; the end-of-horizon storage rule reads their last 24 h),
#: Σ|imbalance| over agents (kWh), and the step's calendar day and month (local time: days since 1970-01-01 and
#: year·12 + month − 1; the CityLearn-style KPIs group by them).
STEP_SERIES = (
    "imported",
    "exported",
    "p2p_volume",
    "p2p_value",
    "n_trading",
    "retail",
    "feed_in",
    "imbalance",
    "day",
    "month",
)


def calendar_codes(stamps: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """``day`` and ``month`` codes (float arrays) of step start times (STEP_SERIES)."""
    days = (stamps.normalize() - pd.Timestamp("1970-01-01")) // pd.Timedelta(days=1)
    return {"day": np.asarray(days, dtype=float), "month": (stamps.year * 12 + stamps.month - 1).to_numpy(float)}


#: Per-step feeder series (NetworkStep fields written to network.parquet), present when the scenario has a feeder.
NETWORK_COLUMNS: tuple[ResultField, ...] = tuple(f for f in NETWORK_FIELDS if f.stored is Store.NETWORK)
NETWORK_SERIES = tuple(f.name for f in NETWORK_COLUMNS)


@dataclass
class RunTotals:
    """Sums over a run. ``agent[name]`` arrays (N,); ``step[name]`` arrays (n_steps,) of community values.

    ``charge_efficiency``/``discharge_efficiency`` (N,) price the end-of-horizon storage rule (default 1);
    ``value_of_lost_load`` (currency/kWh) is the one the run's ``unserved_cost`` used; ``optimiser_fallbacks``
    counts the steps whose optimiser solve was not optimal (set by the run loop).
    """

    agent_ids: tuple[str, ...]
    battery_capacity_kwh: np.ndarray
    dt_hours: float
    n_steps: int
    charge_efficiency: np.ndarray | None = None
    discharge_efficiency: np.ndarray | None = None
    value_of_lost_load: float = 0.0
    violation_penalty: float = 0.0  # currency per violating bus-step or overloaded branch-step (network section)
    optimiser_fallbacks: int = 0
    agent: dict[str, np.ndarray] = field(default_factory=dict)
    traded_any: np.ndarray = field(init=False)
    interventions: dict[str, np.ndarray] = field(default_factory=dict)
    step: dict[str, np.ndarray] = field(default_factory=dict)
    network: dict[str, np.ndarray] | None = None
    steps_done: int = 0
    first_step: int = 0  # the run covers steps first_step … first_step + n_steps − 1 of the scenario
    #: Set for totals merged from several windows: the sum of each window's own end-of-horizon adjustment.
    merged_storage_adjustment: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.agent_ids)
        self.battery_capacity_kwh = np.asarray(self.battery_capacity_kwh, dtype=float)
        ones = np.ones(n)
        self.charge_efficiency = ones if self.charge_efficiency is None else np.asarray(self.charge_efficiency, float)
        self.discharge_efficiency = (
            ones if self.discharge_efficiency is None else np.asarray(self.discharge_efficiency, float)
        )
        self.agent = {name: np.zeros(n) for name in AGENT_SUMS}
        self.traded_any = np.zeros(n, dtype=bool)
        self.interventions = {f.name: np.zeros(n, dtype=np.int64) for f in INTERVENTION_FIELDS}
        self.step = {name: np.zeros(self.n_steps) for name in STEP_SERIES}

    @classmethod
    def for_community(cls, community, n_steps: int, first_step: int = 0) -> RunTotals:
        """Empty totals for a run of ``n_steps`` of ``community`` (a ``Community``) from ``first_step``."""
        fleet = community.agents.battery
        totals = cls(
            community.agents.ids,
            fleet.capacity_kwh,
            community.grid.dt_hours,
            n_steps,
            charge_efficiency=fleet.charge_efficiency,
            discharge_efficiency=fleet.discharge_efficiency,
            value_of_lost_load=community.value_of_lost_load,
            first_step=first_step,
            violation_penalty=0.0 if community.network is None else community.network.config.violation_penalty,
        )
        totals.step.update(calendar_codes(community.grid.index[first_step : first_step + n_steps]))
        return totals

    @property
    def n_agents(self) -> int:
        return len(self.agent_ids)

    def storage_adjustment(self) -> np.ndarray:
        """Each agent's end-of-horizon storage adjustment (currency, + = cost), KPIS.md: the change of stored
        energy over the run valued by ``powergrid.engine.yardstick`` with the prices of the run's last 24 h."""
        if self.merged_storage_adjustment is not None:
            return self.merged_storage_adjustment
        if self.steps_done == 0:
            return np.zeros(self.n_agents)
        assert self.charge_efficiency is not None and self.discharge_efficiency is not None  # set in __post_init__
        prices = terminal_prices(
            self.step["retail"][: self.steps_done],
            self.step["feed_in"][: self.steps_done],
            self.dt_hours,
            self.charge_efficiency,
            self.discharge_efficiency,
        )
        return prices.adjustment(self.agent["stored_change"])

    def headline_cost(self) -> np.ndarray:
        """Each agent's headline cost (KPIS.md): cash cost + unserved cost + storage adjustment (currency, (N,))."""
        cost = np.zeros(self.n_agents)
        for name in HEADLINE_PARTS:
            cost = cost + self.agent[name]
        return cost + self.storage_adjustment()

    def add(self, r: StepResult) -> None:
        """Accumulate one engine step."""
        for f in SUMMED_FIELDS:
            self.agent[f.name] += f.of(r)
        trading = (r.bought > 0) | (r.sold > 0)
        self.traded_any |= trading
        for f in INTERVENTION_FIELDS:
            self.interventions[f.name] += f.of(r.interventions)
        t = r.t - self.first_step
        if r.network is not None:
            if self.network is None:
                self.network = {name: np.full(self.n_steps, np.nan) for name in NETWORK_SERIES}
            for f in NETWORK_COLUMNS:
                self.network[f.name][t] = f.of(r.network)
        self.step["imported"][t] = r.imported.sum()
        self.step["exported"][t] = r.exported.sum()
        self.step["p2p_volume"][t] = r.trades.quantity.sum()
        self.step["p2p_value"][t] = (r.trades.quantity * r.trades.price).sum()
        self.step["n_trading"][t] = trading.sum()
        self.step["retail"][t] = r.retail
        self.step["feed_in"][t] = r.feed_in
        self.step["imbalance"][t] = np.abs(r.imbalance).sum()
        self.steps_done += 1


def totals_from_frames(
    timeseries,
    trades,
    battery_capacity_kwh: np.ndarray,
    dt_hours: float,
    network=None,
    charge_efficiency: np.ndarray | None = None,
    discharge_efficiency: np.ndarray | None = None,
    value_of_lost_load: float = 0.0,
    violation_penalty: float = 0.0,
) -> RunTotals:
    """Rebuild RunTotals from a run's ``timeseries.parquet``, ``trades.parquet`` and, with a feeder,
    ``network.parquet`` (as pandas DataFrames)."""
    agent = timeseries["agent"]
    ids = tuple(str(x) for x in agent.cat.categories)
    codes = agent.cat.codes.to_numpy()
    steps = timeseries["step"].to_numpy()
    n_steps = int(steps.max()) + 1 if steps.size else 0
    totals = RunTotals(
        ids,
        np.asarray(battery_capacity_kwh, dtype=float),
        dt_hours,
        n_steps,
        charge_efficiency=charge_efficiency,
        discharge_efficiency=discharge_efficiency,
        value_of_lost_load=value_of_lost_load,
        violation_penalty=violation_penalty,
    )
    n = len(ids)
    for name in AGENT_SUMS:
        totals.agent[name] = np.bincount(codes, weights=timeseries[name].to_numpy(), minlength=n)
    trading = (timeseries["bought"].to_numpy() > 0) | (timeseries["sold"].to_numpy() > 0)
    totals.traded_any = np.bincount(codes, weights=trading, minlength=n) > 0
    flags = timeseries["interventions"].to_numpy()
    for bit, f in enumerate(INTERVENTION_FIELDS):
        totals.interventions[f.name] = np.bincount(codes, weights=(flags >> bit) & 1, minlength=n).astype(np.int64)
    for name in ("imported", "exported"):
        totals.step[name] = np.bincount(steps, weights=timeseries[name].to_numpy(), minlength=n_steps)
    totals.step["n_trading"] = np.bincount(steps, weights=trading, minlength=n_steps)
    totals.step["imbalance"] = np.bincount(steps, weights=np.abs(timeseries["imbalance"].to_numpy()), minlength=n_steps)
    first = np.unique(steps, return_index=True)[1]
    for name in ("retail", "feed_in"):
        totals.step[name] = timeseries[name].to_numpy()[first]
    totals.step.update(calendar_codes(pd.DatetimeIndex(timeseries["timestamp"].to_numpy()[first])))
    t_steps = trades["step"].to_numpy()
    kwh = trades["kwh"].to_numpy()
    totals.step["p2p_volume"] = np.bincount(t_steps, weights=kwh, minlength=n_steps)
    totals.step["p2p_value"] = np.bincount(t_steps, weights=kwh * trades["price"].to_numpy(), minlength=n_steps)
    if network is not None:
        totals.network = {name: network[name].to_numpy(dtype=float) for name in NETWORK_SERIES}
    totals.steps_done = n_steps
    return totals


def merge_totals(parts: list[RunTotals]) -> RunTotals:
    """Totals of several windows of the same community as one run (sums; per-step series concatenated). Each
    window keeps its own end-of-horizon storage adjustment (each started from the initial state of charge)."""
    first = parts[0]
    merged = RunTotals(
        first.agent_ids,
        first.battery_capacity_kwh,
        first.dt_hours,
        sum(p.n_steps for p in parts),
        charge_efficiency=first.charge_efficiency,
        discharge_efficiency=first.discharge_efficiency,
        value_of_lost_load=first.value_of_lost_load,
        violation_penalty=first.violation_penalty,
        optimiser_fallbacks=sum(p.optimiser_fallbacks for p in parts),
        first_step=first.first_step,
    )
    merged.merged_storage_adjustment = _sum(p.storage_adjustment() for p in parts)
    for name in AGENT_SUMS:
        merged.agent[name] = _sum(p.agent[name] for p in parts)
    merged.traded_any = np.logical_or.reduce([p.traded_any for p in parts])
    for name in merged.interventions:
        merged.interventions[name] = _sum(p.interventions[name] for p in parts)
    for name in merged.step:
        merged.step[name] = np.concatenate([p.step[name] for p in parts])
    networks = [p.network for p in parts]
    if first.network is not None:
        merged.network = {k: np.concatenate([_present(net)[k] for net in networks]) for k in first.network}
    merged.steps_done = sum(p.steps_done for p in parts)
    return merged


def _sum(arrays: Iterable[np.ndarray]) -> np.ndarray:
    """The element-wise sum of one or more arrays, in order (the built-in ``sum`` without its start value 0)."""
    items = iter(arrays)
    return sum(items, next(items))


def _present(network: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """A window's feeder series when merging windows of a community with a feeder (every window has them)."""
    if network is None:
        raise ValueError("merge_totals: a window without feeder series among windows with them")
    return network
