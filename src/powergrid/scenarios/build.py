"""Turn a validated Scenario into the arrays the engine runs on (the only place data sources are chosen).

This module is the only translator from the pydantic schema to the layers below: they take the plain frozen values
built here (``MarketRules``, ``GridLimits``, ``NetworkSettings``, ``TariffRates``, ``CarbonShape``, device fleets)
and never import the schema.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from powergrid.data.ausgrid import load_ausgrid
from powergrid.data.carbon import CarbonShape, build_carbon
from powergrid.data.citylearn import read_citylearn, window
from powergrid.data.profiles import Profiles, TimeGrid
from powergrid.data.synthetic import Location, synthetic_profiles
from powergrid.data.tabular import load_table
from powergrid.data.tariffs import PeakRates, Tariff, TariffRates, build_tariff, default_value_of_lost_load
from powergrid.devices.battery import BatteryFleet
from powergrid.devices.generator import GeneratorFleet
from powergrid.errors import ScenarioError
from powergrid.market.rules import GridLimits, MarketRules
from powergrid.network.settings import NetworkSettings
from powergrid.network.setup import NetworkSetup, connect_agents
from powergrid.scenarios.model import (
    BatteryConfig,
    CarbonConfig,
    GridConfig,
    MarketConfig,
    PVConfig,
    Scenario,
    TariffConfig,
)
from powergrid.scenarios.schema.data_sources import AusgridData, CityLearnData, SyntheticData
from powergrid.scenarios.schema.generator import GeneratorConfig
from powergrid.scenarios.schema.network import NetworkConfig
from powergrid.scenarios.shared_battery import battery_accounts

KIND_CODES = {"prosumer": 0, "pv-only": 1, "consumer": 2}


@dataclass(frozen=True)
class AgentTable:
    """The expanded agent list: ids, kinds and device parameters as arrays of shape (N,)."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    pv_peak_kw: np.ndarray
    annual_load_kwh: np.ndarray
    battery: BatteryFleet
    generator: GeneratorFleet | None = None  # None: no agent has a generator

    @property
    def generators(self) -> GeneratorFleet:
        """The generator fleet (zero capacity for agents without one)."""
        return self.generator if self.generator is not None else GeneratorFleet.none(len(self.ids))


@dataclass(frozen=True)
class Community:
    """Everything the engine needs, as arrays: agents, time grid, profiles, prices, market and grid limits.

    ``price_floor``/``price_cap`` (n_steps,) bound P2P prices (currency/kWh) and lie within
    ``[feed_in, retail]`` at every step. ``market``, ``limits`` and ``network.config`` are the lower layers' plain
    values (``MarketRules``, ``GridLimits``, ``NetworkSettings``), not schema models; ``scenario`` is the source.
    """

    scenario: Scenario
    grid: TimeGrid
    agents: AgentTable
    profiles: Profiles
    tariff: Tariff
    carbon_kg_per_kwh: np.ndarray
    price_floor: np.ndarray
    price_cap: np.ndarray
    market: MarketRules
    limits: GridLimits
    value_of_lost_load: float  # currency/kWh of unserved load (the scenario's, or 10 × the highest retail price)
    network: NetworkSetup | None = None

    @property
    def n_agents(self) -> int:
        return len(self.agents.ids)

    @property
    def n_steps(self) -> int:
        return self.grid.n_steps


def time_grid(scenario: Scenario) -> TimeGrid:
    t = scenario.time
    return TimeGrid(pd.Timestamp(t.start), t.step_minutes, t.n_steps, t.utc_offset_hours)


def agent_count(scenario: Scenario) -> int:
    """Number of agents: the groups' counts, or the buildings of a citylearn source (reads its data set)."""
    if isinstance(scenario.data, CityLearnData) and scenario.agents is None:
        return len(read_citylearn(scenario.data.path, scenario.data.buildings).buildings)
    return scenario.n_agents


