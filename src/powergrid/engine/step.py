"""One community step: actions → safety → market → settlement → accounting (numpy over agents).

Every simulator face (``heron run``, the RL environments, the dashboard) drives this engine. Per agent and
step, energies are kWh over the step and money is currency: ``cash_cost = grid_cost + p2p_payment + fees +
degradation_cost + loss_cost`` (positive = the agent pays) and ``unserved_cost = VoLL × unserved``. The headline
cost of a run adds the end-of-horizon storage adjustment (``powergrid.engine.yardstick``) to their sums.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from heron.clearing import Trades
from powergrid.actions import Actions, Observation
from powergrid.balance import check_step_balances
from powergrid.market import clear_market, settle_with_grid
from powergrid.network.setup import NetworkStage, NetworkStep
from powergrid.safety import FeasibilityFilter, Interventions
from powergrid.scenarios.build import Community


@dataclass(frozen=True)
class StepResult:
    """Outcome of step ``t``. Arrays (N,) in kWh (energies) or currency (money) unless noted."""

    t: int
    load: np.ndarray
    pv: np.ndarray  # generation used or exported, after curtailment
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
    degradation_cost: np.ndarray
    loss_cost: np.ndarray  # network losses allocated to the agent (0 unless losses are "allocated")
    cash_cost: np.ndarray  # the money that changed hands: grid_cost + p2p_payment + fees + degradation + losses
    unserved_cost: np.ndarray  # value of lost load × unserved
    co2_kg: np.ndarray
    clearing_price: float  # uniform/posted P2P price of the step (NaN if no trade or discriminatory)
    market_surplus: float  # currency buyers paid beyond what sellers received (kept by the market operator)
    retail: float
    feed_in: float
    carbon_kg_per_kwh: float
    interventions: Interventions
    trades: Trades  # ``market`` field is 0; buyer/seller are agent indices
    voltage_pu: np.ndarray  # at each agent's connection (NaN without a feeder)
    network: NetworkStep | None  # power-flow outcome (None without a feeder)


def order_limits(community: Community) -> tuple[np.ndarray, np.ndarray]:
    """(max sell, max buy) kW per agent for orders placed on forecasts: PV peak + battery power, and the agent's
    peak load in the data + battery power."""
    power = community.agents.battery.power_kw
    return community.agents.pv_peak_kw + power, community.profiles.load_kw.max(axis=0) + power


class CommunityEngine:
    """Steps a Community through time. State: stored energy and last battery power per agent (arrays)."""

    def __init__(self, community: Community, check_balances: bool = True, defer_network: bool = False) -> None:
        """``defer_network``: skip the power flow in ``step`` and solve pending steps together in ``complete``
        (for callers whose decisions do not depend on the network outcome of the same run, e.g. ``simulate``)."""
        self.community = community
        self.check_balances = check_balances
        self.defer_network = defer_network
        self.gate_forecast = community.market.gate == "forecast"
        self.safety = FeasibilityFilter(order_limits(community) if self.gate_forecast else None)
        self._seen_load, self._seen_pv = community.profiles.load_kw, community.profiles.pv_kw
        if self.gate_forecast:
            from powergrid.forecasting.scenario import gate_forecasts

            self._seen_load, self._seen_pv = gate_forecasts(community)
        limits = community.limits
        dt = community.grid.dt_hours
        self._import_limit = np.inf if limits.import_capacity_kw is None else limits.import_capacity_kw * dt
        self._export_limit = np.inf if limits.export_capacity_kw is None else limits.export_capacity_kw * dt
        self.network = None if community.network is None else NetworkStage(community.network)
        self.operator = None
        if community.network is not None and community.market.network_constraints == "enforce":
            from powergrid.network.operator import NetworkOperator

            self.operator = NetworkOperator(community.network.solver())
        self._no_voltage = np.full(community.n_agents, np.nan)
        self.reset()

    @property
    def n_agents(self) -> int:
        return self.community.n_agents

    @property
    def done(self) -> bool:
        return self.t >= self.stop

    def complete(self, results: list[StepResult]) -> list[StepResult]:
        """Solve the power flows of deferred steps in one batch; returns the results with network outcome,
        voltages and loss costs filled in (identical to what per-step solving gives)."""
        if self.network is None or not results:
            return results
        dt = self.community.grid.dt_hours
        served = np.stack([r.load - r.unserved for r in results])
        consumption = served + np.stack([r.charge - r.pv - r.discharge for r in results])
        retail = np.array([r.retail for r in results])
        solved = self.network.run_batch([r.t for r in results], served, consumption, dt, retail)
        return [
            replace(r, network=net, loss_cost=loss, voltage_pu=net.agent_u_pu, cash_cost=r.cash_cost + loss)
            for r, (net, loss) in zip(results, solved, strict=True)
        ]

    def reset(self, start: int = 0, stop: int | None = None) -> Observation:
        """Start a run (or an episode) at step ``start`` with the initial state of charge; it ends before ``stop``
        (default: the end of the data)."""
        n = self.community.n_steps
        stop = n if stop is None else stop
        if not 0 <= start < stop <= n:
            raise ValueError(f"need 0 <= start < stop <= {n}, got start={start}, stop={stop}")
        fleet = self.community.agents.battery
        self.t = self.start = start
        self.stop = stop
        self.soc = fleet.initial_soc_kwh.copy()
        self.last_power = np.zeros(self.n_agents)
        self.last_clearing_price = float("nan")
        self.last_fill = np.zeros(self.n_agents)
        self.last_net_import = 0.0
        self.last_voltage = self.last_path_loading = np.full(self.n_agents, np.nan)
        return self.observe()

    def observe(self) -> Observation:
        """The observation at the start of the current step. Once the run is done it is the *terminal* observation:
        the state after the last step (stored energy, last power, last fills) with the data of step ``stop`` — or,
        when the run ends with the data, of the data's last step (nothing is known beyond it)."""
        c, t, dt = self.community, self.t, self.community.grid.dt_hours
        k = min(t, c.n_steps - 1)  # the data row (the terminal observation of a run ending with the data: the last)
        max_charge, max_discharge = c.agents.battery.power_bounds(self.soc, dt, self.last_power)
        return Observation(
            t=t,
            stop=self.stop,
            dt_hours=dt,
            load_kw=self._seen_load[k],  # what controllers know when they bid: realised, or the gate's forecast
            pv_kw=self._seen_pv[k],
            soc_kwh=self.soc.copy(),
            max_charge_kw=max_charge,
            max_discharge_kw=max_discharge,
            retail=float(c.tariff.retail[k]),
            feed_in=float(c.tariff.feed_in[k]),
            price_floor=float(c.price_floor[k]),
            price_cap=float(c.price_cap[k]),
            carbon_kg_per_kwh=float(c.carbon_kg_per_kwh[k]),
            last_clearing_price=self.last_clearing_price,
            last_fill_kwh=self.last_fill,
            last_net_import_kwh=self.last_net_import,
            voltage_pu=self.last_voltage,
            path_loading=self.last_path_loading,
        )

    def surprise_kw(self, obs: Observation) -> np.ndarray:
        """(N,) kW: realised minus seen net load (load − PV) of the observed step — 0 unless orders are placed on
        forecasts. With ``market.balancing: battery`` the engine moves each battery's set-point (after the
        FeasibilityFilter) by −surprise at delivery, within the step's battery limits, so a battery that was to
        cover the forecast net load covers the measured one; the rest of the surprise goes to the grid."""
        c, k = self.community, min(obs.t, self.community.n_steps - 1)
        if not self.gate_forecast:
            return np.zeros(self.n_agents)
        return (c.profiles.load_kw[k] - obs.load_kw) - (c.profiles.pv_kw[k] - obs.pv_kw)

    def _battery_at_delivery(
        self, actions: Actions, safe: Actions, flags: Interventions, obs: Observation, unfilled_kwh: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scheduled, delivered) battery power (kW, + charge), arrays (N,). Scheduled: the filtered set-point,
        moved by what the market left unfilled (``unfilled_kwh`` = fill − order, kWh) if the controller asked its
        battery to follow the fill. Delivered: also moved by −surprise under real-time balancing. Both stay in the
        step's battery limits; agents switched to the idle safe action (fallback, non-finite) are not moved."""
        dt = obs.dt_hours
        shift = unfilled_kwh / dt if actions.follow_fill else np.zeros(self.n_agents)
        balance = self.gate_forecast and self.community.market.balancing == "battery" and actions.balancing
        surprise = self.surprise_kw(obs) if balance else np.zeros(self.n_agents)
        if not (actions.follow_fill or balance):
            return safe.battery_kw, safe.battery_kw
        idle = flags.fallback | flags.nonfinite
        lo, hi = -obs.max_discharge_kw, obs.max_charge_kw
        scheduled = np.where(idle, safe.battery_kw, np.clip(safe.battery_kw + shift, lo, hi))
        delivered = np.where(idle, safe.battery_kw, np.clip(safe.battery_kw + shift - surprise, lo, hi))
        return scheduled, delivered

    def _grid_cost(self, net_exchange: np.ndarray, imbalance: np.ndarray, obs: Observation) -> np.ndarray:
        """Grid bill of the step (currency, (N,)): the metered net exchange (kWh, + import) at retail/feed-in; with
        ``market.imbalance_price`` the imbalance at that price and the rest (the position) at retail/feed-in."""
        price = self.community.market.imbalance_price
        if price is None:
            return np.maximum(net_exchange, 0.0) * obs.retail - np.maximum(-net_exchange, 0.0) * obs.feed_in
        position = net_exchange - imbalance
        return np.maximum(position, 0.0) * obs.retail - np.maximum(-position, 0.0) * obs.feed_in + imbalance * price

    def step(self, actions: Actions, obs: Observation | None = None, fallback: np.ndarray | None = None) -> StepResult:
        """Apply one step of actions and advance time. ``obs`` may pass the observation already computed;
        ``fallback`` (N,) marks agents whose action the SafetySupervisor replaced by grid-only."""
        if self.done:
            raise RuntimeError(f"the run has ended after {self.stop - self.start} steps; call reset()")
        c, t, dt = self.community, self.t, self.community.grid.dt_hours
        fleet = c.agents.battery
        obs = obs if obs is not None and obs.t == t else self.observe()
        actions = actions.validated(self.n_agents)
        safe, flags = self.safety.apply(actions, obs, fallback if fallback is not None else actions.fallback)
        order = safe.trade_kw * dt
        market = clear_market(c.market, order, safe.limit_price, obs.price_floor, obs.price_cap)
        fill = market.bought_kwh - market.sold_kwh
        scheduled, battery_kw = self._battery_at_delivery(actions, safe, flags, obs, fill - order)

        load = c.profiles.load_kw[t] * dt  # delivery: the realised values (imbalances settle with the grid)
        pv_available = c.profiles.pv_kw[t] * dt
        curtailed_kw = np.zeros(self.n_agents)
        if self.operator is not None:  # the network operator's check of the battery schedules (network/operator.py)
            q_kvar = c.profiles.load_kw[t] * c.network.tan_phi
            allowed = self.operator.limit(c.profiles.load_kw[t] - c.profiles.pv_kw[t], battery_kw, q_kvar)
            curtailed_kw, scheduled = battery_kw - allowed, scheduled - (battery_kw - allowed)
            battery_kw = allowed
        delivered = load - pv_available + battery_kw * dt - fill  # net exchange before the feeder limits (kWh)
        if actions.balancing:  # the position at gate closure: what the orders, fills and set-point imply
            position = obs.load_kw * dt - obs.pv_kw * dt + scheduled * dt - fill
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
        )
        soc_next = fleet.next_soc(self.soc, settled.charge, settled.discharge)
        grid_cost = self._grid_cost(settled.imported - settled.exported, imbalance, obs)
        degradation = settled.discharge * fleet.degradation_cost
        network, loss_cost, voltage = None, np.zeros(self.n_agents), self._no_voltage
        if self.network is not None and not self.defer_network:
            served = load - settled.unserved
            consumption = served + settled.charge - settled.pv - settled.discharge
            network, loss_cost = self.network.run(t, served, consumption, dt, obs.retail)
            voltage = network.agent_u_pu
        result = StepResult(
            t=t,
            load=load,
            pv=settled.pv,
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
            degradation_cost=degradation,
            loss_cost=loss_cost,
            cash_cost=grid_cost + market.p2p_payment + market.fees + degradation + loss_cost,
            unserved_cost=settled.unserved * c.value_of_lost_load,
            co2_kg=settled.imported * obs.carbon_kg_per_kwh,
            clearing_price=market.price,
            market_surplus=market.operator_surplus,
            retail=obs.retail,
            feed_in=obs.feed_in,
            carbon_kg_per_kwh=obs.carbon_kg_per_kwh,
            interventions=flags,
            trades=market.trades,
            voltage_pu=voltage,
            network=network,
        )
        if self.check_balances:
            check_step_balances(result, pv_available, fleet, self.soc, c.agents.ids)
        self.soc = soc_next
        self.last_power = (settled.charge - settled.discharge) / dt
        self.last_fill = market.bought_kwh - market.sold_kwh
        self.last_net_import = float(settled.imported.sum() - settled.exported.sum())
        if network is not None:
            self.last_voltage, self.last_path_loading = network.agent_u_pu, network.agent_path_loading
        if market.trades.quantity.size:
            self.last_clearing_price = float(np.average(market.trades.price, weights=market.trades.quantity))
        self.t += 1
        return result
