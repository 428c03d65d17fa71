"""Optimising controllers: greedy (vectorised heuristic), rolling-horizon MPC and the perfect-foresight oracle.

MPC and oracle plan with ``CommunityLP`` and hand the engine orders like everybody else's: the battery set-point and
a P2P order (buyers bid the price cap, sellers ask the floor, so planned trades clear in any double auction). KPIs
come from the engine, never from the optimiser's objective. A solve whose status is not ``optimal`` falls back to
``self-consumption`` for that step; every fallback is counted (``fallbacks``) and warned about with its step.
"""

from __future__ import annotations

import warnings

import numpy as np

from powergrid.actions import Actions, Observation
from powergrid.controllers.base import register
from powergrid.controllers.community_lp import CommunityLP
from powergrid.controllers.rules import self_consumption_battery
from powergrid.errors import HeronGridError
from powergrid.scenarios.build import Community

#: The oracle's LP size limit (agents × steps); beyond it the single whole-horizon LP is impractical.
ORACLE_MAX_AGENT_STEPS = 200_000


def _orders(obs: Observation, battery: np.ndarray, trade: np.ndarray) -> Actions:
    price = np.where(trade > 0, obs.price_cap, obs.price_floor)
    return Actions(battery, trade, price)


class _Planner:
    fallbacks: int
    events: list[str]

    def _fallback(self, obs: Observation, status: str) -> Actions:
        self.fallbacks += 1
        message = f"{self.name}: solver status {status!r} at step {obs.t}; self-consumption for this step"
        self.events.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)
        battery = self_consumption_battery(obs)
        return Actions(battery, np.zeros_like(battery), np.full(battery.shape, obs.price_floor))


@register("mpc")
class MPCController(_Planner):
    """Rolling-horizon LP re-solved every step with forecasts from step t on (h = 0 is the measured present).
    Unset arguments come from the scenario's ``mpc`` section (horizon, forecaster name, solver); ``forecaster``
    may be a Forecaster object or ``"perfect"``."""

    def __init__(self, horizon: int | None = None, forecaster=None, solver: str | None = None) -> None:
        self._horizon, self._forecaster, self._solver = horizon, forecaster, solver

    def reset(self, community: Community) -> None:
        self.c = community
        settings = community.scenario.mpc
        self.horizon = self._horizon or settings.horizon
        self.solver = self._solver or settings.solver
        choice = self._forecaster if self._forecaster is not None else settings.forecaster
        if isinstance(choice, str):
            from powergrid.forecasting import make_forecaster

            choice = None if choice == "perfect" else make_forecaster(choice)
        self.forecaster = choice
        self.lp = CommunityLP(community, self.horizon, self.solver)
        self.fallbacks, self.events = 0, []
        if self.forecaster is not None:
            from powergrid.envs.split import day_split, day_steps

            self.forecaster.fit(community, day_steps(community, day_split(community)[0]))

    def _forecast(self, obs: Observation) -> tuple[np.ndarray, ...]:
        stop = min(obs.stop, obs.t + self.horizon)
        k = stop - obs.t
        if self.forecaster is None:
            p = self.c.profiles
            load, pv = p.load_kw[obs.t : stop].T, p.pv_kw[obs.t : stop].T
            retail, feed_in = self.c.tariff.retail[obs.t : stop], self.c.tariff.feed_in[obs.t : stop]
        else:
            f = self.forecaster.forecast(obs.t, k)
            load, pv, retail, feed_in = f.load_kw.T, f.pv_kw.T, f.retail, f.feed_in
        return load, pv, retail, feed_in

    def act(self, obs: Observation) -> Actions:
        load, pv, retail, feed_in = self._forecast(obs)
        load, pv = load.copy(), pv.copy()
        load[:, 0], pv[:, 0] = obs.load_kw, obs.pv_kw  # the present is measured, not forecast
        plan = self.lp.solve(load, pv, retail, feed_in, obs.soc_kwh)
        if plan.status != "optimal":
            return self._fallback(obs, plan.status)
        return _orders(obs, plan.battery_kw, plan.trade_kw)


@register("oracle")
class OracleController(_Planner):
    """The same LP over the whole run with perfect knowledge, solved once; the plan is replayed step by step.
    The upper bound other controllers are measured against (``share of oracle savings``)."""

    def reset(self, community: Community) -> None:
        self.c = community
        self.fallbacks, self.events = 0, []
        self._plan = None
        self._solved = False

    def _solve(self, obs: Observation) -> None:
        start, stop = obs.t, obs.stop
        if self.c.n_agents * (stop - start) > ORACLE_MAX_AGENT_STEPS:
            raise HeronGridError(
                f"oracle: {self.c.n_agents} agents × {stop - start} steps exceeds the whole-horizon LP limit of "
                f"{ORACLE_MAX_AGENT_STEPS:,} agent-steps; use mpc, or a shorter window"
            )
        p, tariff = self.c.profiles, self.c.tariff
        lp = CommunityLP(self.c, stop - start, solver="HIGHS")  # one solve: an exact vertex solution
        plan = lp.solve(p.load_kw[start:stop].T, p.pv_kw[start:stop].T, tariff.retail[start:stop],
                        tariff.feed_in[start:stop], obs.soc_kwh)  # fmt: skip
        self.status = plan.status
        self.objective = plan.objective
        self._start = start
        self._plan = lp.plan_all() if plan.status == "optimal" else None

    def act(self, obs: Observation) -> Actions:
        if not self._solved:  # the first step of the run: plan the whole window at once
            self._solve(obs)
            self._solved = True
        if self._plan is None:
            return self._fallback(obs, self.status)
        k = obs.t - self._start
        return _orders(obs, self._plan[0][:, k], self._plan[1][:, k])


@register("greedy")
class GreedyController:
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
        extra_charge = _share(surplus.sum(), room)
        battery = battery + extra_charge
        if obs.retail > self.mean_retail:
            energy = np.maximum(obs.soc_kwh - self.reserve_kwh, 0.0) * self.c.agents.battery.discharge_efficiency
            available = np.minimum(np.maximum(obs.max_discharge_kw + np.minimum(battery, 0.0), 0.0),
                                   energy / obs.dt_hours) * (net <= 0) * (extra_charge == 0)  # fmt: skip
            battery = battery - _share(deficit.sum(), available)
        trade = obs.load_kw + battery - obs.pv_kw
        return _orders(obs, battery, trade)


def _share(amount: float, capacity: np.ndarray) -> np.ndarray:
    """Spread ``amount`` over ``capacity`` pro rata, never above each entry."""
    total = capacity.sum()
    return capacity * min(amount / total, 1.0) if total > 0 and amount > 0 else np.zeros_like(capacity)