def expand_agents(scenario: Scenario) -> AgentTable:
    """One row per agent, in group order; ids default to h000, h001, … (numbered across groups). With a citylearn
    source: one agent per building (ids = building names), PV and battery sizes from the data set's schema."""
    if isinstance(scenario.data, CityLearnData):
        return _citylearn_agents(scenario)
    ids: list[str] = []
    kinds: list[str] = []
    pv: list[float] = []
    load: list[float] = []
    batteries: list[BatteryConfig] = []
    generators: list[GeneratorConfig] = []
    no_battery = BatteryConfig(capacity_kwh=0.0, power_kw=0.0)
    width = max(3, len(str(scenario.n_agents - 1)))
    assert scenario.agents is not None  # the schema requires agents unless the data source is citylearn
    for group in scenario.agents:
        for j in range(group.count):
            ids.append(group.ids[j] if group.ids else f"h{len(ids):0{width}d}")
            kinds.append(group.kind)
            with_pv = group.kind in ("prosumer", "pv-only", "microgrid")
            pv.append((group.pv or PVConfig(peak_kw=0.0)).peak_kw if with_pv else 0.0)
            load.append(group.load.annual_kwh if group.load else scenario.devices.load.annual_kwh)
            own = group.kind in ("prosumer", "storage", "microgrid")
            batteries.append(group.battery if own and group.battery is not None else no_battery)
            generators.append(group.generator or GeneratorConfig())
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ScenarioError(f"agent ids must be unique; explicit ids collide with default ids: {dupes[:5]}")
    if scenario.shared_battery is not None:
        batteries = battery_accounts(scenario, scenario.shared_battery, ids, kinds, batteries)
    table = AgentTable(tuple(ids), tuple(kinds), np.array(pv), np.array(load), _fleet(batteries))
    if any(g.capacity_kw > 0 for g in generators):
        table = replace(table, generator=_generators(generators))
    return table


def _generators(configs: list[GeneratorConfig]) -> GeneratorFleet:
    def col(name: str) -> np.ndarray:
        return np.array([getattr(g, name) for g in configs], dtype=float)

    ramp = np.array([np.inf if g.ramp_kw_per_step is None else g.ramp_kw_per_step for g in configs])
    return GeneratorFleet(
        capacity_kw=col("capacity_kw"),
        min_kw=col("min_kw"),
        ramp_kw=ramp,
        no_load_cost=col("no_load_cost"),
        marginal_cost=col("marginal_cost"),
        quadratic_cost=col("quadratic_cost"),
        startup_cost=col("startup_cost"),
        co2_kg_per_kwh=col("co2_kg_per_kwh"),
    )


def _fleet(batteries: list[BatteryConfig]) -> BatteryFleet:
    def col(name: str) -> np.ndarray:
        return np.array([getattr(b, name) for b in batteries], dtype=float)

    cap = col("capacity_kwh")
    ramp = np.array([np.inf if b.ramp_kw_per_step is None else b.ramp_kw_per_step for b in batteries])
    fleet = BatteryFleet(
        capacity_kwh=cap,
        power_kw=col("power_kw"),
        soc_min_kwh=cap * col("soc_min"),
        soc_max_kwh=cap * col("soc_max"),
        initial_soc_kwh=cap * col("initial_soc"),
        charge_efficiency=col("charge_efficiency"),
        discharge_efficiency=col("discharge_efficiency"),
        ramp_kw=ramp,
        degradation_cost=col("degradation_cost"),
    )
    return fleet


