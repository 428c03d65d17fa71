"""The community's energy plan as one linear program (CVXPY, built once with Parameters, re-solved each step).

Per household i and step k of the horizon (kW over steps of Δt h): charge c, discharge d, grid import m, export x,
P2P in b and out s, all ≥ 0, with
- balance: pv + d + b + m = load + c + s + x;
- community P2P balance: Σ_i b = Σ_i s;
- storage: soc_{k+1} = soc_k + (η_c c − d / η_d) Δt within [soc_min, soc_max], c, d ≤ rating (and the ramp limit);
- feeder limits on the net exchange Σ(m − x) when the scenario sets them;
- steps past the end of the data are inactive (no battery flows; zero load, PV and prices).
Objective (currency): Σ Δt (retail·m − feed_in·x + fee·(b + s) + degradation·d) − value·Σ soc_end, where value is
the stored energy's worth — the mean midpoint of feed-in and retail, as in the KPI ``cost_net_of_storage``. The
P2P price is a transfer inside the community and does not enter the community's objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from powergrid.reward import community_storage_value
from powergrid.scenarios.build import Community

#: Cost per kWh of P2P volume added to the fee (currency/kWh): breaks the LP's ties between equivalent pairings
#: of buyers and sellers, which otherwise make the simplex wander; far below any price.
TIE_BREAK = 1e-6

#: Solvers: Clarabel (interior point) is the fastest on these LPs here (community-5, 24 steps: ~17 ms; 100
#: households: ~330 ms, where HiGHS needs 0.5–3 s); HiGHS (dual simplex) gives exact vertex solutions.
SOLVERS = ("CLARABEL", "HIGHS")

#: Solver statuses accepted as a plan; anything else (incl. ``optimal_inaccurate``) is a counted fallback.
ACCEPTED = (cp.OPTIMAL,)


@dataclass(frozen=True)
class Plan:
    """The first step of a solved plan (kW, arrays (N,)) and the solver status."""

    battery_kw: np.ndarray
    trade_kw: np.ndarray
    status: str
    objective: float


class CommunityLP:
    """The LP of the module docstring for ``horizon`` steps; ``solve`` sets the parameters and re-solves."""

    def __init__(self, community: Community, horizon: int, solver: str = "CLARABEL") -> None:
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
        self.solver = solver
        c = community
        n, h, dt = c.n_agents, horizon, c.grid.dt_hours
        fleet = c.agents.battery
        self.n, self.horizon, self.dt = n, h, dt
        self.load = cp.Parameter((n, h), nonneg=True, name="load")
        self.pv = cp.Parameter((n, h), nonneg=True, name="pv")
        self.retail = cp.Parameter(h, nonneg=True, name="retail")
        self.feed_in = cp.Parameter(h, nonneg=True, name="feed_in")
        self.active = cp.Parameter(h, nonneg=True, name="active")
        self.soc0 = cp.Parameter(n, nonneg=True, name="soc0")
        charge, discharge = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        imp, exp = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        p2p_in, p2p_out = cp.Variable((n, h), nonneg=True), cp.Variable((n, h), nonneg=True)
        soc = cp.Variable((n, h + 1))
        power = fleet.power_kw[:, None]
        big = float(max(c.profiles.load_kw.max(), c.profiles.pv_kw.max(), fleet.power_kw.max(), 1.0)) * 10
        constraints = [
            self.pv + discharge + p2p_in + imp == self.load + charge + p2p_out + exp,
            cp.sum(p2p_in, axis=0) == cp.sum(p2p_out, axis=0),
            soc[:, 0] == self.soc0,
            soc[:, 1:] == soc[:, :-1] + (cp.multiply(fleet.charge_efficiency[:, None], charge)
                                         - cp.multiply(1.0 / fleet.discharge_efficiency[:, None], discharge)) * dt,
            soc[:, 1:] >= fleet.soc_min_kwh[:, None],
            soc[:, 1:] <= fleet.soc_max_kwh[:, None],
            charge <= power @ cp.reshape(self.active, (1, h), order="C"),  # no battery flows past the data
            discharge <= power @ cp.reshape(self.active, (1, h), order="C"),
        ]  # fmt: skip
        ramp = fleet.ramp_kw
        if np.isfinite(ramp).any() and h > 1:
            net = charge - discharge
            limit = np.where(np.isfinite(ramp), ramp, big)[:, None]
            constraints += [cp.abs(net[:, 1:] - net[:, :-1]) <= limit]
        limits = c.limits
        if limits.import_capacity_kw is not None:
            constraints.append(cp.sum(imp - exp, axis=0) <= limits.import_capacity_kw)
        if limits.export_capacity_kw is not None:
            constraints.append(cp.sum(exp - imp, axis=0) <= limits.export_capacity_kw)
        fee = c.market.fee_per_kwh + TIE_BREAK
        self.value = community_storage_value(c)
        cost = dt * (
            cp.sum(imp @ self.retail) - cp.sum(exp @ self.feed_in) + fee * cp.sum(p2p_in + p2p_out)
            + cp.sum(cp.multiply(fleet.degradation_cost[:, None], discharge))
        ) - self.value * cp.sum(soc[:, h])  # fmt: skip
        self.problem = cp.Problem(cp.Minimize(cost), constraints)
        if not self.problem.is_dpp():
            raise RuntimeError("the community LP must be DPP (parameters enter affinely)")
        self.vars = {"charge": charge, "discharge": discharge, "p2p_in": p2p_in, "p2p_out": p2p_out, "soc": soc}

    def solve(self, load: np.ndarray, pv: np.ndarray, retail: np.ndarray, feed_in: np.ndarray,
              soc0: np.ndarray) -> Plan:  # fmt: skip
        """Plan over the horizon; inputs shorter than the horizon are padded as inactive steps."""
        k = load.shape[1]
        pad = self.horizon - k
        self.load.value = np.pad(load, ((0, 0), (0, pad)))
        self.pv.value = np.pad(pv, ((0, 0), (0, pad)))
        self.retail.value = np.pad(retail, (0, pad))
        self.feed_in.value = np.pad(feed_in, (0, pad))
        self.active.value = np.r_[np.ones(k), np.zeros(pad)]
        self.soc0.value = np.maximum(soc0, 0.0)
        self.problem.solve(solver=self.solver)
        status = self.problem.status
        if status not in ACCEPTED:
            return Plan(np.zeros(self.n), np.zeros(self.n), status, float("nan"))
        v = self.vars
        return Plan(
            battery_kw=v["charge"].value[:, 0] - v["discharge"].value[:, 0],
            trade_kw=v["p2p_in"].value[:, 0] - v["p2p_out"].value[:, 0],
            status=status,
            objective=float(self.problem.value),
        )

    def plan_all(self) -> tuple[np.ndarray, np.ndarray]:
        """After a solve: the whole plan's battery and trade set-points (N, horizon) in kW."""
        v = self.vars
        return v["charge"].value - v["discharge"].value, v["p2p_in"].value - v["p2p_out"].value
