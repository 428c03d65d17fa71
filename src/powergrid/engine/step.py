"""One community step: actions → safety → market → settlement → accounting (numpy over agents).

Every simulator face (``heron run``, the RL environments, the dashboard) drives this engine. Per agent and
step, energies are kWh over the step and money is currency: ``cash_cost = grid_cost + p2p_payment + fees +
network_charges + degradation_cost + fuel_cost + loss_cost`` (positive = the agent pays) and ``unserved_cost = VoLL ×
unserved``. The headline cost of a run adds the end-of-horizon storage adjustment (``powergrid.engine.yardstick``)
to their sums.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from heron.clearing import Trades
from powergrid import balance  # a module: balance.py reads the result fields of powergrid.engine.result
from powergrid.actions import Actions, Observation
from powergrid.engine.delivery import battery_at_delivery
from powergrid.engine.result import StepResult
from powergrid.market import clear_market, grid_bill, settle_with_grid
from powergrid.network.setup import NetworkStage
from powergrid.safety import FeasibilityFilter
from powergrid.scenarios.build import Community

if TYPE_CHECKING:
    from powergrid.network.operator import NetworkOperator


def order_limits(community: Community) -> tuple[np.ndarray, np.ndarray]:
    """(max sell, max buy) kW per agent for orders placed on forecasts: PV peak + battery power + generator rating,
    and the agent's peak load in the data + battery power."""
    power = community.agents.battery.power_kw
    sell = community.agents.pv_peak_kw + power + community.agents.generators.capacity_kw
    return sell, community.profiles.load_kw.max(axis=0) + power


