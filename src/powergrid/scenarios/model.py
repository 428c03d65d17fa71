"""The scenario schema: a validated, complete description of a run (with a seed).

Units: power kW, energy kWh, prices currency/kWh, carbon kg/kWh, times in local standard time.
"""

from __future__ import annotations

import math
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, model_validator
from pydantic_core import PydanticCustomError

from powergrid.scenarios.schema.base import AgentKind, Fraction, Mechanism, NonNeg, Positive, Strict
from powergrid.scenarios.schema.data_sources import CityLearnData, DataConfig, SyntheticData
from powergrid.scenarios.schema.generator import GeneratorConfig
from powergrid.scenarios.schema.network import NetworkConfig


class TimeConfig(Strict):
    start: datetime = Field(description="Start of the first step, local standard time (no time zone).")
    step_minutes: Literal[15, 30, 60] = Field(60, description="Step length in minutes: 15, 30 or 60.")
    n_steps: int = Field(gt=0, description="Number of steps in the run.")
    utc_offset_hours: float = Field(0.0, ge=-12, le=14, description="Fixed UTC offset of local standard time.")

    @model_validator(mode="after")
    def _naive_start(self) -> TimeConfig:
        if self.start.tzinfo is not None:
            raise ValueError("start must be a local time without a time zone; set utc_offset_hours instead")
        return self


class LocationConfig(Strict):
    latitude: float = Field(52.52, ge=-90, le=90, description="Degrees north.")
    longitude: float = Field(13.40, ge=-180, le=180, description="Degrees east.")
    altitude_m: float = Field(34.0, ge=-500, le=9000, description="Metres above sea level.")


class PVConfig(Strict):
    peak_kw: NonNeg = Field(5.0, description="PV peak (DC, kW); AC output is clipped at this value.")


class BatteryConfig(Strict):
    capacity_kwh: NonNeg = Field(10.0, description="Usable energy capacity (kWh).")
    power_kw: NonNeg = Field(5.0, description="Charge and discharge power rating at the AC side (kW).")
    soc_min: Fraction = Field(0.0, description="Lowest allowed state of charge (fraction of capacity).")
    soc_max: Fraction = Field(1.0, description="Highest allowed state of charge (fraction of capacity).")
    initial_soc: Fraction = Field(0.5, description="State of charge at the start (fraction of capacity).")
    charge_efficiency: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.95, description="AC to stored energy.")
    discharge_efficiency: Annotated[float, Field(gt=0.0, le=1.0)] = Field(0.95, description="Stored energy to AC.")
    ramp_kw_per_step: Positive | None = Field(
        None, description="Largest change of battery power between consecutive steps (kW); none = unlimited."
    )
    degradation_cost: NonNeg = Field(0.0, description="Cost per kWh discharged (currency/kWh).")

    @model_validator(mode="after")
    def _soc_order(self) -> BatteryConfig:
        if not self.soc_min <= self.initial_soc <= self.soc_max:
            raise ValueError(
                f"need soc_min <= initial_soc <= soc_max, got {self.soc_min} <= {self.initial_soc} <= {self.soc_max}"
            )
        return self


class LoadConfig(Strict):
    annual_kwh: Positive = Field(3500.0, description="Yearly consumption used to scale synthetic load (kWh).")


class DeviceDefaults(Strict):
    pv: PVConfig = Field(default_factory=PVConfig)
    battery: BatteryConfig = Field(default_factory=BatteryConfig)
    load: LoadConfig = Field(default_factory=LoadConfig)
    generator: GeneratorConfig = Field(default_factory=GeneratorConfig)


_KIND_DEVICES: dict[str, tuple[str, ...]] = {
    "prosumer": ("pv", "battery", "load"),
    "pv-only": ("pv", "load"),
    "consumer": ("load",),
    "storage": ("battery",),  # a community (central) battery run by the operator: no load, no PV
    "microgrid": ("pv", "battery", "load", "generator"),  # a whole feeder: its load, PV, storage and a generator
}


class AgentGroup(Strict):
    """``count`` agents of one kind; device settings override the scenario's ``devices`` defaults."""

    kind: AgentKind = Field(
        description="prosumer (PV + battery), pv-only, consumer, storage (a central battery for the community), or "
        "microgrid (a feeder's load with PV, storage and a generator)."
    )
    count: int = Field(1, gt=0, description="Number of agents in this group.")
    ids: list[str] | None = Field(None, description="Explicit agent ids (one per agent); default h000, h001, …")
    pv: PVConfig | None = None
    battery: BatteryConfig | None = None
    load: LoadConfig | None = None
    generator: GeneratorConfig | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AgentGroup:
        if self.ids is not None and len(self.ids) != self.count:
            raise ValueError(f"ids has {len(self.ids)} entries but count is {self.count}")
        allowed = _KIND_DEVICES[self.kind]
        for device in ("pv", "battery", "generator"):
            if getattr(self, device) is not None and device not in allowed:
                raise ValueError(f"a {self.kind} agent has no {device}; remove '{device}' or change 'kind'")
        return self


