"""Optimising controllers: greedy (vectorised heuristic), rolling-horizon MPC and the perfect-foresight oracle.

MPC and oracle plan with ``CommunityLP`` (whose objective is the headline cost) and hand the engine orders like
everybody else's: the planned battery set-point, and as P2P order each agent's remaining deficit (bid at the price
cap) or surplus (asked at the floor), so the community's P2P volume clears in any double auction. KPIs come from
the engine, never from the optimiser's objective. A solve
whose status is not ``optimal`` falls back to ``self-consumption`` for that step; every fallback is counted
(``fallbacks``, the KPI ``optimiser_fallbacks``) and the run loop warns once per run.

Plans are snapped to the step's feasible ranges within ``SNAP_KW`` (solver tolerance, not an intervention), so MPC's
results do not depend on the LP solver's tolerance-level noise.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from heron.clearing import pro_rata
from powergrid.actions import Actions, Observation
from powergrid.controllers.base import ControllerBase, register
from powergrid.controllers.community_lp import BATTERY_TIE_BREAK, CommunityLP, network_limits
from powergrid.controllers.rules import self_consumption_battery
from powergrid.controllers.taps import regulate, regulated_band
from powergrid.engine.yardstick import terminal_prices
from powergrid.errors import HeronGridError
from powergrid.forecasting.scenario import fit_forecaster
from powergrid.scenarios.build import Community

#: The oracle's LP size limit (agents × steps); beyond it the single whole-horizon LP is impractical.
ORACLE_MAX_AGENT_STEPS = 200_000

#: Differences below this (kW) between a plan and the step's feasible range are solver tolerance: snapped.
SNAP_KW = 1e-5


def snap(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, tol: float = SNAP_KW) -> np.ndarray:
    """``x`` with values within ``tol`` outside ``[lo, hi]`` moved onto the bound, and values within ``tol`` of 0
    set to 0 where 0 is feasible; larger departures are left for the FeasibilityFilter to clip (and count)."""
    x = np.where((x > hi) & (x - hi <= tol), hi, x)
    x = np.where((x < lo) & (lo - x <= tol), lo, x)
    return np.where((np.abs(x) <= tol) & (lo <= 0.0) & (hi >= 0.0), 0.0, x)


def cover_with_orders(
    obs: Observation,
    battery: np.ndarray,
    p2p_worth: bool,
    load_kw: np.ndarray | None = None,
    pv_kw: np.ndarray | None = None,
    generator_kw: np.ndarray | None = None,
) -> Actions:
    """The engine's orders for a planned battery set-point: the battery snapped to this step's range, and — where
    P2P pays for the community (``p2p_worth``) — each agent's whole remaining deficit bid at the cap and surplus
    offered at the floor. Given the batteries, this realises the LP's community P2P volume (the market matches
    min(Σ deficit, Σ surplus), as the LP would), without the LP's arbitrary choice among equivalent pairings.
    ``load_kw``/``pv_kw`` (N,) replace the observation's (the oracle knows the realised values even when orders
    are placed on forecasts). ``generator_kw`` (N,): the planned generator output (snapped to its running range)."""
    battery = snap(battery, -obs.max_discharge_kw, obs.max_charge_kw)
    load = obs.load_kw if load_kw is None else load_kw
    pv = obs.pv_kw if pv_kw is None else pv_kw
    if generator_kw is not None:
        generator_kw = snap(generator_kw, obs.generator_low_kw, obs.generator_high_kw)
        pv = pv + generator_kw
    trade = snap(load + battery - pv, np.zeros_like(battery), np.zeros_like(battery))
    if not p2p_worth:
        trade = np.zeros_like(battery)
    price = np.where(trade > 0, obs.price_cap, obs.price_floor)
    return Actions(battery, trade, price, generator_kw=generator_kw)


def p2p_open(community: Community, start: int, stop: int) -> np.ndarray:
    """(stop − start,) 1.0 where P2P trade can clear and pays for the community at the step, else 0.0: a mechanism
    is set, the price band holds both sides' fees (the one fee rule: bid − fee ≥ ask + fee for a bid at the cap
    and an ask at the floor), and retail − feed-in exceeds the two fees."""
    if community.market.mechanism in ("none", "mcafee"):  # trade reduction leaves out orders at the cap and floor
        return np.zeros(stop - start)
    fees = 2.0 * community.market.fee_per_kwh + community.market.network_charge_per_kwh
    band = community.price_cap[start:stop] - community.price_floor[start:stop]
    spread = community.tariff.retail[start:stop] - community.tariff.feed_in[start:stop]
    return ((band >= fees) & (spread > fees)).astype(float)


def first_range(obs: Observation) -> tuple[np.ndarray, np.ndarray]:
    """The battery power (kW, signed) the engine accepts this step."""
    return -obs.max_discharge_kw, obs.max_charge_kw


class _Planner(ControllerBase):
    fallbacks: int
    fallback_events: list[str]

    def _start(self, community: Community) -> None:
        self.c = community
        self.fallbacks, self.fallback_events = 0, []
        self.band = regulated_band(community)
        self.observes_network = self.band is not None  # the tap rule reads the measured voltages

    def _fallback(self, obs: Observation, status: str) -> Actions:
        self.fallbacks += 1
        self.fallback_events.append(f"solver status {status!r} at step {obs.t}")
        battery = self_consumption_battery(obs)
        return Actions(battery, np.zeros_like(battery), np.full(battery.shape, obs.price_floor))


@register("mpc")
class MPCController(_Planner):
    """Rolling-horizon LP re-solved every step with forecasts from step t on (h = 0 is the measured present).
    Unset arguments come from the scenario's ``mpc`` section (horizon, forecaster name, solver); ``forecaster``
    may be a Forecaster object or ``"perfect"``. The forecaster is fitted by
    ``powergrid.forecasting.scenario.fit_forecaster`` (training days; short scenarios as documented there)."""

    def __init__(self, horizon: int | None = None, forecaster=None, solver: str | None = None) -> None:
        self._horizon, self._forecaster, self._solver = horizon, forecaster, solver

    def reset(self, community: Community) -> None:
        self._start(community)
        settings = community.scenario.mpc
        self.horizon = self._horizon or settings.horizon
        self.solver = self._solver or settings.solver
        choice = self._forecaster if self._forecaster is not None else settings.forecaster
        if isinstance(choice, str):
            from powergrid.forecasting import make_forecaster

            choice = None if choice == "perfect" else make_forecaster(choice)
        self.forecaster = choice
        self.lp = CommunityLP(
            community,
            self.horizon,
            self.solver,
            soft_ramp=True,
            battery_tie_break=BATTERY_TIE_BREAK,
            network=network_limits(community),
        )
        if self.forecaster is not None:
            fit_forecaster(self.forecaster, community)

    def _forecast(self, obs: Observation) -> tuple[np.ndarray, ...]:
        t = int(obs.t)  # an unbatched observation
        stop = min(int(obs.stop), t + self.horizon)
        k = stop - t
        if self.forecaster is None:
            p = self.c.profiles
            load, pv = p.load_kw[t:stop].T, p.pv_kw[t:stop].T
            retail, feed_in = self.c.tariff.retail[t:stop], self.c.tariff.feed_in[t:stop]
        else:
            f = self.forecaster.forecast(t, k)
            load, pv, retail, feed_in = f.load_kw.T, f.pv_kw.T, f.retail, f.feed_in
        return load, pv, retail, feed_in

    def act(self, obs: Observation) -> Actions:
        load, pv, retail, feed_in = self._forecast(obs)
        load, pv = load.copy(), pv.copy()
        load[:, 0], pv[:, 0] = obs.load_kw, obs.pv_kw  # the present is measured, not forecast
        fleet, t = self.c.agents.battery, int(obs.t)
        terminal = terminal_prices(retail, feed_in, obs.dt_hours, fleet.charge_efficiency, fleet.discharge_efficiency)
        plan = self.lp.solve(
            load,
            pv,
            retail,
            feed_in,
            obs.soc_kwh,
            first_range(obs),
            terminal,
            fleet.initial_soc_kwh,
            p2p_open(self.c, t, t + load.shape[1]),
            obs.generator_high_kw,
        )
        if not plan.ok:
            return self._fallback(obs, plan.status)
        open_now = bool(p2p_open(self.c, t, t + 1)[0])
        return regulate(
            cover_with_orders(obs, plan.battery_kw, open_now, generator_kw=plan.generator_kw), obs, self.band
        )


@register("oracle")
class OracleController(_Planner):
    """The same LP over the whole run with perfect knowledge, solved once (HiGHS, an exact vertex solution; a small
    MILP where the storage rule is concave); the plan is replayed step by step. Its headline cost bounds every
    other controller's on the same run (a property test), hence ``share of oracle savings``."""

    def reset(self, community: Community) -> None:
        self._start(community)
        self._plan: tuple[np.ndarray, np.ndarray, np.ndarray | None] | None = None  # battery, trade, generator
        self._solved = False

    def _solve(self, obs: Observation) -> None:
        start, stop = int(obs.t), int(obs.stop)  # an unbatched observation
        c = self.c
        if c.n_agents * (stop - start) > ORACLE_MAX_AGENT_STEPS:
            raise HeronGridError(
                f"oracle: {c.n_agents} agents × {stop - start} steps exceeds the whole-horizon LP limit of "
                f"{ORACLE_MAX_AGENT_STEPS:,} agent-steps; use mpc, or a shorter window"
            )
        p, tariff, fleet = c.profiles, c.tariff, c.agents.battery
        retail, feed_in = tariff.retail[start:stop], tariff.feed_in[start:stop]
        terminal = terminal_prices(retail, feed_in, obs.dt_hours, fleet.charge_efficiency, fleet.discharge_efficiency)
        # HiGHS solves the QP of quadratic fuel costs, but not a mixed-integer QP: with both, the storage rule's
        # binaries are left out (the LP's convex under-estimate of the credit, see community_lp).
        quadratic = c.agents.generator is not None and bool(c.agents.generator.quadratic_cost.any())
        exact = not terminal.convex.all() and not quadratic
        lp = CommunityLP(c, stop - start, solver="HIGHS", exact_terminal=exact, network=network_limits(c))
        self._open = p2p_open(c, start, stop)
        plan = lp.solve(
            p.load_kw[start:stop].T,
            p.pv_kw[start:stop].T,
            retail,
            feed_in,
            obs.soc_kwh,
            first_range(obs),
            terminal,
            fleet.initial_soc_kwh,
            self._open,
            obs.generator_high_kw,
        )
        self.status = plan.status
        self.objective = plan.objective
        self._start_step = start
        self._plan = lp.plan_all() if plan.ok else None

    def act(self, obs: Observation) -> Actions:
        if not self._solved:  # the first step of the run: plan the whole window at once
            self._solve(obs)
            self._solved = True
        if self._plan is None:
            return self._fallback(obs, self.status)
        k = obs.t - self._start_step
        profiles = self.c.profiles  # perfect foresight, also behind a forecast gate
        load, pv = profiles.load_kw[obs.t], profiles.pv_kw[obs.t]
        generator = None if self._plan[2] is None else self._plan[2][:, k]
        actions = cover_with_orders(obs, self._plan[0][:, k], bool(self._open[k]), load, pv, generator)
        return regulate(replace(actions, balancing=False), obs, self.band)  # set-points answer the realised values