class CommunityEngine:
    """Steps a Community through time. State: stored energy and last battery power per agent (arrays).

    Batched: with ``copies=K`` the engine steps K independent copies of the community in one call, every array
    with a leading copy axis — state, observation, actions and results (K, N), per-copy scalars (K, 1) in the
    observation (retail, feed-in, price band, carbon, last clearing price and net import) and (K,) for the step
    ``t``, the episode's ``stop`` and per-market results (clearing price, operator surplus); the K markets clear in
    one call of the clearing kernel and, with a feeder, the K power flows in one power-grid-model batch. Each copy
    runs its own window (``restart`` restarts a subset). ``copies=None`` (default) is the unbatched engine, (N,).
    """

    # the step and window, the last clearing price and net import: scalars, or arrays for a batched engine
    t: int | np.ndarray
    start: int | np.ndarray
    stop: int | np.ndarray
    last_clearing_price: float | np.ndarray
    last_net_import: float | np.ndarray

    def __init__(
        self,
        community: Community,
        check_balances: bool = True,
        defer_network: bool = False,
        copies: int | None = None,
    ) -> None:
        """``defer_network``: skip the power flow in ``step`` and solve pending steps together in ``complete``
        (for callers whose decisions do not depend on the network outcome of the same run, e.g. ``simulate``).
        ``copies``: K ≥ 1 for a batched engine (see the class docstring)."""
        if copies is not None and (copies < 1 or defer_network):
            raise ValueError(f"copies must be >= 1 and without defer_network, got copies={copies}")
        self.community = community
        self.check_balances = check_balances
        self.defer_network = defer_network
        self.copies = copies
        self.shape = (community.n_agents,) if copies is None else (copies, community.n_agents)
        self.gate_forecast = community.market.gate == "forecast"
        self.generators = community.agents.generators
        self.network = None if community.network is None else NetworkStage(community.network)
        self._default_taps = None if self.network is None else self.network.default_taps()
        self._default_caps = None if self.network is None else self.network.default_capacitors()
        self.safety = FeasibilityFilter(
            order_limits(community) if self.gate_forecast else None,
            self.generators,
            None if self.network is None else self.network.tap_range(),
            None if self.network is None else self.network.capacitor_sections(),
        )
        self._seen_load, self._seen_pv = community.profiles.load_kw, community.profiles.pv_kw
        if self.gate_forecast:
            from powergrid.forecasting.scenario import gate_forecasts

            self._seen_load, self._seen_pv = gate_forecasts(community)
        limits = community.limits
        dt = community.grid.dt_hours
        self._import_limit = np.inf if limits.import_capacity_kw is None else limits.import_capacity_kw * dt
        self._export_limit = np.inf if limits.export_capacity_kw is None else limits.export_capacity_kw * dt
        self.operator: NetworkOperator | None = None
        if community.network is not None and community.market.network_constraints == "enforce":
            from powergrid.network.operator import NetworkOperator

            self.operator = NetworkOperator(community.network.solver())
        self._no_voltage = np.full(self.shape, np.nan)
        self.reset()

    @property
    def n_agents(self) -> int:
        return self.community.n_agents

    @property
    def done(self) -> bool | np.ndarray:
        """Whether the run has ended ((K,) per copy for a batched engine)."""
        return self.t >= self.stop

    def _per_copy(self, values: np.ndarray) -> float | np.ndarray:
        """A per-step scalar as the observation carries it: a float, or (K, 1) for a batched engine."""
        return float(values) if self.copies is None else values[:, None]

    def complete(self, results: list[StepResult]) -> list[StepResult]:
        """Solve the power flows of deferred steps in one batch; returns the results with network outcome,
        voltages and loss costs filled in (identical to what per-step solving gives)."""
        if self.network is None or not results:
            return results
        dt = self.community.grid.dt_hours
        served = np.stack([r.load - r.unserved for r in results])
        consumption = served + np.stack([r.charge - r.pv - r.discharge - r.generation for r in results])
        retail = np.array([r.retail for r in results])
        taps = None if self._default_taps is None else np.stack([r.tap for r in results])
        caps = None if self._default_caps is None else np.stack([r.capacitor for r in results])
        solved = self.network.run_batch([int(r.t) for r in results], served, consumption, dt, retail, taps, caps)
        return [
            replace(r, network=net, loss_cost=loss, voltage_pu=net.agent_u_pu, cash_cost=r.cash_cost + loss)
            for r, (net, loss) in zip(results, solved, strict=True)
        ]

    def reset(self, start: int | np.ndarray = 0, stop: int | np.ndarray | None = None) -> Observation:
        """Start a run (or an episode) at step ``start`` with the initial state of charge; it ends before ``stop``
        (default: the end of the data). Batched: ``start``/``stop`` are ints or (K,) arrays, one window per copy."""
        n = self.community.n_steps
        stop = n if stop is None else stop
        if self.copies is None:
            if not 0 <= start < stop <= n:
                raise ValueError(f"need 0 <= start < stop <= {n}, got start={start}, stop={stop}")
            fleet = self.community.agents.battery
            self.t = self.start = int(start)
            self.stop = int(stop)
            self.soc = fleet.initial_soc_kwh.copy()
            self.last_power = np.zeros(self.n_agents)
            self.last_generation = np.zeros(self.n_agents)
            self.last_clearing_price = float("nan")
            self.last_fill = np.zeros(self.n_agents)
            self.last_net_import = 0.0
            self.last_voltage = self.last_path_loading = np.full(self.n_agents, np.nan)
            self.section_v_min = self.section_v_max = np.full(self.n_agents, np.nan)
            self.tap, self.capacitor = self._at_start(self._default_taps), self._at_start(self._default_caps)
            return self.observe()
        k = self.copies
        self.t, self.start, self.stop = np.zeros(k, np.int64), np.zeros(k, np.int64), np.ones(k, np.int64)
        self.soc, self.last_power, self.last_fill = np.zeros(self.shape), np.zeros(self.shape), np.zeros(self.shape)
        self.last_generation = np.zeros(self.shape)
        self.last_clearing_price, self.last_net_import = np.full((k, 1), np.nan), np.zeros((k, 1))
        self.last_voltage, self.last_path_loading = np.full(self.shape, np.nan), np.full(self.shape, np.nan)
        self.section_v_min, self.section_v_max = np.full(self.shape, np.nan), np.full(self.shape, np.nan)
        self.tap = np.broadcast_to(self._at_start(self._default_taps), self.shape).copy()
        self.capacitor = np.broadcast_to(self._at_start(self._default_caps), self.shape).copy()
        self.restart(np.ones(k, dtype=bool), start, stop)
        return self.observe()

    def restart(self, which: np.ndarray, start: int | np.ndarray, stop: int | np.ndarray) -> None:
        """Batched engine: restart the copies selected by ``which`` (K,) bool with windows ``start … stop − 1``
        (ints or (K,) arrays, read where ``which``); the other copies keep running."""
        n = self.community.n_steps
        starts = np.broadcast_to(np.asarray(start, dtype=np.int64), which.shape)[which]
        stops = np.broadcast_to(np.asarray(stop, dtype=np.int64), which.shape)[which]
        if not ((starts >= 0) & (starts < stops) & (stops <= n)).all():
            raise ValueError(f"need 0 <= start < stop <= {n} for every copy, got start={starts}, stop={stops}")
        _batched(self.t)[which], _batched(self.start)[which], _batched(self.stop)[which] = starts, starts, stops
        self.soc[which] = self.community.agents.battery.initial_soc_kwh
        for state in (self.last_power, self.last_fill, _batched(self.last_net_import), self.last_generation):
            state[which] = 0.0
        for state in (_batched(self.last_clearing_price), self.last_voltage, self.last_path_loading):
            state[which] = np.nan
        self.section_v_min[which] = self.section_v_max[which] = np.nan
        self.tap[which] = self._at_start(self._default_taps)
        self.capacitor[which] = self._at_start(self._default_caps)

    def _at_start(self, default: np.ndarray | None) -> np.ndarray:
        """(N,) a microgrid control (regulator step, capacitor state) at the start of a run (NaN without one)."""
        return np.full(self.n_agents, np.nan) if default is None else default.copy()

    def observe(self) -> Observation:
        """The observation at the start of the current step. Once the run is done it is the *terminal* observation:
        the state after the last step (stored energy, last power, last fills) with the data of step ``stop`` — or,
        when the run ends with the data, of the data's last step (nothing is known beyond it)."""
        c, t, dt = self.community, self.t, self.community.grid.dt_hours
        k = np.minimum(t, c.n_steps - 1)  # the data row (a terminal observation of a run ending with the data: last)
        max_charge, max_discharge = c.agents.battery.power_bounds(self.soc, dt, self.last_power)
        gen_low, gen_high = self.generators.running_range(self.last_generation)
        per_copy = self._per_copy
        return Observation(
            t=t if self.copies is None else _batched(t).copy(),
            stop=self.stop if self.copies is None else _batched(self.stop).copy(),
            dt_hours=dt,
            load_kw=self._seen_load[k],  # what controllers know when they bid: realised, or the gate's forecast
            pv_kw=self._seen_pv[k],
            soc_kwh=self.soc.copy(),
            max_charge_kw=max_charge,
            max_discharge_kw=max_discharge,
            retail=per_copy(c.tariff.retail[k]),
            feed_in=per_copy(c.tariff.feed_in[k]),
            price_floor=per_copy(c.price_floor[k]),
            price_cap=per_copy(c.price_cap[k]),
            carbon_kg_per_kwh=per_copy(c.carbon_kg_per_kwh[k]),
            last_clearing_price=self.last_clearing_price,
            last_fill_kwh=self.last_fill,
            last_net_import_kwh=self.last_net_import,
            voltage_pu=self.last_voltage,
            path_loading=self.last_path_loading,
            generator_low_kw=gen_low,
            generator_high_kw=gen_high,
            generator_last_kw=self.last_generation.copy(),
            tap=self.tap.copy(),
            capacitor=self.capacitor.copy(),
            section_v_min_pu=self.section_v_min,
            section_v_max_pu=self.section_v_max,
        )

    def step(self, actions: Actions, obs: Observation | None = None, fallback: np.ndarray | None = None) -> StepResult:
        """Apply one step of actions and advance time. ``obs`` may pass the observation already computed;
        ``fallback`` (N,) marks agents whose action the SafetySupervisor replaced by grid-only. Batched: arrays
        (K, N); every copy must be running (``restart`` the ended ones first)."""
        if np.any(self.done):
            raise RuntimeError(f"the run has ended after {np.max(self.stop - self.start)} steps; call reset()")
        c, t, dt = self.community, self.t, self.community.grid.dt_hours
        fleet = c.agents.battery
        obs = obs if obs is not None and np.array_equal(obs.t, t) else self.observe()
        actions = actions.validated(self.shape)
        safe, flags = self.safety.apply(actions, obs, fallback if fallback is not None else actions.fallback)
        order = safe.trade_kw * dt
        market = clear_market(c.market, order, safe.limit_price, obs.price_floor, obs.price_cap)
        fill = market.bought_kwh - market.sold_kwh
        scheduled, battery_kw = battery_at_delivery(c, self.gate_forecast, actions, safe, flags, obs, fill - order)

        load = c.profiles.load_kw[t] * dt  # delivery: the realised values (imbalances settle with the grid)
        pv_available = c.profiles.pv_kw[t] * dt
        generator_kw = safe.generator_kw
        assert generator_kw is not None  # the FeasibilityFilter always sets it
        generation = generator_kw * dt
        curtailed_kw = np.zeros(self.shape)
        if self.operator is not None:  # the network operator's check of the battery schedules (network/operator.py)
            allowed = self._network_limit(t, battery_kw, generator_kw)
            curtailed_kw, scheduled = battery_kw - allowed, scheduled - (battery_kw - allowed)
            battery_kw = allowed
        delivered = load - pv_available - generation + battery_kw * dt - fill  # net exchange before feeder limits
        if actions.balancing:  # the position at gate closure: what the orders, fills and set-point imply
            position = obs.load_kw * dt - obs.pv_kw * dt - generation + scheduled * dt - fill
        else:  # decided on the realised values (oracle, grid-only): delivery is the position
            position = delivered
        imbalance = delivered - position
        settled = settle_with_grid(
            load,
            pv_available,
            np.maximum(battery_kw, 0.0) * dt,
            np.maximum(-battery_kw, 0.0) * dt,
            market.bought_kwh,
            market.sold_kwh,
            self._import_limit,
            self._export_limit,
            generation,
        )
        soc_next = fleet.next_soc(self.soc, settled.charge, settled.discharge)
        net_exchange = settled.imported - settled.exported
        grid_cost = grid_bill(net_exchange, imbalance, obs.retail, obs.feed_in, c.market.imbalance_price)
        degradation = settled.discharge * fleet.degradation_cost
        fuel = self.generators.fuel_cost(settled.generation / dt, self.last_generation, dt)
        tap = self.tap if safe.tap is None or self._default_taps is None else np.asarray(safe.tap, dtype=float)
        cap = self.capacitor if safe.capacitor is None or self._default_caps is None else safe.capacitor
        network, loss_cost, voltage = None, np.zeros(self.shape), self._no_voltage
        if self.network is not None and not self.defer_network:
            served = load - settled.unserved
            consumption = served + settled.charge - settled.pv - settled.discharge - settled.generation
            taps = None if self._default_taps is None else tap
            caps = None if self._default_caps is None else cap
            if self.copies is None:
                network, loss_cost = self.network.run(int(t), served, consumption, dt, float(obs.retail), taps, caps)
            else:
                network, loss_cost = self.network.run_copies(
                    _batched(t), served, consumption, dt, _batched(obs.retail), taps, caps
                )
            voltage = network.agent_u_pu
        cash_cost = (
            grid_cost + market.p2p_payment + market.fees + market.network_charges + degradation + fuel + loss_cost
        )
        result = StepResult(
            t=t if self.copies is None else _batched(t).copy(),
            load=load,
            pv=settled.pv,
            generation=settled.generation,
            curtailed=settled.curtailed,
            charge=settled.charge,
            discharge=settled.discharge,
            soc=soc_next,
            stored_change=soc_next - self.soc,
            bought=market.bought_kwh,
            sold=market.sold_kwh,
            imported=settled.imported,
            exported=settled.exported,
            unserved=settled.unserved,
            imbalance=imbalance,
            network_curtailed=np.abs(curtailed_kw) * dt,
            order=order,
            limit_price=safe.limit_price,
            grid_cost=grid_cost,
            p2p_payment=market.p2p_payment,
            fees=market.fees,
            network_charges=market.network_charges,
            degradation_cost=degradation,
            fuel_cost=fuel,
            loss_cost=loss_cost,
            cash_cost=cash_cost,
            unserved_cost=settled.unserved * c.value_of_lost_load,
            co2_kg=settled.imported * obs.carbon_kg_per_kwh + settled.generation * self.generators.co2_kg_per_kwh,
            clearing_price=market.price,
            market_surplus=market.operator_surplus,
            retail=obs.retail,
            feed_in=obs.feed_in,
            carbon_kg_per_kwh=obs.carbon_kg_per_kwh,
            interventions=flags,
            trades=market.trades,
            voltage_pu=voltage,
            tap=tap.copy(),
            capacitor=np.array(cap, dtype=float),
            network=network,
        )
        if self.check_balances:
            balance.check_step_balances(result, pv_available, fleet, self.soc, c.agents.ids)
        self.soc = soc_next
        self.last_power = (settled.charge - settled.discharge) / dt
        self.last_generation = settled.generation / dt
        self.last_fill = market.bought_kwh - market.sold_kwh
        net_import = settled.imported.sum(axis=-1) - settled.exported.sum(axis=-1)
        self.last_net_import = self._per_copy(net_import)
        self.tap, self.capacitor = tap.copy(), np.array(cap, dtype=float)
        if network is not None:
            self.last_voltage, self.last_path_loading = network.agent_u_pu, network.agent_path_loading
            if self._default_taps is not None:  # microgrids: agent i is section i
                self.section_v_min, self.section_v_max = network.section_v_min, network.section_v_max
        self._remember_price(market.trades)
        self.t += 1
        return result

    def _remember_price(self, trades: Trades) -> None:
        """The volume-weighted mean trade price of the step, per market; kept where nothing traded."""
        if not trades.quantity.size:
            return
        if self.copies is None:
            self.last_clearing_price = float(np.average(trades.price, weights=trades.quantity))
            return
        volume = np.bincount(trades.market, weights=trades.quantity, minlength=self.copies)
        value = np.bincount(trades.market, weights=trades.quantity * trades.price, minlength=self.copies)
        traded = volume > 0
        _batched(self.last_clearing_price)[traded, 0] = value[traded] / volume[traded]

    def _network_limit(self, t: int | np.ndarray, battery_kw: np.ndarray, generator_kw: np.ndarray) -> np.ndarray:
        """The network operator's allowed battery power (kW) for the step (per copy under a batch)."""
        c, operator = self.community, self.operator
        assert operator is not None and c.network is not None  # called only with a network operator
        load, pv = c.profiles.load_kw[t], c.profiles.pv_kw[t] + generator_kw
        tan_phi = c.network.tan_phi
        if self.copies is None:
            return operator.limit(load - pv, battery_kw, load * tan_phi)
        return np.stack([operator.limit(load[k] - pv[k], battery_kw[k], load[k] * tan_phi) for k in range(len(load))])


def _batched(state: int | float | np.ndarray) -> np.ndarray:
    """A per-copy value of the batched engine: an array by construction (``reset``, ``observe``)."""
    assert isinstance(state, np.ndarray)
    return state