class PeakWindow(Strict):
    start: time = Field(description="Window start (local time, inclusive).")
    end: time = Field(description="Window end (local time, exclusive); may wrap past midnight.")
    retail: NonNeg = Field(description="Retail price inside the window (currency/kWh).")
    feed_in: NonNeg | None = Field(None, description="Feed-in price inside the window; default: the base.")
    weekdays_only: bool = Field(False, description="Apply Monday–Friday only.")


def _price_or_data(value: Any) -> float | str:
    """A retail price (finite, ≥ 0) or the word 'data' — one error message for both (not one per union member)."""
    if value == "data":
        return "data"
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        raise PydanticCustomError(
            "price_or_data", "Input should be a finite number ≥ 0 or 'data', got {value!r}", {"value": value}
        )
    return float(number)


#: A retail price (currency/kWh) or 'data' (the data source's price series).
PriceOrData = Annotated[float | Literal["data"], PlainValidator(_price_or_data)]


class TariffConfig(Strict):
    retail: PriceOrData = Field(
        0.15,
        description="Base retail (grid buy) price (currency/kWh), or 'data': the data source's price series "
        "(CityLearn's pricing.csv; the default with a citylearn source).",
    )
    feed_in: NonNeg = Field(0.05, description="Base feed-in (grid sell) price (currency/kWh).")
    peak_windows: list[PeakWindow] = Field(default_factory=list, description="Time-of-use windows.")

    @model_validator(mode="after")
    def _feed_in_below_retail(self) -> TariffConfig:
        if self.retail == "data":
            if self.peak_windows:
                raise ValueError("peak_windows cannot be combined with retail: data (the data's prices are used)")
            return self  # feed-in against the data's prices: checked when the data is read
        if self.feed_in > self.retail:
            raise ValueError(f"feed_in ({self.feed_in}) must not exceed retail ({self.retail})")
        for i, w in enumerate(self.peak_windows):
            f = self.feed_in if w.feed_in is None else w.feed_in
            if f > w.retail:
                raise ValueError(f"peak_windows[{i}]: feed-in {f} exceeds retail {w.retail}")
        return self


class CarbonConfig(Strict):
    kind: Literal["constant", "diurnal", "data"] = Field(
        "diurnal",
        description="Shape of grid carbon intensity; 'data': the data source's series (CityLearn's "
        "carbon_intensity.csv; the default with a citylearn source).",
    )
    mean_kg_per_kwh: NonNeg = Field(0.4, description="Daily mean grid carbon intensity (kg/kWh).")
    solar_dip: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.3, description="Relative dip at midday (diurnal only)."
    )
    evening_peak: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(
        0.15, description="Relative rise in the evening (diurnal only)."
    )


class MarketConfig(Strict):
    mechanism: Mechanism = Field("uniform", description="P2P clearing mechanism ('none' = no P2P market).")
    k: Fraction = Field(0.5, description="Buyer-side weight of the price rule (0.5 = midpoint).")
    fee_per_kwh: NonNeg = Field(0.0, description="Fee per kWh traded, paid by buyer and seller each.")
    network_charge_per_kwh: NonNeg = Field(
        0.0,
        description="Use-of-system charge per kWh traded P2P (currency/kWh), paid to the network operator, half by "
        "the buyer and half by the seller; it enters the book like the fee (0 = none).",
    )
    price_floor: NonNeg | None = Field(None, description="Lowest P2P price; never below feed-in.")
    price_cap: NonNeg | None = Field(None, description="Highest P2P price; never above retail.")
    gate: Literal["realised", "forecast"] = Field(
        "realised",
        description="What controllers see when they place orders: 'realised' — the load and PV of the step they "
        "bid on; 'forecast' — the scenario's forecast of it (mpc.forecaster, one step ahead); delivery then uses "
        "the realised values and each agent's imbalance settles with the grid at retail or feed-in.",
    )
    balancing: Literal["battery", "grid"] = Field(
        "battery",
        description="With gate 'forecast', who takes an agent's surprise (realised minus forecast net load) at "
        "delivery: 'battery' — its battery follows the measured net load within its limits (as a home battery "
        "does), the rest goes to the grid; 'grid' — the grid takes all of it.",
    )
    network_constraints: Literal["ignore", "enforce"] = Field(
        "ignore",
        description="With a feeder: 'ignore' — the power flow only measures; 'enforce' — the network operator "
        "scales battery schedules down (pro rata per direction) where they would put more buses outside the "
        "voltage band or branches above 100 % than load and PV alone; curtailed energy is counted and settles "
        "with the grid.",
    )
    imbalance_price: NonNeg | None = Field(
        None,
        description="Price (currency/kWh) at which each agent's imbalance settles — its metered grid exchange minus "
        "its position at gate closure (the exchange its orders, fills and battery set-point imply on the values it "
        "bid on), + short / − long, single price both ways; none = the imbalance settles at retail/feed-in like any "
        "grid exchange. Controllers deciding on the realised values (the oracle) and grid-only have no imbalance.",
    )