def _citylearn_agents(scenario: Scenario) -> AgentTable:
    """Agents of a CityLearn data set: kinds from the scenario's groups (default: all prosumers; counts must add up
    to the buildings); PV peak, battery capacity, power and (one-way) efficiency from the schema, the rest of the
    battery (SoC band, initial SoC, ramp, degradation) from the group or ``devices.battery``."""
    data = scenario.data
    assert isinstance(data, CityLearnData)
    dataset = read_citylearn(data.path, data.buildings)
    n = len(dataset.buildings)
    groups = scenario.agents or []
    if groups and scenario.n_agents != n:
        raise ScenarioError(
            f"agents: the groups count {scenario.n_agents} agents but the CityLearn data set has {n} buildings "
            f"({', '.join(dataset.buildings[:5])}{', …' if n > 5 else ''}); leave agents out for one prosumer each"
        )
    kinds: list[str] = [g.kind for g in groups for _ in range(g.count)] if groups else ["prosumer"] * n
    bases: list[BatteryConfig] = [g.battery or scenario.devices.battery for g in groups for _ in range(g.count)]
    bases = bases or [scenario.devices.battery] * n
    if scenario.shared_battery is not None:
        raise ScenarioError("shared_battery: not supported with a citylearn source (every home has its own battery)")
    for kind in ("storage", "microgrid"):
        if kind in kinds:
            raise ScenarioError(
                f"agents: kind {kind!r} has no building in a CityLearn data set (use prosumer, pv-only or consumer)"
            )
    named = [i for g in groups for i in (g.ids or [])]
    if named:
        raise ScenarioError(f"agents.ids: with a citylearn source the ids are the building names, got {named[:3]}")
    has_pv = np.array([k != "consumer" for k in kinds])
    batteries = []
    for i, (kind, base) in enumerate(zip(kinds, bases, strict=True)):
        if kind != "prosumer":
            batteries.append(BatteryConfig(capacity_kwh=0.0, power_kw=0.0))
            continue
        eta = float(dataset.battery_efficiency[i])
        batteries.append(
            base.model_copy(
                update={
                    "capacity_kwh": float(dataset.battery_capacity_kwh[i]),
                    "power_kw": float(dataset.battery_power_kw[i]),
                    "charge_efficiency": eta,
                    "discharge_efficiency": eta,
                }
            )
        )
    load_kwh = dataset.load_kw.mean(axis=0) * 8760.0
    return AgentTable(dataset.buildings, tuple(kinds), dataset.pv_peak_kw * has_pv, load_kwh, _fleet(batteries))


def citylearn_inputs(scenario: Scenario, grid: TimeGrid) -> dict[str, np.ndarray] | None:
    """The CityLearn window of the scenario (``powergrid.data.citylearn.window``), or None for other sources."""
    data = scenario.data
    return _citylearn_window(data, grid) if isinstance(data, CityLearnData) else None


def _citylearn_window(data: CityLearnData, grid: TimeGrid) -> dict[str, np.ndarray]:
    start = pd.Timestamp(data.start) if data.start is not None else grid.start
    return window(read_citylearn(data.path, data.buildings), grid, start)


def load_profiles(
    scenario: Scenario, grid: TimeGrid, agents: AgentTable, inputs: dict[str, np.ndarray] | None = None
) -> Profiles:
    """Profiles from the scenario's data source for the households; storage agents have no load and no PV; PV is
    zeroed for consumers whatever the source says. ``inputs``: the CityLearn window (``citylearn_inputs``)."""
    kinds = np.array(agents.kinds)
    homes = np.flatnonzero(kinds != "storage")
    home_ids = tuple(agents.ids[i] for i in homes)
    data = scenario.data
    if isinstance(data, SyntheticData):
        loc = scenario.location
        raw = synthetic_profiles(
            grid,
            Location(loc.latitude, loc.longitude, loc.altitude_m, grid.utc_offset_hours),
            home_ids,
            agents.pv_peak_kw[homes],
            agents.annual_load_kwh[homes],
            seed=scenario.seed,
            cloudiness=data.cloudiness,
            load_variability=data.load_variability,
        )
    elif isinstance(data, CityLearnData):
        inputs = _citylearn_window(data, grid) if inputs is None else inputs
        raw = Profiles(inputs["load_kw"], inputs["pv_kw"], home_ids)
    else:
        n = homes.size
        if isinstance(data, AusgridData) and data.customers is not None and len(data.customers) != n:
            raise ScenarioError(
                f"data.customers lists {len(data.customers)} customers but the scenario has {n} households"
            )
        if not data.path.is_file():
            what = "does not exist" if not data.path.exists() else "is not a file"
            raise ScenarioError(f"data.path: {data.path} {what} (data source '{data.source}')")
        if isinstance(data, AusgridData):
            raw = load_ausgrid(data.path, grid, customers=data.customers, n_agents=n, fill_missing=data.fill_missing)
        else:
            raw = load_table(data.path, grid, n_agents=n, native_minutes=data.native_minutes)
        if raw.n_agents != n:
            raise ScenarioError(
                f"data source {data.path} has {raw.n_agents} agents but the scenario has {n} households"
            )
    load = np.zeros((grid.n_steps, kinds.size))
    pv = np.zeros((grid.n_steps, kinds.size))
    load[:, homes] = raw.load_kw
    pv[:, homes] = raw.pv_kw * (kinds[homes] != "consumer")[None, :]
    return Profiles(load, pv, agents.ids)