@register("greedy")
class GreedyController(ControllerBase):
    """Battery heuristics plus greedy P2P matching by benefit, vectorised:
    1. each battery serves its own home first (self-consumption);
    2. the community's remaining PV surplus (which would be exported at feed-in) is bought by batteries with room,
       pro rata to their room — storing it is worth more than exporting it;
    3. in steps priced above the run's mean retail, batteries with energy above a reserve sell it to neighbours'
       remaining deficits (which would be imported at the peak price), pro rata to their available energy.
    Orders bid the cap / ask the floor so the planned matches clear."""

    def __init__(self, reserve: float = 0.2) -> None:
        self.reserve = reserve

    def reset(self, community: Community) -> None:
        self.c = community
        self.mean_retail = float(community.tariff.retail.mean())
        fleet = community.agents.battery
        self.reserve_kwh = fleet.soc_min_kwh + self.reserve * (fleet.soc_max_kwh - fleet.soc_min_kwh)

    def act(self, obs: Observation) -> Actions:
        battery = self_consumption_battery(obs)
        net = obs.load_kw + battery - obs.pv_kw  # > 0: remaining deficit, < 0: remaining surplus
        surplus, deficit = np.maximum(-net, 0.0), np.maximum(net, 0.0)
        room = np.maximum(obs.max_charge_kw - np.maximum(battery, 0.0), 0.0) * (net >= 0)
        extra_charge = pro_rata(room, True, surplus.sum())
        battery = battery + extra_charge
        if obs.retail > self.mean_retail:
            energy = np.maximum(obs.soc_kwh - self.reserve_kwh, 0.0) * self.c.agents.battery.discharge_efficiency
            available = (
                np.minimum(np.maximum(obs.max_discharge_kw + np.minimum(battery, 0.0), 0.0), energy / obs.dt_hours)
                * (net <= 0)
                * (extra_charge == 0)
            )
            battery = battery - pro_rata(available, True, deficit.sum())
        return cover_with_orders(obs, battery, p2p_worth=True)