class GridConfig(Strict):
    import_capacity_kw: Positive | None = Field(None, description="Feeder import limit (kW); none = unlimited.")
    export_capacity_kw: Positive | None = Field(None, description="Feeder export limit (kW); none = unlimited.")


class SharedBatteryConfig(Strict):
    """One community battery owned in shares: each household has its own kWh account and power share of it."""

    battery: BatteryConfig = Field(description="The whole battery (capacity, power, efficiencies, SoC band).")
    shares: dict[str, Fraction] | None = Field(
        None, description="Share per household id (must sum to 1); default: equal shares for every household."
    )


class SplitConfig(Strict):
    """Train/test split by whole days (RL training and evaluation)."""

    episode_days: int = Field(1, gt=0, description="Days per training episode.")
    test_days: list[int] | None = Field(
        None, description="Day indices (0 = the first day) held out for testing; default: the last test_fraction."
    )
    test_fraction: Annotated[float, Field(gt=0.0, lt=1.0)] = Field(
        0.25, description="Share of whole days held out at the end of the horizon when test_days is not given."
    )


class RewardConfig(Strict):
    """R = w_profit·profit + w_team·team profit − w_grid·import − w_soc·SoC penalty − w_degrad·throughput − w_co2·CO₂
    − w_overload·overload − w_fair·Gini (per agent and step)."""

    w_profit: NonNeg = Field(1.0, description="Weight of profit (−cost, currency).")
    w_team: NonNeg = Field(
        0.0,
        description="Weight of the team term: the community's mean profit (−headline cost) per agent. 0 by default: "
        "on prosumer-20 own profit alone trained better policies (0.81 and 0.68 of the oracle's savings on seeds 0 "
        "and 1, against 0.71 and 0.60 with w_team = 1; BENCHMARKS.md).",
    )
    w_grid: NonNeg = Field(
        0.0, description="Weight of grid import (per kWh); 0 by default: not part of the headline cost."
    )
    w_soc: NonNeg = Field(
        0.0,
        description="Weight of leaving the SoC comfort band (fraction of capacity); 0 by default: the end-of-"
        "horizon storage rule already prices the stored energy.",
    )
    w_degrad: NonNeg = Field(0.0, description="Weight of battery throughput (per kWh charged + discharged).")
    w_co2: NonNeg = Field(0.0, description="Weight of CO₂ from imports (per kg).")
    w_overload: NonNeg = Field(
        1.0, description="Weight of the violation term (with a feeder: its share of the step's violation cost)."
    )
    w_fair: NonNeg = Field(0.0, description="Weight of the Gini of the agents' episode profits so far.")
    soc_band: tuple[Fraction, Fraction] = Field((0.1, 0.9), description="SoC comfort band (fractions).")


class MPCConfig(Strict):
    """The rolling-horizon MPC controller."""

    horizon: int = Field(24, gt=0, description="Steps planned ahead.")
    forecaster: Literal["perfect", "persistence", "seasonal-naive", "noisy", "learned"] = Field(
        "seasonal-naive", description="Load/PV forecaster (trained on the training days where it learns)."
    )
    solver: Literal["CLARABEL", "HIGHS"] = Field("CLARABEL", description="LP solver.")


class SafetyConfig(Strict):
    """The SafetySupervisor's out-of-distribution test of observations (trained policies only)."""

    ood_method: Literal["zscore", "mahalanobis"] = Field("zscore", description="Per-feature z-score or Mahalanobis.")
    ood_threshold: Positive = Field(
        6.0, description="An agent is out of distribution when its max |z| (or Mahalanobis distance) exceeds this."
    )