def market_rules(m: MarketConfig) -> MarketRules:
    """The market's rules from the scenario's ``market`` section (its floor and cap go to ``price_band``)."""
    return MarketRules(
        mechanism=m.mechanism,
        k=m.k,
        fee_per_kwh=m.fee_per_kwh,
        network_charge_per_kwh=m.network_charge_per_kwh,
        gate=m.gate,
        balancing=m.balancing,
        network_constraints=m.network_constraints,
        imbalance_price=m.imbalance_price,
    )


def grid_limits(g: GridConfig) -> GridLimits:
    """The feeder's import and export limits (kW) from the scenario's ``grid`` section."""
    return GridLimits(import_capacity_kw=g.import_capacity_kw, export_capacity_kw=g.export_capacity_kw)


def network_settings(n: NetworkConfig) -> NetworkSettings:
    """The network layer's settings from the scenario's ``network`` section (mappings copied)."""
    return NetworkSettings(
        feeder=n.feeder,
        agent_buses=None if n.agent_buses is None else dict(n.agent_buses),
        agent_phases=None if n.agent_phases is None else dict(n.agent_phases),
        agent_sections=n.agent_sections,
        voltage_band=n.voltage_band,
        power_factor=n.power_factor,
        violation_penalty=n.violation_penalty,
        power_flow=n.power_flow,
        losses=n.losses,
    )


def tariff_rates(t: TariffConfig) -> TariffRates:
    """The tariff's prices and time-of-use windows from the scenario's ``tariff`` section."""
    windows = tuple(PeakRates(w.start, w.end, w.retail, w.feed_in, w.weekdays_only) for w in t.peak_windows)
    return TariffRates(retail=t.retail, feed_in=t.feed_in, peak_windows=windows)


def carbon_shape(c: CarbonConfig) -> CarbonShape:
    """The carbon-intensity shape from the scenario's ``carbon`` section."""
    return CarbonShape(c.kind, c.mean_kg_per_kwh, c.solar_dip, c.evening_peak)


def price_band(market: MarketConfig, tariff: Tariff) -> tuple[np.ndarray, np.ndarray]:
    """P2P price bounds per step: ``[max(feed_in, floor), min(retail, cap)]``; an empty band is an error."""
    lo = tariff.feed_in if market.price_floor is None else np.maximum(tariff.feed_in, market.price_floor)
    hi = tariff.retail if market.price_cap is None else np.minimum(tariff.retail, market.price_cap)
    empty = lo > hi
    if empty.any():
        t = int(np.argmax(empty))
        raise ScenarioError(
            f"market.price_floor/price_cap leave no price between feed-in and retail at step {t} "
            f"(band [{lo[t]:.4g}, {hi[t]:.4g}])"
        )
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def build_community(scenario: Scenario) -> Community:
    """Expand agents, load data, build tariffs, carbon intensity and price bounds."""
    grid = time_grid(scenario)
    agents = expand_agents(scenario)
    inputs = citylearn_inputs(scenario, grid)
    profiles = load_profiles(scenario, grid, agents, inputs)
    tariff = build_tariff(tariff_rates(scenario.tariff), grid, None if inputs is None else inputs["retail"])
    carbon = inputs["carbon_kg_per_kwh"] if inputs is not None and scenario.carbon.kind == "data" else None
    lo, hi = price_band(scenario.market, tariff)
    return Community(
        scenario=scenario,
        grid=grid,
        agents=agents,
        profiles=profiles,
        tariff=tariff,
        carbon_kg_per_kwh=build_carbon(carbon_shape(scenario.carbon), grid) if carbon is None else carbon,
        price_floor=lo,
        price_cap=hi,
        market=market_rules(scenario.market),
        limits=grid_limits(scenario.grid),
        value_of_lost_load=(
            default_value_of_lost_load(tariff.retail)
            if scenario.value_of_lost_load is None
            else scenario.value_of_lost_load
        ),
        network=None
        if scenario.network is None
        else connect_agents(network_settings(scenario.network), agents.ids, scenario.seed),
    )
