"""The community's energy plan as one linear program (CVXPY, built once with Parameters, re-solved each step).

Per agent i and step k of the horizon (kW over steps of Δt h): charge c, discharge d, grid import m, export x,
P2P in b and out s, unserved load u and curtailed PV q, all ≥ 0, with
- balance: (pv − q) + d + b + m + u = load + c + s + x, with u ≤ load and q ≤ pv;
- community P2P balance: Σ_i b = Σ_i s (no P2P at steps where the market cannot clear);
- storage: soc_{k+1} = soc_k + (η_c c − d / η_d) Δt within [soc_min, soc_max], c, d ≤ rating;
- ramp: the first step's battery power c − d lies in the engine's feasible range for this step (which ties it to
  the last applied power), later steps move by at most the ramp limit per step (up and down);
- feeder limits on the community's net exchange Σ(m − x) when the scenario sets them;
- with ``market.network_constraints: enforce`` on a balanced feeder, the linearised network (LinDistFlow,
  ``powergrid.network.linear``): branch flows F from the agents' metered power p = m − x + b − s (a tree of
  flow balances), node voltages V falling along each branch by r·F + x·Q (Q from the households' reactive
  load), and V within the band shrunk by ``NETWORK_MARGIN_PU`` on every LV node, |F| within
  ``(1 − NETWORK_MARGIN_LOADING)`` of each branch's rating; slacks priced at ``NETWORK_SLACK_PENALTY`` keep the
  LP feasible where load and PV alone break a limit;
- generators (``powergrid.devices.generator``): output g ≥ 0 on the supply side of the balance, g ≤ rating,
  the first step at most the engine's running range, later steps within the ramp; the fuel cost b·g + c·g² is a
  convex quadratic (a QP). No-load cost, start-up cost and the minimum stable output need binaries: the plan
  leaves them out (a relaxation — the oracle stays a bound on cost only for fleets without them);
- steps past the end of the data are inactive (no battery flows; zero load, PV and prices).

Objective: the headline cost of KPIS.md, exactly as the KPIs compute it from the engine's results —
Σ Δt (retail·m − feed_in·x + fee·(b + s) + degradation·d + VoLL·u) + the end-of-horizon storage adjustment,
written with two non-negative variables per agent: soc_end − soc_ref = up − down, costing
``refill·down − salvage·up`` (``powergrid.engine.yardstick``). P2P prices are transfers inside the community and
do not enter. The unserved and curtailment variables make the LP feasible whenever the engine is (binding feeder
limits, empty batteries, one-day runs).

Where the storage rule is concave (a tariff whose best feed-in in the last 24 h beats the cheapest retail / η),
``exact_terminal=True`` adds one binary per agent (up and down not both used: a small MILP, HiGHS); otherwise the
LP values hoarded energy at the refill price (a convex under-estimate of the credit).
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from powergrid.engine.yardstick import TerminalPrices
from powergrid.network.linear import LinearFeeder, linear_feeder
from powergrid.scenarios.build import Community

#: Cost per kWh of P2P volume added to the fee (currency/kWh): breaks the LP's ties between equivalent pairings
#: of buyers and sellers (and P2P against the grid at equal prices), far below any price.
TIE_BREAK = 1e-7

#: Tie-break per kWh of battery throughput (currency/kWh), growing with the agent's index and with the step (up to
#: 4×): among plans of equal cost, MPC uses batteries *now* rather than later (a certain surplus or deficit beats a
#: forecast one) and lower-indexed batteries first. It makes the optimum unique, so interior-point (Clarabel) and
#: simplex (HiGHS) solvers return the same plan; far below any price.
BATTERY_TIE_BREAK = 1e-5

#: Solvers: Clarabel (interior point) and HiGHS (dual simplex; exact vertex solutions, and the MILP of
#: ``exact_terminal``).
SOLVERS = ("CLARABEL", "HIGHS")

#: Solver statuses accepted as a plan; anything else (incl. ``optimal_inaccurate``) is a counted fallback.
ACCEPTED = (cp.OPTIMAL,)

#: Options that keep each solver quiet (no banner on stdout).
QUIET: dict[str, dict] = {"CLARABEL": {"verbose": False}, "HIGHS": {"verbose": False}}

#: Penalty per kW of ramp-limit violation (× VoLL) when the ramp is soft (MPC): a state left by forecast errors may
#: make the hard ramp infeasible (e.g. a battery running down fast with little energy left); the engine then lets
#: physics win, and so does the plan.
RAMP_PENALTY_FACTOR = 10.0


#: Voltage margin (pu) inside the band for the linearised limits: LinDistFlow neglects losses and so underestimates
#: voltage drops (on the 75-home Dickert rural feeder by ≤ 0.0035 pu with every home at up to ±6 kW, tested).
NETWORK_MARGIN_PU = 0.004

#: Share of each branch's rating kept free in the linearised limits (reactive power and losses are not in F).
NETWORK_MARGIN_LOADING = 0.05

#: Cost (currency per pu·h of voltage slack and per kW·h of flow slack) of breaking a linearised limit; far above
#: any energy price, so the LP breaks a limit only where load and PV alone do.
NETWORK_SLACK_PENALTY = 1e4


def network_limits(community: Community) -> LinearFeeder | None:
    """The linearised feeder the optimisers respect: with ``network_constraints: enforce`` on a balanced feeder;
    None otherwise (no feeder, ``ignore``, or an asymmetric feeder, where only the operator's check applies)."""
    network = community.network
    if network is None or community.market.network_constraints != "enforce" or not network.feeder.symmetric:
        return None
    return linear_feeder(network)


@functools.cache
def quiet_highs_banner() -> None:
    """HiGHS prints a banner on stdout (from C++) when the process creates its first solver object, whatever the
    options; create that first object here with stdout pointed at the null device, once per process."""
    import highspy

    sys.stdout.flush()
    saved, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


@dataclass(frozen=True)
class Plan:
    """The first step of a solved plan (kW, arrays (N,)), the solver status and whether it is accepted (``ok``)."""

    battery_kw: np.ndarray
    trade_kw: np.ndarray
    generator_kw: np.ndarray | None
    status: str
    objective: float
    ok: bool


class CommunityLP:
    """The LP of the module docstring for ``horizon`` steps; ``solve`` sets the parameters and re-solves.

    Args:
        community: the community (devices, limits, market, VoLL).
        horizon: steps planned (inputs shorter than this are padded with inactive steps).
        solver: ``"CLARABEL"`` or ``"HIGHS"``.
        soft_ramp: penalise ramp violations after the first step instead of forbidding them (MPC).
        exact_terminal: a binary per agent where the storage rule is concave (the oracle; needs HiGHS).
        battery_tie_break: the ``BATTERY_TIE_BREAK`` weight (MPC), 0 for an exact objective (the oracle).
        network: the linearised feeder whose limits the plan keeps (``network_limits``), or None.
    """

    def __init__(
        self,
        community: Community,
        horizon: int,
        solver: str = "CLARABEL",
        soft_ramp: bool = False,
        exact_terminal: bool = False,
        battery_tie_break: float = 0.0,
        network: LinearFeeder | None = None,
    ) -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        if exact_terminal and solver != "HIGHS":
            raise ValueError("exact_terminal needs a MILP solver: solver='HIGHS'")
        self.solver = solver
        if solver == "HIGHS":
            quiet_highs_banner()
        self.exact_terminal = exact_terminal
        c = community
        n, h, dt = c.n_agents, horizon, c.grid.dt_hours
        fleet = c.agents.battery
        self.n, self.horizon, self.dt = n, h, dt
        self.c = community
        self.load = cp.Parameter((n, h), nonneg=True, name="load")
        self.pv = cp.Parameter((n, h), nonneg=True, name="pv")
        self.retail = cp.Parameter(h, nonneg=True, name="retail")
        self.feed_in = cp.Parameter(h, nonneg=True, name="feed_in")
        self.active = cp.Parameter(h, nonneg=True, name="active")
        self.p2p_open = cp.Parameter(h, nonneg=True, name="p2p_open")
        self.soc0 = cp.Parameter(n, nonneg=True, name="soc0")
        self.soc_ref = cp.Parameter(n, nonneg=True, name="soc_ref")
        self.first_lo = cp.Parameter(n, name="first_lo")
        self.first_hi = cp.Parameter(n, name="first_hi")
        self.first_gen_hi = cp.Parameter(n, nonneg=True, name="first_gen_hi")
        self.refill = cp.Parameter(n, nonneg=True, name="refill")
        self.salvage = cp.Parameter(n, nonneg=True, name="salvage")
        charge, discharge = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        imp, exp = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        p2p_in, p2p_out = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        unserved, curtailed = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        up, down = cp.Variable(n, nonneg=True), cp.Variable(n, nonneg=True)
        soc = cp.Variable((n, h + 1))
        power = fleet.power_kw[:, None]
        active_row = cp.reshape(self.active, (1, h), order="C")
        net = charge - discharge
        eta_c, eta_d = fleet.charge_efficiency[:, None], fleet.discharge_efficiency[:, None]
        stored_kw = cp.multiply(eta_c, charge) - cp.multiply(1.0 / eta_d, discharge)  # into storage, after losses
        scale = float(max(c.profiles.load_kw.max(), c.profiles.pv_kw.max(), fleet.power_kw.max(), 1.0))
        generators = c.agents.generator
        gen: cp.Expression | float = 0.0
        gen_constraints, fuel = [], 0.0
        if generators is not None:
            gen = cp.Variable((n, h), nonneg=True)
            gen_constraints = [gen <= generators.capacity_kw[:, None] @ active_row, gen[:, 0] <= self.first_gen_hi]
            ramped = np.flatnonzero(np.isfinite(generators.ramp_kw))
            if ramped.size and h > 1:
                gen_constraints.append(
                    cp.abs(gen[ramped, 1:] - gen[ramped, :-1]) <= generators.ramp_kw[ramped][:, None]
                )
            fuel = cp.sum(cp.multiply(generators.marginal_cost[:, None], gen))
            if generators.quadratic_cost.any():
                fuel = fuel + cp.sum(cp.multiply(generators.quadratic_cost[:, None], cp.square(gen)))
            scale = max(scale, float(generators.capacity_kw.max()))
        constraints = [
            *gen_constraints,
            self.pv - curtailed + gen + discharge + p2p_in + imp + unserved == self.load + charge + p2p_out + exp,
            unserved <= self.load,
            curtailed <= self.pv,
            cp.sum(p2p_in, axis=0) == cp.sum(p2p_out, axis=0),
            p2p_in <= 10 * n * scale * np.ones((n, 1)) @ cp.reshape(self.p2p_open, (1, h), order="C"),
            soc[:, 0] == self.soc0,
            soc[:, 1:] == soc[:, :-1] + stored_kw * dt,
            soc[:, 1:] >= fleet.soc_min_kwh[:, None],
            soc[:, 1:] <= fleet.soc_max_kwh[:, None],
            charge <= power @ active_row,  # no battery flows past the data
            discharge <= power @ active_row,
            net[:, 0] >= self.first_lo,
            net[:, 0] <= self.first_hi,
            soc[:, h] - self.soc_ref == up - down,
        ]
        voll = c.value_of_lost_load
        ramp_cost = 0.0
        ramp = fleet.ramp_kw
        limited = np.flatnonzero(np.isfinite(ramp))
        if limited.size and h > 1:
            step = net[limited, 1:] - net[limited, :-1]
            limit = ramp[limited][:, None]
            if soft_ramp:
                slack = cp.Variable((limited.size, h - 1), nonneg=True)
                constraints += [cp.abs(step) <= limit + slack]
                ramp_cost = RAMP_PENALTY_FACTOR * max(voll, 1.0) * dt * cp.sum(slack)
            else:
                constraints += [cp.abs(step) <= limit]
        if exact_terminal:
            use_up = cp.Variable(n, boolean=True)
            span = np.maximum(fleet.soc_max_kwh - fleet.soc_min_kwh, 0.0) + 1.0
            constraints += [up <= cp.multiply(span, use_up), down <= cp.multiply(span, 1 - use_up)]
        limits = c.limits
        if limits.import_capacity_kw is not None:
            constraints.append(cp.sum(imp - exp, axis=0) <= limits.import_capacity_kw)
        if limits.export_capacity_kw is not None:
            constraints.append(cp.sum(exp - imp, axis=0) <= limits.export_capacity_kw)
        self.network = network
        network_cost: cp.Expression | float = 0.0
        if network is not None:
            self.q_drop = cp.Parameter((network.n_branches, h), name="q_drop")
            metered = imp - exp + p2p_in - p2p_out  # the agents' power at their connection (kW)
            more, network_cost = self._network_constraints(network, metered, h)
            constraints += more
        fee = c.market.fee_per_kwh + 0.5 * c.market.network_charge_per_kwh + TIE_BREAK  # per side and kWh
        # what is priced per kWh, as a rate (currency/h; × dt is currency): grid bill, P2P fees and charges,
        # degradation, lost load and fuel
        cost_rate = (
            cp.sum(imp @ self.retail)
            - cp.sum(exp @ self.feed_in)
            + fee * cp.sum(p2p_in + p2p_out)
            + cp.sum(cp.multiply(fleet.degradation_cost[:, None], discharge))
            + voll * cp.sum(unserved)
            + fuel
        )
        cost = network_cost + dt * cost_rate + self.refill @ down - self.salvage @ up + ramp_cost
        if battery_tie_break > 0:
            weight = battery_tie_break * np.outer(1.0 + np.arange(n) / n, 1.0 + np.arange(h) / h)
            cost = cost + dt * cp.sum(cp.multiply(weight, charge + discharge))
        self.problem = cp.Problem(cp.Minimize(cost), constraints)
        if not self.problem.is_dpp():
            raise RuntimeError("the community LP must be DPP (parameters enter affinely)")
        self.vars: dict[str, cp.Variable] = {
            "charge": charge,
            "discharge": discharge,
            "p2p_in": p2p_in,
            "p2p_out": p2p_out,
            "soc": soc,
            "unserved": unserved,
            "curtailed": curtailed,
        }
        if isinstance(gen, cp.Variable):  # (absent without generators)
            self.vars["generation"] = gen

    def _network_constraints(self, lf: LinearFeeder, metered: cp.Expression, h: int) -> tuple[list, cp.Expression]:
        """LinDistFlow in sparse branch-flow form (module docstring): constraints and the slacks' cost."""
        nb, nn, n = lf.n_branches, lf.n_nodes, lf.agent_node.size
        rows = np.arange(nb)
        branch_at = np.full(nn, -1)
        branch_at[lf.child] = rows  # the branch feeding each node (−1 at the source)
        below_parent = branch_at[lf.parent] >= 0
        # F_k − Σ (flows of the branches hanging below k) = Σ (agents at k's far end)
        upstream = branch_at[lf.parent][below_parent]
        children = sp.csr_matrix((np.ones(upstream.size), (upstream, rows[below_parent])), shape=(nb, nb))
        flow_balance = sp.identity(nb, format="csr") - children
        at_node = branch_at[lf.agent_node]
        agent_branch = sp.csr_matrix((np.ones(n), (at_node, np.arange(n))), shape=(nb, n))
        ends = (np.r_[rows, rows], np.r_[lf.child, lf.parent])
        incidence = sp.csr_matrix((np.r_[np.ones(nb), -np.ones(nb)], ends), shape=(nb, nn))  # V_child − V_parent
        flow, volt = cp.Variable((nb, h)), cp.Variable((nn, h))
        lo, hi = lf.band
        lv = np.flatnonzero(lf.lv)
        under, over = cp.Variable((lv.size, h), nonneg=True), cp.Variable((lv.size, h), nonneg=True)
        overflow = cp.Variable((nb, h), nonneg=True)
        rating = (1.0 - NETWORK_MARGIN_LOADING) * lf.rating_kw[:, None]
        constraints = [
            flow_balance @ flow == agent_branch @ metered,
            incidence @ volt == -cp.multiply(lf.r_per_kw[:, None], flow) - self.q_drop,
            volt[lf.source, :] == lf.u0[lf.source],
            volt[lv, :] >= lo + NETWORK_MARGIN_PU - under,
            volt[lv, :] <= hi - NETWORK_MARGIN_PU + over,
            cp.abs(flow) <= rating + overflow,
        ]
        cost = NETWORK_SLACK_PENALTY * self.dt * (cp.sum(under) + cp.sum(over) + cp.sum(overflow))
        self._no_load_step = (incidence @ lf.u0)[:, None]  # the drops the feeder's own loads cause (in u0)
        return constraints, cost

    def solve(
        self,
        load: np.ndarray,
        pv: np.ndarray,
        retail: np.ndarray,
        feed_in: np.ndarray,
        soc0: np.ndarray,
        first_range: tuple[np.ndarray, np.ndarray],
        terminal: TerminalPrices,
        soc_ref: np.ndarray,
        p2p_open: np.ndarray | None = None,
        generator_high: np.ndarray | None = None,
    ) -> Plan:
        """Plan over the horizon; inputs shorter than the horizon are padded as inactive steps.

        Args:
            load, pv: (N, k) kW for the k ≤ horizon steps planned.
            retail, feed_in: (k,) currency/kWh.
            soc0: (N,) kWh stored now.
            first_range: (lo, hi) (N,) the battery power (kW, + charge) feasible at the first step
                (``[-obs.max_discharge_kw, obs.max_charge_kw]``).
            terminal: the end-of-horizon prices (``yardstick.terminal_prices`` of the planned prices).
            soc_ref: (N,) kWh the end-of-horizon rule measures the change from (the run's initial stored energy).
            p2p_open: (k,) 1 where the P2P market can clear at step k, 0 where it cannot (default: all 1).
            generator_high: (N,) kW the generators may deliver at the first step (``obs.generator_high_kw``;
                default: their ratings).
        """
        k = load.shape[1]
        pad = self.horizon - k
        self.load.value = np.pad(np.maximum(load, 0.0), ((0, 0), (0, pad)))
        self.pv.value = np.pad(np.maximum(pv, 0.0), ((0, 0), (0, pad)))
        self.retail.value = np.pad(retail, (0, pad))
        self.feed_in.value = np.pad(feed_in, (0, pad))
        self.active.value = np.r_[np.ones(k), np.zeros(pad)]
        self.p2p_open.value = np.pad(np.ones(k) if p2p_open is None else np.asarray(p2p_open, float), (0, pad))
        if self.network is not None:  # the households' reactive load at the scenario's power factor
            lf, setup = self.network, self.c.network
            assert setup is not None  # the linearised feeder is built from it
            q_kvar = self.load.value * setup.tan_phi
            self.q_drop.value = lf.x_per_kvar[:, None] * (lf.below @ q_kvar) - self._no_load_step
        self.soc0.value = np.maximum(soc0, 0.0)
        self.soc_ref.value = np.maximum(soc_ref, 0.0)
        lo, hi = first_range
        self.first_lo.value, self.first_hi.value = np.minimum(lo, hi), hi
        ratings = self.c.agents.generators.capacity_kw
        self.first_gen_hi.value = np.maximum(ratings if generator_high is None else generator_high, 0.0)
        salvage = terminal.salvage if self.exact_terminal else np.minimum(terminal.salvage, terminal.refill)
        self.refill.value, self.salvage.value = terminal.refill, salvage
        self.problem.solve(solver=self.solver, **QUIET[self.solver])
        status = self.problem.status
        if status not in ACCEPTED:
            return Plan(np.zeros(self.n), np.zeros(self.n), None, status, float("nan"), ok=False)
        battery, trade, gen = self.plan_all()
        return Plan(
            battery_kw=battery[:, 0],
            trade_kw=trade[:, 0],
            generator_kw=None if gen is None else gen[:, 0],
            status=status,
            objective=float(self.problem.value),
            ok=True,
        )

    def plan_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """After a solve: the whole plan's battery, trade and generator set-points (N, horizon) in kW (generators:
        None without any)."""
        v = {name: _solved(var) for name, var in self.vars.items()}
        gen = np.maximum(v["generation"], 0.0) if "generation" in v else None
        return v["charge"] - v["discharge"], v["p2p_in"] - v["p2p_out"], gen


def _solved(var: cp.Variable) -> np.ndarray:
    """A variable's value after a solve the solver accepted (it sets every variable)."""
    value = var.value
    if value is None:
        raise RuntimeError(f"the community LP has no value for {var.name()}: solve it first")
    return value
