"""The one KPI module (definitions: KPIS.md in the design notes, summarised in the README).

KPIs are computed from RunTotals only. A ratio whose denominator is zero is ``NA`` with the reason — never
0, inf or a huge percentage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from powergrid.analytics.load_shape import citylearn_kpis
from powergrid.analytics.totals import RunTotals
from powergrid.analytics.values import NA, ZERO, Value


def _defined(value: Value) -> float:
    """A KPI that is always defined (such as the headline cost) as a number."""
    if isinstance(value, NA):
        raise ValueError(f"a KPI that is always defined is n/a: {value.reason}")
    return value


#: Community KPI names, their units and a one-line definition (the order of tables and kpis.json).
KPI_INFO: dict[str, tuple[str, str]] = {
    "cost": ("currency", "headline cost: cash cost + unserved cost + storage adjustment (every comparison uses it)"),
    "cash_cost": (
        "currency",
        "money that changed hands: grid bills − feed-in revenue + P2P payments + fees + network charges + "
        "degradation (+ allocated losses)",
    ),
    "unserved_cost": ("currency", "value of lost load × unserved energy"),
    "storage_adjustment": (
        "currency",
        "end of horizon: + refill of drained energy at the cheapest retail of the last "
        "24 h / η_c; − hoarded energy × η_d × the best feed-in of the last 24 h",
    ),
    "stored_change_kwh": ("kWh", "battery energy at the end minus at the start of the run"),
    "value_of_lost_load": ("currency/kWh", "the price of unserved energy (scenario, or 10 × the highest retail)"),
    "savings": ("currency", "headline cost of the baseline − headline cost, same data, seed and scenario"),
    "savings_pct": ("%", "Σ savings / Σ baseline headline cost (only when the baseline cost > 0)"),
    "share_of_oracle_savings": ("-", "(grid-only − this) / (grid-only − oracle), headline cost"),
    "grid_import_kwh": ("kWh", "Σ grid import"),
    "grid_export_kwh": ("kWh", "Σ grid export"),
    "peak_import_kw": ("kW", "max over steps of the community's import power"),
    "self_consumption_ratio": ("-", "1 − export / PV generation"),
    "self_sufficiency_ratio": ("-", "1 − import / load"),
    "p2p_volume_kwh": ("kWh", "Σ traded kWh, each trade once"),
    "participation_rate": ("-", "share of agents with at least one P2P trade"),
    "participation_per_step": ("-", "mean per-step share of agents trading"),
    "mean_p2p_price": ("currency/kWh", "volume-weighted mean trade price"),
    "gini_savings": ("-", "Gini of per-agent savings (defined for negative savings)"),
    "co2_kg": ("kg", "Σ import × grid carbon intensity + generation × the genset's CO₂ per kWh"),
    "battery_throughput_kwh": ("kWh", "Σ battery discharge"),
    "battery_cycles": ("-", "equivalent full cycles: Σ discharge / Σ capacity"),
    "unserved_kwh": ("kWh", "Σ load not served (feeder import limit)"),
    "curtailed_kwh": ("kWh", "Σ PV curtailed (feeder export limit)"),
    "imbalance_kwh": ("kWh", "Σ |metered exchange − position at gate closure| (orders placed on forecasts)"),
    "network_curtailed_kwh": ("kWh", "Σ battery energy the network operator did not allow (network_constraints)"),
    "network_charges": ("currency", "Σ use-of-system charges paid on P2P energy (market.network_charge_per_kwh)"),
    "generation_kwh": ("kWh", "Σ generator output"),
    "fuel_cost": ("currency", "Σ generator fuel and start-up cost (part of cash_cost)"),
    "safety_clipped": (
        "count",
        "action components (battery, order, price, generator, tap, capacitor) clipped to physics",
    ),
    "safety_nonfinite": ("count", "agent-steps whose NaN/inf action was replaced by the safe action"),
    "safety_fallbacks": ("count", "agent-steps switched to grid-only by the SafetySupervisor (out of distribution)"),
    "optimiser_fallbacks": ("count", "steps whose optimiser solve was not optimal (self-consumption was applied)"),
    "losses_kwh": ("kWh", "Σ network losses (lines and transformers)"),
    "loss_cost": ("currency", "losses bought at retail (agents' share + operator's)"),
    "voltage_violations": ("count", "LV bus-steps outside the voltage band"),
    "min_voltage_pu": ("pu", "lowest LV bus voltage"),
    "max_voltage_pu": ("pu", "highest LV bus voltage"),
    "max_line_loading_pct": ("%", "highest line or transformer loading"),
    "overloads": ("count", "branch-steps above 100 % loading"),
    "violation_cost": ("currency", "(voltage violations + overloads) × network.violation_penalty (not in cost)"),
    "power_flow_fallbacks": ("count", "steps solved with the linear fallback (Newton–Raphson diverged)"),
    "ramping_kw": ("kW", "Σ_t |P_t − P_{t−1}| of the net grid exchange P (CityLearn's ramping)"),
    "one_minus_load_factor": ("-", "1 − mean(P⁺)/max(P⁺) per calendar month, averaged over months"),
    "average_daily_peak_kw": ("kW", "mean over days of the day's highest net grid exchange"),
    "peak_demand_kw": ("kW", "highest net grid exchange"),
    "cost_normalised": ("-", "headline cost / grid-only's (CityLearn convention: lower is better)"),
    "co2_normalised": ("-", "CO₂ / grid-only's"),
    "ramping_normalised": ("-", "ramping / grid-only's"),
    "one_minus_load_factor_normalised": ("-", "1 − load factor / grid-only's"),
    "average_daily_peak_normalised": ("-", "average daily peak / grid-only's"),
    "peak_demand_normalised": ("-", "peak demand / grid-only's"),
}


def ratio_complement(numerator: np.ndarray | float, denominator: np.ndarray | float, what: str) -> Value:
    """``1 - numerator / denominator`` or NA when the denominator is zero."""
    if denominator <= ZERO:
        return NA(f"no {what}")
    return float(1.0 - numerator / denominator)


def gini(x: np.ndarray) -> Value:
    """G = Σ_i Σ_j |x_i − x_j| / (2 n Σ_i |x_i|), in [0, 1] also for negative x.

    0 when all x are 0 — and when Σ|x| <= 1e-12, which is rounding noise, not a distribution.
    """
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return NA("no agents")
    return float(gini_rows(x.reshape(1, -1))[0])


def gini_rows(x: np.ndarray) -> np.ndarray:
    """``gini`` of each row of (K, N) values (N >= 1), shape (K,)."""
    n = x.shape[-1]
    scale = np.abs(x).sum(axis=-1)
    s = np.sort(x, axis=-1)
    pair_sum = 2.0 * np.sum((2.0 * np.arange(1, n + 1) - n - 1) * s, axis=-1)
    return np.divide(pair_sum, 2.0 * n * scale, out=np.zeros_like(scale), where=scale > ZERO)


@dataclass(frozen=True)
class KPIReport:
    """Community KPIs (``KPI_INFO`` order) and per-agent KPIs (name → array (N,) or NA)."""

    community: dict[str, Value]
    agents: dict[str, np.ndarray]
    agent_ids: tuple[str, ...]
    forecast_errors: dict | None = None  # quantity → {"mae", "rmse"} per horizon step (kW), for forecasting controllers

    def to_json(self) -> dict:
        """A JSON-ready dict: numbers, or ``{"n/a": reason}``; per-agent lists in ``agent_ids`` order."""

        def enc(v: Value) -> float | dict:
            return {"n/a": v.reason} if isinstance(v, NA) else v

        return {
            "community": {k: enc(v) for k, v in self.community.items()},
            "units": {k: KPI_INFO[k][0] for k in self.community},
            "agent_ids": list(self.agent_ids),
            "agents": {k: [None if np.isnan(x) else float(x) for x in v] for k, v in self.agents.items()},
            **(
                {
                    "forecast_errors": {
                        q: {m: [None if np.isnan(x) else float(x) for x in a] for m, a in e.items()}
                        for q, e in self.forecast_errors.items()
                    }
                }
                if self.forecast_errors
                else {}
            ),
        }

    @classmethod
    def from_json(cls, data: dict) -> KPIReport:
        """The inverse of ``to_json`` (e.g. a run directory's ``kpis.json``)."""
        agents = {k: np.array([np.nan if x is None else x for x in v], dtype=float) for k, v in data["agents"].items()}
        return cls(
            community={k: NA(v["n/a"]) if isinstance(v, dict) else float(v) for k, v in data["community"].items()},
            agents=agents,
            agent_ids=tuple(data["agent_ids"]),
            forecast_errors=data.get("forecast_errors"),
        )


def _per_agent_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.full(denominator.shape, np.nan)
    ok = denominator > ZERO
    out[ok] = 1.0 - numerator[ok] / denominator[ok]
    return out


def compute_kpis(totals: RunTotals, baseline: RunTotals | None = None) -> KPIReport:
    """All KPIs of a run; savings and Gini need the ``baseline`` run's totals (same scenario and seed).

    Every cost comparison uses the headline cost (``RunTotals.headline_cost``); the cash cost is reported beside it.
    """
    a, s = totals.agent, totals.step
    cost = totals.headline_cost()
    adjustment = totals.storage_adjustment()
    c: dict[str, Value] = {
        "cost": float(cost.sum()),
        "cash_cost": float(a["cash_cost"].sum()),
        "unserved_cost": float(a["unserved_cost"].sum()),
        "storage_adjustment": float(adjustment.sum()),
        "stored_change_kwh": float(a["stored_change"].sum()),
        "value_of_lost_load": float(totals.value_of_lost_load),
        "share_of_oracle_savings": NA("no oracle run in this comparison"),
        "optimiser_fallbacks": float(totals.optimiser_fallbacks),
    }
    if baseline is None:
        c["savings"] = c["savings_pct"] = c["gini_savings"] = NA("no baseline run")
        savings = np.full(totals.n_agents, np.nan)
    else:
        if baseline.agent_ids != totals.agent_ids:
            raise ValueError("baseline run has different agents")
        base = baseline.headline_cost()
        savings = base - cost
        base_cost = float(base.sum())
        total_savings = float(savings.sum())
        c["savings"] = total_savings
        c["savings_pct"] = (
            100.0 * total_savings / base_cost if base_cost > ZERO else NA("baseline cost is not positive")
        )
        c["gini_savings"] = gini(savings)
    pv, load = a["pv"].sum(), a["load"].sum()
    volume = s["p2p_volume"].sum()
    capacity = totals.battery_capacity_kwh.sum()
    c.update(
        grid_import_kwh=float(a["imported"].sum()),
        grid_export_kwh=float(a["exported"].sum()),
        peak_import_kw=float(s["imported"].max() / totals.dt_hours) if totals.n_steps else NA("no steps"),
        self_consumption_ratio=ratio_complement(a["exported"].sum(), pv, "PV generation"),
        self_sufficiency_ratio=ratio_complement(a["imported"].sum(), load, "load"),
        p2p_volume_kwh=float(volume),
        participation_rate=float(totals.traded_any.mean()),
        participation_per_step=float(s["n_trading"].mean() / totals.n_agents),
        mean_p2p_price=float(s["p2p_value"].sum() / volume) if volume > ZERO else NA("no P2P trades"),
        co2_kg=float(a["co2_kg"].sum()),
        battery_throughput_kwh=float(a["discharge"].sum()),
        battery_cycles=float(a["discharge"].sum() / capacity) if capacity > ZERO else NA("no battery capacity"),
        unserved_kwh=float(a["unserved"].sum()),
        curtailed_kwh=float(a["curtailed"].sum()),
        imbalance_kwh=float(s["imbalance"].sum()),
        network_curtailed_kwh=float(a["network_curtailed"].sum()),
        network_charges=float(a["network_charges"].sum()),
        generation_kwh=float(a["generation"].sum()),
        fuel_cost=float(a["fuel_cost"].sum()),
        safety_clipped=float(
            sum(
                totals.interventions[k].sum()
                for k in (
                    "battery_clipped",
                    "trade_clipped",
                    "price_clipped",
                    "generator_clipped",
                    "tap_clipped",
                    "capacitor_clipped",
                )
            )
        ),
        safety_nonfinite=float(totals.interventions["nonfinite"].sum()),
        safety_fallbacks=float(totals.interventions["fallback"].sum()),
    )
    c.update(_network_kpis(totals))
    c.update(citylearn_kpis(totals, baseline, float(cost.sum()), float(a["co2_kg"].sum())))
    community = {k: c[k] for k in KPI_INFO}
    cap = totals.battery_capacity_kwh
    agents = {
        "cost": cost,
        "cash_cost": a["cash_cost"],
        "unserved_cost": a["unserved_cost"],
        "storage_adjustment": adjustment,
        "savings": savings,
        "grid_import_kwh": a["imported"],
        "grid_export_kwh": a["exported"],
        "p2p_bought_kwh": a["bought"],
        "p2p_sold_kwh": a["sold"],
        "self_consumption_ratio": _per_agent_ratio(a["exported"] + a["sold"], a["pv"]),
        "self_sufficiency_ratio": _per_agent_ratio(a["imported"] + a["bought"], a["load"]),
        "battery_cycles": np.divide(a["discharge"], cap, out=np.full(cap.shape, np.nan), where=cap > ZERO),
        "co2_kg": a["co2_kg"],
        "loss_cost": a["loss_cost"],
    }
    return KPIReport(community=community, agents=agents, agent_ids=totals.agent_ids)


def add_share_of_oracle_savings(reports: dict[str, KPIReport], baseline: str = "grid-only") -> None:
    """Fill ``share_of_oracle_savings`` (headline cost) in every report of a comparison that has ``oracle`` and the
    baseline; "n/a" with the reason when the oracle did not solve to optimality or saves nothing."""
    if "oracle" not in reports or baseline not in reports:
        return
    oracle = reports["oracle"].community
    base = _defined(reports[baseline].community["cost"])
    best = base - _defined(oracle["cost"])
    for report in reports.values():
        if oracle["optimiser_fallbacks"]:
            share: Value = NA("the oracle did not solve to optimality (optimiser_fallbacks > 0)")
        elif best > ZERO * max(1.0, abs(base)):
            share = (base - _defined(report.community["cost"])) / best
        else:
            share = NA("the oracle saves nothing against the baseline")
        report.community["share_of_oracle_savings"] = share


def _network_kpis(totals: RunTotals) -> dict[str, Value]:
    net = totals.network
    if net is None:
        return {
            k: NA("no feeder in the scenario")
            for k in (
                "losses_kwh",
                "loss_cost",
                "voltage_violations",
                "min_voltage_pu",
                "max_voltage_pu",
                "max_line_loading_pct",
                "overloads",
                "violation_cost",
                "power_flow_fallbacks",
            )
        }
    return {
        "losses_kwh": float(net["losses_kwh"].sum()),
        "loss_cost": float(totals.agent["loss_cost"].sum() + net["operator_loss_cost"].sum()),
        "voltage_violations": float(net["violations"].sum()),
        "min_voltage_pu": float(net["v_min"].min()),
        "max_voltage_pu": float(net["v_max"].max()),
        "max_line_loading_pct": 100.0 * float(max(net["max_line_loading"].max(), net["max_trafo_loading"].max())),
        "overloads": float(net["overloads"].sum()),
        "violation_cost": totals.violation_penalty * float(net["violations"].sum() + net["overloads"].sum()),
        "power_flow_fallbacks": float((net["converged"] == 0).sum()),
    }
