"""CityLearn-style load-shape KPIs of a run's net grid exchange (ramping, load factor, daily and overall peaks),
and their ratios to the grid-only run (``powergrid.analytics.kpis`` adds them to the report)."""

from __future__ import annotations

import numpy as np

from powergrid.analytics.totals import RunTotals
from powergrid.analytics.values import NA, ZERO, Value

# CityLearn-style community KPIs (KPIS.md; Vázquez-Canteli et al., "CityLearn v1.0", BuildSys 2019, and the
# CityLearn Challenge 2022 evaluation), on the community's net grid exchange ``P_t = Σ_i (I_i − E_i) / Δt`` (kW):
#
# - ``ramping_kw``: Σ_t |P_t − P_{t−1}|;
# - ``one_minus_load_factor``: 1 − mean(P⁺) / max(P⁺) within each calendar month (P⁺ = max(P, 0)), averaged over the
#   months that import at all;
# - ``average_daily_peak_kw``: mean over calendar days of max_t P_t;
# - ``peak_demand_kw``: max_t P_t.
#
# Each is also reported divided by the same KPI of the grid-only run (CityLearn's convention: lower is better, 1 = no
# better than grid-only), as are the headline cost and CO₂ (``cost_normalised``, ``co2_normalised``). A baseline
# value that is not positive (e.g. a community that earns from exports under grid-only) gives "n/a".

#: The CityLearn-style KPIs (in KPI_INFO, in this order).
CITYLEARN_KPIS = (
    "ramping_kw",
    "one_minus_load_factor",
    "average_daily_peak_kw",
    "peak_demand_kw",
    "cost_normalised",
    "co2_normalised",
    "ramping_normalised",
    "one_minus_load_factor_normalised",
    "average_daily_peak_normalised",
    "peak_demand_normalised",
)


def net_exchange_kw(totals: RunTotals) -> np.ndarray:
    """P_t (kW, + import), (n_steps,)."""
    return (totals.step["imported"] - totals.step["exported"]) / totals.dt_hours


def _group_max(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    _, group = np.unique(codes, return_inverse=True)
    out = np.full(group.max() + 1, -np.inf)
    np.maximum.at(out, group, values)
    return out


def shape_kpis(totals: RunTotals) -> dict[str, Value]:
    """The four load-shape KPIs of one run (unnormalised)."""
    p = net_exchange_kw(totals)
    if p.size == 0:
        return {
            k: NA("no steps")
            for k in ("ramping_kw", "one_minus_load_factor", "average_daily_peak_kw", "peak_demand_kw")
        }
    positive = np.maximum(p, 0.0)
    months = totals.step["month"]
    factors = []
    for month in np.unique(months):
        part = positive[months == month]
        if part.max() > ZERO:
            factors.append(1.0 - part.mean() / part.max())
    return {
        "ramping_kw": float(np.abs(np.diff(p)).sum()),
        "one_minus_load_factor": float(np.mean(factors)) if factors else NA("no grid import in any month"),
        "average_daily_peak_kw": float(_group_max(p, totals.step["day"]).mean()),
        "peak_demand_kw": float(p.max()),
    }


def _ratio(value: Value, base: Value, what: str) -> Value:
    if isinstance(value, NA) or isinstance(base, NA):
        return NA(f"{what} is n/a")
    if base <= ZERO:  # a ratio to a zero or negative baseline does not say "lower is better"
        return NA(f"grid-only's {what} is not positive")
    return float(value / base)


def citylearn_kpis(totals: RunTotals, baseline: RunTotals | None, cost: float, co2: float) -> dict[str, Value]:
    """All CITYLEARN_KPIS values; ``cost``/``co2`` are this run's headline cost and CO₂ (community)."""
    own = shape_kpis(totals)
    out: dict[str, Value] = dict(own)
    if baseline is None:
        for name in CITYLEARN_KPIS:
            out.setdefault(name, NA("no grid-only run"))
        return out
    base = shape_kpis(baseline)
    out["cost_normalised"] = _ratio(cost, float(baseline.headline_cost().sum()), "headline cost")
    out["co2_normalised"] = _ratio(co2, float(baseline.agent["co2_kg"].sum()), "CO₂")
    for name in ("ramping", "one_minus_load_factor", "average_daily_peak", "peak_demand"):
        key = name if name == "one_minus_load_factor" else f"{name}_kw"
        out[f"{name}_normalised"] = _ratio(own[key], base[key], name.replace("_", " "))
    return {name: out[name] for name in CITYLEARN_KPIS}