class Scenario(Strict):
    """A complete run description. Same scenario + same seed = identical results."""

    name: str = Field(min_length=1, description="Scenario name.")
    description: str = ""
    seed: int = Field(0, ge=0, description="Seed of every random draw in the run.")
    time: TimeConfig
    location: LocationConfig = Field(default_factory=LocationConfig)
    devices: DeviceDefaults = Field(default_factory=DeviceDefaults)
    agents: list[AgentGroup] | None = Field(
        None,
        min_length=1,
        description="Agent groups; required except with a citylearn data source (default: one prosumer per "
        "building; given, the groups' counts must add up to the buildings and set their kinds).",
    )
    tariff: TariffConfig = Field(default_factory=TariffConfig)
    carbon: CarbonConfig = Field(default_factory=CarbonConfig)
    market: MarketConfig = Field(default_factory=MarketConfig)
    grid: GridConfig = Field(default_factory=GridConfig)
    data: DataConfig = Field(default_factory=SyntheticData)
    network: NetworkConfig | None = Field(None, description="Feeder and power flow; none = copper plate.")
    ledger: bool = Field(False, description="Record P2P trades in a signed, hash-chained ledger (ledger.sqlite).")
    shared_battery: SharedBatteryConfig | None = Field(
        None, description="A community battery owned in shares (households then have no battery of their own)."
    )
    split: SplitConfig = Field(default_factory=SplitConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)
    mpc: MPCConfig = Field(default_factory=MPCConfig)
    value_of_lost_load: NonNeg | None = Field(
        None,
        description="Value of lost load (currency/kWh): the cost of each kWh of unserved load in every KPI and "
        "optimiser; default 10 × the highest retail price of the data.",
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_device_defaults(cls, raw: Any) -> Any:
        """Fill each group's devices from ``devices`` so that per-group keys override single fields."""
        if not isinstance(raw, dict) or not isinstance(raw.get("agents"), list):
            return raw
        defaults = raw.get("devices") or {}
        if not isinstance(defaults, dict):
            return raw
        groups = []
        for group in raw["agents"]:
            if isinstance(group, dict) and group.get("kind") in _KIND_DEVICES:
                group = dict(group)
                for device in _KIND_DEVICES[group["kind"]]:
                    base = defaults.get(device) or {}
                    own = group.get(device) or {}
                    if isinstance(base, dict) and isinstance(own, dict):
                        group[device] = {**base, **own}
            groups.append(group)
        return {**raw, "agents": groups}

    @model_validator(mode="before")
    @classmethod
    def _citylearn_defaults(cls, raw: Any) -> Any:
        """With a citylearn source, prices and carbon come from the data unless the scenario sets them; the data
        has no feed-in price, so the scenario must state one."""
        if not isinstance(raw, dict):
            return raw
        data = raw.get("data")
        if not (isinstance(data, dict) and data.get("source") == "citylearn"):
            return raw
        tariff, carbon = raw.get("tariff") or {}, raw.get("carbon") or {}
        if not isinstance(tariff, dict) or not isinstance(carbon, dict):
            return raw
        if "retail" not in tariff and not tariff.get("peak_windows"):
            tariff = {**tariff, "retail": "data"}
        if "feed_in" not in tariff:
            raise ValueError("tariff.feed_in: CityLearn data has no feed-in price; the scenario must state one")
        if "kind" not in carbon:
            carbon = {**carbon, "kind": "data"}
        return {**raw, "tariff": tariff, "carbon": carbon}

    @model_validator(mode="after")
    def _network_constraints_need_a_feeder(self) -> Scenario:
        if self.market.network_constraints == "enforce" and self.network is None:
            raise ValueError("market.network_constraints: 'enforce' needs a feeder (a network section)")
        return self

    @model_validator(mode="after")
    def _data_sources(self) -> Scenario:
        citylearn = isinstance(self.data, CityLearnData)
        if self.agents is None and not citylearn:
            raise ValueError("agents: required (only a citylearn data source supplies its own agents)")
        if not citylearn and (self.tariff.retail == "data" or self.carbon.kind == "data"):
            field = "tariff.retail" if self.tariff.retail == "data" else "carbon.kind"
            raise ValueError(f"{field}: 'data' needs a data source with prices and carbon (source: citylearn)")
        return self

    @model_validator(mode="after")
    def _unique_ids(self) -> Scenario:
        ids = [i for g in self.agents or [] for i in (g.ids or [])]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"agent ids must be unique; repeated: {dupes[:5]}")
        return self

    @property
    def n_agents(self) -> int:
        """Agents the groups declare (0 when a citylearn source supplies them: see ``data.buildings``)."""
        return sum(g.count for g in self.agents or [])
