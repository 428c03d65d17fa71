"""What controllers see (Observation) and what they return (Actions): arrays over agents."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.errors import ActionError


@dataclass(frozen=True)
class Actions:
    """Per-agent decisions for one step, arrays of shape (N,).

    battery_kw: battery power at the AC side, + charge / − discharge (kW).
    trade_kw: P2P order quantity, + buy / − sell (kW over the step).
    limit_price: the order's limit price (currency/kWh); ignored where trade_kw is 0.
    generator_kw: generator output set-point (kW, ≥ 0; 0 = off); None = every generator off. The FeasibilityFilter
        turns it into a feasible output (``GeneratorFleet.feasible``).
    tap: the regulator step (whole number) of each agent's feeder section, (N,), for microgrids on a sectioned
        feeder (``network.agent_sections``); None = keep the current steps. Ignored elsewhere.
    capacitor: the switched capacitor banks of each agent's feeder section, (N,), 1 = in, 0 = out (the
        FeasibilityFilter rounds: ≥ 0.5 is in), for microgrids on a sectioned feeder with capacitors; None = keep
        the current states. Ignored elsewhere (and for sections without banks).
    """

    battery_kw: np.ndarray
    trade_kw: np.ndarray
    limit_price: np.ndarray
    fallback: np.ndarray | None = None  # (N,) agents a SafetySupervisor switched to grid-only (counted)
    #: Whether the engine's real-time balancing may move the battery set-point by the measured surprise when
    #: orders are placed on forecasts (``market.gate: forecast``, ``balancing: battery``); a controller that
    #: already decides on the realised values (the perfect-foresight oracle) sets False.
    balancing: bool = True
    #: Whether the battery absorbs what the market did not fill, within this step's limits (a battery behind the
    #: meter that keeps the grid exchange at the planned position): a seller whose offer is not filled charges the
    #: unsold energy, a buyer left short discharges it. ``battery_kw`` is then the set-point for a fully filled
    #: order. Bidders whose offers compete with their own battery (the truthful bidder) set True.
    follow_fill: bool = False
    generator_kw: np.ndarray | None = None
    tap: np.ndarray | None = None
    capacitor: np.ndarray | None = None

    @classmethod
    def idle(cls, n_agents: int, price: float = 0.0) -> Actions:
        """No battery use, no orders."""
        return cls(np.zeros(n_agents), np.zeros(n_agents), np.full(n_agents, price))

    def validated(self, shape: int | tuple[int, ...]) -> Actions:
        """Float arrays of shape ``(n_agents,)`` (an int) or ``shape`` (e.g. (K, N) for a batched engine); wrong shape
        or type is an ActionError (NaN/inf pass, see safety)."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        out = {}
        names = ("battery_kw", "trade_kw", "limit_price", *(() if self.generator_kw is None else ("generator_kw",)))
        for name in names:
            value = getattr(self, name)
            try:
                arr = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                raise ActionError(f"actions.{name} is not numeric: {type(value).__name__}") from None
            if arr.shape != shape:
                raise ActionError(f"actions.{name} must have shape {shape}, got {arr.shape}")
            out[name] = arr
        return Actions(
            **out,
            fallback=self.fallback,
            balancing=self.balancing,
            follow_fill=self.follow_fill,
            tap=self.tap,
            capacitor=self.capacitor,
        )


@dataclass(frozen=True)
class Observation:
    """The state of the community at the start of step ``t`` (before any decision).

    Arrays are (N,): load and PV are this step's mean power (kW); ``soc_kwh`` the stored energy; the battery
    power feasible this step (rating, state of charge, ramp) is ``[-max_discharge_kw, max_charge_kw]`` (signed,
    + charge; a ramp limit may exclude 0, e.g. ``max_discharge_kw = -2`` means "charge at least 2 kW", see
    ``BatteryFleet.power_bounds``). Prices in currency/kWh.

    From a batched engine (K copies, ``CommunityEngine(copies=K)``): arrays (K, N), ``t`` and ``stop`` (K,), and
    the per-step scalars (prices, carbon, last clearing price and net import) (K, 1), so they broadcast with (K, N).
    """

    t: int | np.ndarray
    stop: int | np.ndarray  # the current run or episode ends before this step (forecasts must not look past it)
    dt_hours: float
    load_kw: np.ndarray
    pv_kw: np.ndarray
    soc_kwh: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    retail: float | np.ndarray
    feed_in: float | np.ndarray
    price_floor: float | np.ndarray
    price_cap: float | np.ndarray
    carbon_kg_per_kwh: float | np.ndarray
    last_clearing_price: float | np.ndarray  # NaN before the first trade of the run/episode
    last_fill_kwh: np.ndarray  # (N,) P2P bought − sold in the previous step (0 at the start)
    last_net_import_kwh: float | np.ndarray  # community Σ(import − export) in the previous step (0 at the start)
    #: (N,) the previous step's voltage (pu) at each agent's connection and the highest loading (fraction of
    #: rating) on its path from the source; NaN without a feeder, at the start, or when the run defers its power
    #: flows (``simulate`` does for controllers whose ``observes_network`` is False).
    voltage_pu: np.ndarray
    path_loading: np.ndarray
    #: (N,) the generator's output range (kW) if it runs this step (minimum stable output, rating and ramp from
    #: the last step's output); (0, 0) for agents without a generator. 0 (off) is always allowed.
    generator_low_kw: np.ndarray
    generator_high_kw: np.ndarray
    generator_last_kw: np.ndarray  # (N,) output in the previous step (kW)
    #: (N,) microgrids on a sectioned feeder (``network.agent_sections``): the regulator step of the agent's section
    #: now, and the lowest and highest LV voltage (pu) of its section in the previous step; NaN otherwise.
    tap: np.ndarray
    section_v_min_pu: np.ndarray
    section_v_max_pu: np.ndarray
    #: (N,) microgrids on a sectioned feeder with switched capacitors: 1.0 where the banks of the agent's section
    #: are in, 0.0 where out; NaN otherwise (no banks in the section, or not a sectioned feeder).
    capacitor: np.ndarray
